//go:build linux

package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RawNetwork hands out the PacketConns of VRRP instances over raw IPv4
// sockets (protocol 112), one socket per interface however many instances
// use it, as keepalived does: received packets are demultiplexed by VRID.
// It is safe for concurrent use.
type RawNetwork struct {
	log *slog.Logger

	mu    sync.Mutex
	socks map[string]*rawSocket // by interface name

	// Malformed counts packets the shared sockets dropped before they
	// could be given to an instance (bad IPv4 header, truncated).
	malformed atomic.Uint64
	// overflow counts packets dropped because an instance's queue was full.
	overflow atomic.Uint64
}

// NewRawNetwork returns a RawNetwork logging to log (nil: slog.Default).
func NewRawNetwork(log *slog.Logger) *RawNetwork {
	if log == nil {
		log = slog.Default()
	}
	return &RawNetwork{log: log, socks: map[string]*rawSocket{}}
}

// Malformed returns the number of packets dropped because their IPv4
// header was malformed, before any instance saw them.
func (n *RawNetwork) Malformed() uint64 { return n.malformed.Load() }

// Overflow returns the number of packets dropped because an instance had
// too many packets queued (a flood).
func (n *RawNetwork) Overflow() uint64 { return n.overflow.Load() }

// Open returns the conn of the instance cfg (after normalisation: Interface,
// VRID, McastGroup and UnicastPeers are used). Multicast instances join
// their group on the interface.
func (n *RawNetwork) Open(cfg InstanceConfig, opts ConnOptions) (Conn, error) {
	c, _, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("vrrp %s: %w", cfg.Name, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.socks[c.Interface]
	if s == nil {
		if s, err = n.openSocket(c.Interface); err != nil {
			return nil, fmt.Errorf("vrrp %s: %w", c.Name, err)
		}
		n.socks[c.Interface] = s
	}
	ic := &instConn{
		sock:   s,
		net:    n,
		vrid:   c.VRID,
		local:  opts.Src,
		rx:     make(chan *rxBuf, connQueue),
		free:   make(chan *rxBuf, connQueue),
		failed: make(chan struct{}),
	}
	if !ic.local.IsValid() {
		if ic.local, err = primaryAddr(s.ifname, opts.NotPrimary); err != nil {
			n.release(s)
			return nil, fmt.Errorf("vrrp %s: %w", c.Name, err)
		}
	}
	if len(c.UnicastPeers) == 0 {
		if err := s.join(c.McastGroup); err != nil {
			n.release(s)
			return nil, fmt.Errorf("vrrp %s: %w", c.Name, err)
		}
		ic.group = c.McastGroup
	}
	s.add(ic)
	return ic, nil
}

// openSocket opens and configures the raw socket of ifname and starts its
// reader. Called with n.mu held.
func (n *RawNetwork) openSocket(ifname string) (*rawSocket, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("open VRRP socket on %s: %w", ifname, err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, IPProtoVRRP)
	if err != nil {
		return nil, fmt.Errorf("open raw IPv4 socket (protocol 112) on %s: %w", ifname, err)
	}
	setup := []struct {
		what string
		err  func() error
	}{
		{"bind to device", func() error { return unix.BindToDevice(fd, ifname) }},
		{"IP_HDRINCL", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1) }},
		{"IP_MULTICAST_TTL 255", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, TTL) }},
		{"IP_MULTICAST_LOOP off", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0) }},
		{"IP_MULTICAST_IF", func() error {
			return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)})
		}},
		// Without it the kernel would also deliver packets of groups joined
		// by other sockets of the host.
		{"IP_MULTICAST_ALL off", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0) }},
	}
	for _, s := range setup {
		if err := s.err(); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("VRRP socket on %s: %s: %w", ifname, s.what, err)
		}
	}
	f := os.NewFile(uintptr(fd), "vrrp-"+ifname)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("VRRP socket on %s: %w", ifname, err)
	}
	s := &rawSocket{
		ifname:  ifname,
		ifindex: ifi.Index,
		f:       f,
		rc:      rc,
		groups:  map[netip.Addr]int{},
		subs:    map[uint8][]*instConn{},
		net:     n,
		done:    make(chan struct{}),
	}
	go s.readLoop()
	return s, nil
}

