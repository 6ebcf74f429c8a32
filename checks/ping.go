package checks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// pingPayload is keepalived's 128-byte echo data (ICMP_BUFSIZE).
var pingPayload = fill("keepalived check - ", 128)

// PingSpec configures a PING_CHECK. ConnectPort is unused.
type PingSpec struct {
	Target
}

// Ping is a PING_CHECK: one ICMP (or ICMPv6) echo.
type Ping struct {
	spec      PingSpec
	dgramOnly bool // tests: skip the raw socket
}

// NewPing returns a PING_CHECK for spec.
func NewPing(spec PingSpec) *Ping { return &Ping{spec: spec} }

// Probe sends one echo request and waits for the matching reply: same
// source, identifier and sequence. It uses a raw socket when it may
// (root or CAP_NET_RAW) and an unprivileged ping socket otherwise, which
// needs the group in net.ipv4.ping_group_range (keepalived widens that
// sysctl; tandem does not).
func (c *Ping) Probe(ctx context.Context) Result {
	a, cancel := c.spec.begin(ctx)
	defer cancel()
	dst := c.spec.AddrPort().Addr()
	name := dst.String()
	if !dst.IsValid() {
		return fail("ping: no address")
	}
	pc, raw, err := c.listen(a)
	if err != nil {
		return fail("ping %s: %s", name, a.describe(err))
	}
	defer pc.Close()
	if dl, ok := a.ctx.Deadline(); ok {
		pc.SetDeadline(dl)
	}
	stop := context.AfterFunc(a.ctx, func() { pc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	v6 := dst.Is6()
	proto, typ := 1, icmp.Type(ipv4.ICMPTypeEcho)
	if v6 {
		proto, typ = 58, ipv6.ICMPTypeEchoRequest
	}
	id, seq := rand.N(1<<16), rand.N(1<<16)
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: pingPayload}}
	wire, err := msg.Marshal(nil) // the kernel fills in the ICMPv6 checksum
	if err != nil {
		return fail("ping %s: %s", name, err)
	}
	var to net.Addr = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	if !raw {
		to = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	if _, err := pc.WriteTo(wire, to); err != nil {
		return fail("ping %s: send: %s", name, icmpText(a, err))
	}

	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if isTimeout(a, err) {
				return fail("ping %s: no echo reply: %s", name, a.describe(err))
			}
			return fail("ping %s: %s", name, icmpText(a, err))
		}
		src, _ := netip.AddrFromSlice(addrIP(from))
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		switch body := m.Body.(type) {
		case *icmp.Echo:
			if src.Unmap() != dst.WithZone("").Unmap() || (raw && body.ID != id) || body.Seq != seq {
				continue
			}
			if m.Type == ipv4.ICMPTypeEchoReply || m.Type == ipv6.ICMPTypeEchoReply {
				return Result{OK: true, Reason: "echo reply from " + name}
			}
		case *icmp.DstUnreach:
			if quotesEcho(body.Data, v6, id, seq, raw) {
				return fail("ping %s: destination unreachable (ICMP from %s)", name, src)
			}
		}
	}
}

func addrIP(a net.Addr) net.IP {
	switch a := a.(type) {
	case *net.IPAddr:
		return a.IP
	case *net.UDPAddr:
		return a.IP
	}
	return nil
}

// quotesEcho reports whether an ICMP error quotes our echo request.
func quotesEcho(data []byte, v6 bool, id, seq int, checkID bool) bool {
	hl := 40
	if !v6 {
		if len(data) < 20 {
			return false
		}
		hl = int(data[0]&0xf) * 4
	}
	if len(data) < hl+8 {
		return false
	}
	e := data[hl:]
	gotID, gotSeq := int(e[4])<<8|int(e[5]), int(e[6])<<8|int(e[7])
	return gotSeq == seq && (!checkID || gotID == id)
}

// listen opens a raw ICMP socket, or a ping socket when raw is refused.
func (c *Ping) listen(a attempt) (pc net.PacketConn, raw bool, err error) {
	t := c.spec.Target
	v6 := t.ConnectIP.Unmap().Is6()
	network, laddr := "ip4:icmp", "0.0.0.0"
	if v6 {
		network, laddr = "ip6:ipv6-icmp", "::"
	}
	if t.BindTo.IsValid() {
		laddr = t.BindTo.String()
	}
	if !c.dgramOnly {
		lc := net.ListenConfig{Control: t.control}
		pc, err = lc.ListenPacket(a.ctx, network, laddr)
		if err == nil {
			return pc, true, nil
		}
		if !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EACCES) {
			return nil, false, err
		}
	}
	pc, err = c.pingSocket(v6)
	return pc, false, err
}

// pingSocket opens an IPPROTO_ICMP datagram socket (Linux ping socket).
func (c *Ping) pingSocket(v6 bool) (net.PacketConn, error) {
	t := c.spec.Target
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("ping socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "ping")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	network := "udp4"
	if v6 {
		network = "udp6"
	}
	if err := t.control(network, "", rc); err != nil {
		return nil, err
	}
	if t.BindTo.IsValid() {
		var sa unix.Sockaddr
		if v6 {
			sa = &unix.SockaddrInet6{Addr: t.BindTo.As16()}
		} else {
			sa = &unix.SockaddrInet4{Addr: t.BindTo.Unmap().As4()}
		}
		if err := unix.Bind(fd, sa); err != nil {
			return nil, fmt.Errorf("bind %s: %w", t.BindTo, err)
		}
	}
	return net.FilePacketConn(f)
}
