package checks

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/tandem-ha/tandem/config"
	"syscall"
)

// defaultUDPPayload is what keepalived sends without a payload: 32 bytes
// of "keepalived check - " repeated (set_buf, UDP_BUFSIZE).
var defaultUDPPayload = fill("keepalived check - ", 32)

func fill(pattern string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = pattern[i%len(pattern)]
	}
	return b
}

// UDPSpec configures a UDP_CHECK.
type UDPSpec struct {
	Target
	// Payload is the hex string sent (see config.ParseHexString); "" sends keepalived's
	// 32-byte filler.
	Payload string
	// RequireReply makes a reply mandatory. Reply, if set, is a hex
	// pattern (X/x wildcard nibbles) the reply must match over the shorter
	// of the two lengths, and then the reply length must lie within
	// MinReplyLength..MaxReplyLength. As in keepalived 2.2.7's code (its
	// man page says otherwise), lengths are only checked with a pattern.
	RequireReply   bool
	Reply          string
	MinReplyLength int
	// MaxReplyLength of 0 means keepalived's default, 255.
	MaxReplyLength int
}

// UDP is a UDP_CHECK.
type UDP struct {
	spec    UDPSpec
	payload []byte
	reply   config.HexPattern // require_reply; empty: any reply
}

// NewUDP parses spec's hex strings.
func NewUDP(spec UDPSpec) (*UDP, error) {
	c := &UDP{spec: spec, payload: defaultUDPPayload}
	if spec.MaxReplyLength == 0 {
		c.spec.MaxReplyLength = 255
	}
	if spec.Payload != "" {
		p, err := config.ParseHexString(spec.Payload, false)
		if err != nil {
			return nil, fmt.Errorf("UDP_CHECK payload: %w", err)
		}
		c.payload = p.Bytes
	}
	if spec.Reply != "" {
		if !spec.RequireReply {
			return nil, errors.New("UDP_CHECK reply pattern given without require_reply")
		}
		p, err := config.ParseHexString(spec.Reply, true)
		if err != nil {
			return nil, fmt.Errorf("UDP_CHECK require_reply: %w", err)
		}
		c.reply = p
	}
	return c, nil
}

// Probe sends the payload on a connected socket and waits. An ICMP error
// (port, host or net unreachable) fails the check. Without require_reply,
// silence until the timeout is success; with it, silence is failure.
func (c *UDP) Probe(ctx context.Context) Result {
	a, cancel := c.spec.begin(ctx)
	defer cancel()
	conn, err := c.spec.dial(a, "udp")
	if err != nil {
		return fail("UDP %s: %s", c.spec, a.describe(err))
	}
	defer conn.Close()
	stop := a.guard(conn)
	defer stop()

	if _, err := conn.Write(c.payload); err != nil {
		return fail("UDP %s: send: %s", c.spec, icmpText(a, err))
	}
	buf := make([]byte, 64<<10)
	n, err := conn.Read(buf)
	if err != nil {
		if isTimeout(a, err) {
			if c.spec.RequireReply {
				return fail("UDP %s: no reply: %s", c.spec, a.describe(err))
			}
			return Result{OK: true, Reason: "UDP " + c.spec.String() + ": no ICMP error"}
		}
		return fail("UDP %s: %s", c.spec, icmpText(a, err))
	}
	got := buf[:n]
	if len(c.reply.Bytes) > 0 {
		if n < c.spec.MinReplyLength || n > c.spec.MaxReplyLength {
			return fail("UDP %s: reply of %d bytes, want %d-%d", c.spec, n, c.spec.MinReplyLength, c.spec.MaxReplyLength)
		}
		if !c.reply.Match(got) {
			return fail("UDP %s: reply mismatch: got %s want %s", c.spec, hexPrefix(got, len(c.reply.Bytes)), c.spec.Reply)
		}
	}
	return Result{OK: true, Reason: fmt.Sprintf("UDP %s: %d-byte reply", c.spec, n)}
}

func isTimeout(a attempt, err error) bool {
	var ne interface{ Timeout() bool }
	return a.ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout())
}

// icmpText names the ICMP error a connected UDP socket reported.
func icmpText(a attempt, err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ECONNREFUSED:
			return "port unreachable (connection refused)"
		case syscall.EHOSTUNREACH:
			return "host unreachable"
		case syscall.ENETUNREACH:
			return "network unreachable"
		}
	}
	return a.describe(err)
}

func hexPrefix(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return hex.EncodeToString(b)
}