// release drops one reference to s, closing it with the last. Called with
// n.mu held.
func (n *RawNetwork) release(s *rawSocket) {
	s.mu.Lock()
	empty := len(s.subs) == 0
	s.mu.Unlock()
	if empty {
		delete(n.socks, s.ifname)
		s.closing.Store(true)
		s.f.Close()
		<-s.done
	}
}

// Close closes every socket; conns still open fail from then on.
func (n *RawNetwork) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for name, s := range n.socks {
		s.closing.Store(true)
		s.f.Close()
		<-s.done
		delete(n.socks, name)
	}
	return nil
}

// primaryAddr returns the first IPv4 address of ifname not in exclude, as
// keepalived takes the interface's first address.
func primaryAddr(ifname string, exclude []netip.Addr) (netip.Addr, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("find primary address of %s: %w", ifname, err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list addresses of %s: %w", ifname, err)
	}
next:
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		for _, x := range exclude {
			if x == ip {
				continue next
			}
		}
		return ip, nil
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no IPv4 address to send adverts from", ifname)
}

// rawSocket is the raw socket of one interface, shared by its instances.
type rawSocket struct {
	ifname  string
	ifindex int
	f       *os.File
	rc      syscall.RawConn
	net     *RawNetwork
	done    chan struct{} // closed when readLoop returns
	closing atomic.Bool   // set before f is closed

	mu     sync.Mutex
	groups map[netip.Addr]int    // joined groups, reference counted
	subs   map[uint8][]*instConn // by VRID
	sendMu sync.Mutex            // serialises sendto on the socket
}

func (s *rawSocket) join(g netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[g] > 0 {
		s.groups[g]++
		return nil
	}
	var err error
	cerr := s.rc.Control(func(fd uintptr) {
		err = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP,
			&unix.IPMreqn{Multiaddr: g.As4(), Ifindex: int32(s.ifindex)})
	})
	if err = errors.Join(cerr, err); err != nil {
		return fmt.Errorf("join %s on %s: %w", g, s.ifname, err)
	}
	s.groups[g] = 1
	return nil
}

func (s *rawSocket) leave(g netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[g]--; s.groups[g] > 0 {
		return
	}
	delete(s.groups, g)
	s.rc.Control(func(fd uintptr) {
		unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_DROP_MEMBERSHIP,
			&unix.IPMreqn{Multiaddr: g.As4(), Ifindex: int32(s.ifindex)})
	})
}

func (s *rawSocket) add(c *instConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[c.vrid] = append(s.subs[c.vrid], c)
}

func (s *rawSocket) remove(c *instConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.subs[c.vrid]
	for i, x := range list {
		if x == c {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.subs, c.vrid)
	} else {
		s.subs[c.vrid] = list
	}
}

// readLoop reads every packet of the socket and hands it to the instances
// of its VRID, until the socket is closed. Packets of unknown VRIDs are
// ignored, like keepalived without log_unknown_vrids.
func (s *rawSocket) readLoop() {
	defer close(s.done)
	defer s.closeSubs()
	var buf [IPv4HeaderLen + MaxAdvertLen + 64]byte
	var h IPv4Header
	for {
		var n int
		var rerr error
		err := s.rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf[:], 0)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			if s.closing.Load() || errors.Is(err, os.ErrClosed) {
				return
			}
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOBUFS) {
				continue
			}
			s.net.log.Error("vrrp: receive", "interface", s.ifname, "err", err)
			return
		}
		payload, derr := DecodeIPv4(buf[:n], &h)
		if derr != nil || len(payload) < 2 {
			s.net.malformed.Add(1)
			continue
		}
		s.mu.Lock()
		for _, c := range s.subs[payload[1]] {
			c.deliver(&h, payload)
		}
		s.mu.Unlock()
	}
}

