package checks

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// udpServer answers each datagram with reply(datagram); nil means silence.
// Received datagrams are delivered on the channel.
func udpServer(t *testing.T, reply func([]byte) []byte) (string, <-chan []byte) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	got := make(chan []byte, 16)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			d := append([]byte(nil), buf[:n]...)
			got <- d
			if r := reply(d); r != nil {
				pc.WriteTo(r, from)
			}
		}
	}()
	return pc.LocalAddr().String(), got
}

func newUDP(t *testing.T, spec UDPSpec) *UDP {
	t.Helper()
	c, err := NewUDP(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUDPCheck(t *testing.T) {
	ctx := context.Background()
	echo, echoGot := udpServer(t, func(b []byte) []byte { return b })
	silent, _ := udpServer(t, func([]byte) []byte { return nil })
	fixed, _ := udpServer(t, func([]byte) []byte { return []byte{0x12, 0x34, 0x56, 0x78} })
	const to = 300 * time.Millisecond

	// Default payload is keepalived's filler.
	if r := newUDP(t, UDPSpec{Target: targetOf(t, echo, to)}).Probe(ctx); !r.OK {
		t.Fatal(r.Reason)
	}
	if got := string(<-echoGot); got != "keepalived check - keepalived ch" {
		t.Errorf("default payload %q", got)
	}
	newUDP(t, UDPSpec{Target: targetOf(t, echo, to), Payload: "Ab12f 3"}).Probe(ctx)
	if got := <-echoGot; string(got) != "\xab\x12\x0f\x03" {
		t.Errorf("payload % x", got)
	}

	for _, tc := range []struct {
		name   string
		addr   string
		spec   UDPSpec
		ok     bool
		reason string
	}{
		{"silence is success", silent, UDPSpec{}, true, "no ICMP error"},
		{"reply without require_reply", fixed, UDPSpec{}, true, "4-byte reply"},
		{"require_reply silence", silent, UDPSpec{RequireReply: true}, false, "no reply: timeout after 300ms"},
		{"require_reply any data", fixed, UDPSpec{RequireReply: true}, true, ""},
		{"pattern match", fixed, UDPSpec{RequireReply: true, Reply: "1234 56"}, true, ""},
		{"pattern wildcard", fixed, UDPSpec{RequireReply: true, Reply: "1x3X 5678"}, true, ""},
		{"pattern longer than reply", fixed, UDPSpec{RequireReply: true, Reply: "12345678 9abc"}, true, ""},
		{"pattern mismatch", fixed, UDPSpec{RequireReply: true, Reply: "1235"}, false, "reply mismatch: got 1234 want 1235"},
		{"too short", fixed, UDPSpec{RequireReply: true, Reply: "12", MinReplyLength: 5}, false, "reply of 4 bytes, want 5-255"},
		{"too long", fixed, UDPSpec{RequireReply: true, Reply: "12", MaxReplyLength: 3}, false, "reply of 4 bytes, want 0-3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Target = targetOf(t, tc.addr, to)
			r := newUDP(t, tc.spec).Probe(ctx)
			if r.OK != tc.ok || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("got %+v, want ok=%v %q", r, tc.ok, tc.reason)
			}
		})
	}
}

func TestUDPCheckPortUnreachable(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	for _, rr := range []bool{false, true} {
		tg := targetOf(t, addr, time.Second)
		r := newUDP(t, UDPSpec{Target: tg, RequireReply: rr}).Probe(context.Background())
		if want := "UDP " + tg.String() + ": port unreachable (connection refused)"; r.OK || r.Reason != want {
			t.Errorf("require_reply=%v: got %q want %q", rr, r.Reason, want)
		}
	}
}

func TestNewUDPRejects(t *testing.T) {
	for name, spec := range map[string]UDPSpec{
		"bad payload":            {Payload: "zz"},
		"wildcard payload":       {Payload: "1x"},
		"bad reply":              {RequireReply: true, Reply: "q"},
		"reply without required": {Reply: "12"},
	} {
		if _, err := NewUDP(spec); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
