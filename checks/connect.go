package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// connectOnly opens a TCP connection to the target and closes it: all
// TCP_CHECK needs; t.Timeout and a.ctx bound it. It talks to the kernel
// directly (socket, connect, wait for writability in Go's poller,
// SO_ERROR, close) instead of through net.Dialer, which also parses the
// address, asks for both socket names and builds a net.Conn: together
// with the engine's worker pool this cut the user CPU of
// BenchmarkEngine5000TCP by about a third.
func (t Target) connectOnly(a attempt) error {
	if !t.ConnectIP.IsValid() {
		return errors.New("no connect address")
	}
	ap := t.AddrPort()
	family, network := unix.AF_INET, "tcp4"
	if !ap.Addr().Unmap().Is4() {
		family, network = unix.AF_INET6, "tcp6"
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	if err := t.setup(network, fd); err != nil {
		unix.Close(fd)
		return err
	}
	if t.BindTo.IsValid() || t.BindPort != 0 {
		bind := t.BindTo
		if !bind.IsValid() {
			bind = netip.IPv4Unspecified()
			if family == unix.AF_INET6 {
				bind = netip.IPv6Unspecified()
			}
		}
		if bind.Zone() == "" && bind.Is6() && bind.IsLinkLocalUnicast() && t.BindIf != "" {
			bind = bind.WithZone(t.BindIf)
		}
		sa, err := sockaddr(netip.AddrPortFrom(bind, t.BindPort), family)
		if err == nil {
			err = os.NewSyscallError("bind", unix.Bind(fd, sa))
		}
		if err != nil {
			unix.Close(fd)
			return err
		}
	}
	sa, err := sockaddr(ap, family)
	if err != nil {
		unix.Close(fd)
		return err
	}
	// The file now owns fd and registers it with the poller.
	f := os.NewFile(uintptr(fd), "tcp-check")
	defer f.Close()
	dl, ok := a.ctx.Deadline()
	if t.Timeout > 0 {
		if own := time.Now().Add(t.Timeout); !ok || own.Before(dl) {
			dl, ok = own, true
		}
	}
	if ok {
		f.SetDeadline(dl)
	}
	stop := context.AfterFunc(a.ctx, func() { f.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	// Write forgets earlier readiness, then calls the function, and calls
	// it again each time the poller reports fd writable. connect runs in
	// the first call, so the handshake's end cannot be missed; later
	// calls read SO_ERROR, and getpeername tells a spurious wake-up
	// (still connecting) from success.
	var result error
	started := false
	werr := rc.Write(func(fd uintptr) bool {
		if !started {
			started = true
			switch err := unix.Connect(int(fd), sa); err {
			case nil:
				return true
			case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
				return false
			default:
				result = os.NewSyscallError("connect", err)
				return true
			}
		}
		n, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			result = os.NewSyscallError("getsockopt", err)
			return true
		}
		switch errno := syscall.Errno(n); errno {
		case 0:
			_, err := unix.Getpeername(int(fd))
			return err != unix.ENOTCONN
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return false
		default:
			result = os.NewSyscallError("connect", errno)
			return true
		}
	})
	if werr != nil {
		if err := a.ctx.Err(); err == context.Canceled {
			return err
		}
		return werr
	}
	return result
}

// sockaddr converts ap for a socket of family.
func sockaddr(ap netip.AddrPort, family int) (unix.Sockaddr, error) {
	ip := ap.Addr()
	if family == unix.AF_INET {
		if !ip.Unmap().Is4() {
			return nil, fmt.Errorf("address %s is not IPv4", ip)
		}
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.Unmap().As4()}, nil
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		ifi, err := net.InterfaceByName(z)
		if err != nil {
			return nil, fmt.Errorf("zone %s: %w", z, err)
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return sa, nil
}