// closeSubs wakes every instance reading from the socket once it is gone.
func (s *rawSocket) closeSubs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, list := range s.subs {
		for _, c := range list {
			c.fail(errors.New("VRRP socket on " + s.ifname + " closed"))
		}
	}
}

func (s *rawSocket) sendto(pkt []byte, dst netip.Addr) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	sa := &unix.SockaddrInet4{Addr: dst.As4()}
	var serr error
	err := s.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), pkt, 0, sa)
		return serr != unix.EAGAIN
	})
	return errors.Join(err, serr)
}

// connQueue is the number of packets queued per instance; more are
// dropped, so a flood cannot grow memory. Buffers are allocated as bursts
// need them, so idle instances cost little.
const connQueue = 64

// rxBuf is one queued packet.
type rxBuf struct {
	src, dst netip.Addr
	ttl      uint8
	n        int
	b        [MaxAdvertLen + 64]byte
}

// instConn is one instance's view of a shared socket.
type instConn struct {
	sock  *rawSocket
	net   *RawNetwork
	vrid  uint8
	group netip.Addr // joined group, invalid for unicast
	local netip.Addr

	rx, free chan *rxBuf
	nbufs    int // buffers allocated; used by the reader only
	failMu   sync.Mutex
	failErr  error
	failed   chan struct{}
	closed   atomic.Bool

	// Used only by the instance's goroutine.
	id    uint16
	txBuf [IPv4HeaderLen + MaxAdvertLen]byte
}

// deliver queues a copy of the packet; called by the reader with s.mu held.
func (c *instConn) deliver(h *IPv4Header, payload []byte) {
	var b *rxBuf
	select {
	case b = <-c.free:
	default:
		if c.nbufs < connQueue {
			c.nbufs++
			b = new(rxBuf)
			break
		}
		c.net.overflow.Add(1) // the instance is behind: drop rather than block the others
		return
	}
	b.src, b.dst, b.ttl = h.Src, h.Dst, h.TTL
	b.n = copy(b.b[:], payload)
	c.rx <- b
}

func (c *instConn) fail(err error) {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	if c.failErr == nil {
		c.failErr = err
		close(c.failed)
	}
}

// Receive implements PacketConn.
func (c *instConn) Receive(ctx context.Context, buf []byte) (Packet, error) {
	select {
	case b := <-c.rx:
		n := copy(buf, b.b[:b.n])
		p := Packet{Src: b.src, Dst: b.dst, TTL: b.ttl, Payload: buf[:n]}
		c.free <- b
		return p, nil
	case <-ctx.Done():
		return Packet{}, ctx.Err()
	case <-c.failed:
		c.failMu.Lock()
		defer c.failMu.Unlock()
		return Packet{}, c.failErr
	}
}

// Send implements PacketConn, writing keepalived's IPv4 header: TOS 0xc0,
// TTL 255, no flags, an id incremented per packet of the instance.
func (c *instConn) Send(payload []byte, dst netip.Addr) error {
	if c.closed.Load() {
		return errors.New("conn closed")
	}
	c.id++
	if c.id == 0 {
		c.id = 1 // zero would let the kernel choose
	}
	h := AdvertIPv4Header(c.id, c.local, dst, len(payload))
	n, err := h.Encode(c.txBuf[:])
	if err != nil {
		return err
	}
	n += copy(c.txBuf[n:], payload)
	if err := c.sock.sendto(c.txBuf[:n], dst); err != nil {
		return fmt.Errorf("send to %s on %s: %w", dst, c.sock.ifname, err)
	}
	return nil
}

// LocalAddr implements PacketConn.
func (c *instConn) LocalAddr() netip.Addr { return c.local }

// Close implements Conn.
func (c *instConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.sock.remove(c)
	if c.group.IsValid() {
		c.sock.leave(c.group)
	}
	c.net.mu.Lock()
	c.net.release(c.sock)
	c.net.mu.Unlock()
	c.fail(errors.New("conn closed"))
	return nil
}
