package checks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Result is the outcome of one probe.
type Result struct {
	// OK reports whether the real server passed the check.
	OK bool
	// Weight is set only by MISC_CHECK with misc_dynamic when the script
	// exited 2..255: the real server weight it asks for (exit status − 2).
	Weight *int
	// WeightOffset is set only by FILE_CHECK with a non-zero weight: the
	// amount added to the real server's configured weight.
	WeightOffset *int
	// Reason says, for a person, why the check failed (or what it saw).
	Reason string
}

// Prober is one configured checker against one real server.
type Prober interface {
	// Probe makes one attempt; ctx bounds it.
	Probe(ctx context.Context) Result
}

// Every checker is a Prober.
var (
	_ Prober = (*TCP)(nil)
	_ Prober = (*HTTP)(nil)
	_ Prober = (*SMTP)(nil)
	_ Prober = (*DNS)(nil)
	_ Prober = (*Misc)(nil)
	_ Prober = (*Ping)(nil)
	_ Prober = (*UDP)(nil)
	_ Prober = (*File)(nil)
)

// Target says where a network checker connects and how its socket is set up.
type Target struct {
	// ConnectIP and ConnectPort are the address probed (connect_ip,
	// connect_port, defaulting to the real server's).
	ConnectIP   netip.Addr
	ConnectPort uint16
	// BindTo and BindPort set the source address (bindto, bind_port).
	BindTo   netip.Addr
	BindPort uint16
	// BindIf binds the socket to an interface (bind_if, SO_BINDTODEVICE);
	// it is also the zone for a link-local ConnectIP without one.
	BindIf string
	// FWMark marks the checker's packets (fwmark, SO_MARK).
	FWMark uint32
	// Timeout is connect_timeout; it bounds each attempt (each url of an
	// HTTP checker) in addition to the Probe context. Zero means only the
	// context bounds it.
	Timeout time.Duration
}

// AddrPort returns the probed address, with BindIf as the zone of a
// link-local IPv6 address that has none.
func (t Target) AddrPort() netip.AddrPort {
	ip := t.ConnectIP.Unmap()
	if ip.Is6() && ip.Zone() == "" && t.BindIf != "" && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
		ip = ip.WithZone(t.BindIf)
	}
	return netip.AddrPortFrom(ip, t.ConnectPort)
}

// String returns "ip:port" ("[ip]:port" for IPv6).
func (t Target) String() string { return t.AddrPort().String() }

// attempt is one bounded try: its context and the budget named in reasons.
type attempt struct {
	ctx    context.Context
	budget time.Duration
}

// begin starts an attempt bounded by ctx and t.Timeout.
func (t Target) begin(ctx context.Context) (attempt, context.CancelFunc) {
	return beginWith(ctx, t.Timeout)
}

func beginWith(ctx context.Context, timeout time.Duration) (attempt, context.CancelFunc) {
	cancel := context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
		return attempt{ctx: ctx, budget: timeout}, cancel
	}
	var budget time.Duration
	if dl, ok := ctx.Deadline(); ok {
		budget = time.Until(dl).Round(time.Millisecond)
	}
	return attempt{ctx: ctx, budget: budget}, cancel
}

// describe turns an I/O error into the words used in reasons:
// "timeout after 3s", "connection refused", ...
func (a attempt) describe(err error) string {
	var se setupError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &se):
		return se.Error()
	case errors.Is(err, context.Canceled) && a.ctx.Err() == context.Canceled:
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), os.IsTimeout(err), a.ctx.Err() != nil:
		if a.budget > 0 {
			return "timeout after " + a.budget.String()
		}
		return "timeout"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed by server"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// guard applies the attempt's deadline and cancellation to conn. The
// returned func stops watching for cancellation.
func (a attempt) guard(conn net.Conn) func() bool {
	if dl, ok := a.ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	return context.AfterFunc(a.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// dialer returns a net.Dialer honouring bindto, bind_port, bind_if and
// fwmark. network is "tcp" or "udp".
func (t Target) dialer(network string) *net.Dialer {
	// No SO_KEEPALIVE: keepalived sets none, and each probe is one short connection.
	d := &net.Dialer{Control: t.control, KeepAlive: -1}
	if t.BindTo.IsValid() || t.BindPort != 0 {
		var ip net.IP
		zone := ""
		if t.BindTo.IsValid() {
			ip = t.BindTo.AsSlice()
			zone = t.BindTo.Zone()
			if zone == "" && t.BindTo.Is6() && t.BindTo.IsLinkLocalUnicast() {
				zone = t.BindIf
			}
		}
		if network == "udp" {
			d.LocalAddr = &net.UDPAddr{IP: ip, Port: int(t.BindPort), Zone: zone}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: ip, Port: int(t.BindPort), Zone: zone}
		}
	}
	return d
}

// network returns "tcp4"/"tcp6" (or udp) for the connect address, so a
// wildcard bind address cannot pick the wrong family.
func (t Target) network(base string) string {
	if t.ConnectIP.Unmap().Is4() {
		return base + "4"
	}
	return base + "6"
}

// control sets SO_MARK, SO_BINDTODEVICE and, for UDP, IP(V6)_RECVERR so
// ICMP host/net unreachable errors reach a connected socket.
func (t Target) control(network, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) { serr = t.setup(network, int(fd)) })
	if err != nil {
		return err
	}
	return serr
}

// setup applies the target's socket options to fd.
func (t Target) setup(network string, fd int) error {
	if t.FWMark != 0 {
		if e := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(t.FWMark)); e != nil {
			return setupError{fmt.Errorf("set fwmark %d: %w", t.FWMark, e)}
		}
	}
	if t.BindIf != "" {
		if e := unix.BindToDevice(fd, t.BindIf); e != nil {
			return setupError{fmt.Errorf("bind to device %s: %w", t.BindIf, e)}
		}
	}
	switch network {
	case "udp4":
		return unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_RECVERR, 1)
	case "udp6":
		return unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_RECVERR, 1)
	}
	return nil
}

// setupError is a failure to prepare a socket (SO_MARK, SO_BINDTODEVICE);
// its own text says more than the errno inside.
type setupError struct{ error }

func (e setupError) Unwrap() error { return e.error }

// dial connects to the target over network ("tcp" or "udp").
func (t Target) dial(a attempt, network string) (net.Conn, error) {
	if !t.ConnectIP.IsValid() {
		return nil, errors.New("no connect address")
	}
	ap := t.AddrPort()
	return t.dialer(network).DialContext(a.ctx, t.network(network), ap.String())
}

// hostPort formats ip:port with brackets for IPv6, without a zone, as
// keepalived writes its Host header.
func hostPort(ap netip.AddrPort) string {
	ip := ap.Addr().WithZone("").Unmap()
	if ip.Is6() {
		return "[" + ip.String() + "]:" + strconv.Itoa(int(ap.Port()))
	}
	return ip.String() + ":" + strconv.Itoa(int(ap.Port()))
}

func fail(format string, args ...any) Result {
	return Result{Reason: fmt.Sprintf(format, args...)}
}
