//go:build linux

package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
)

// etherTypeARP is the Ethernet type of ARP.
const etherTypeARP = 0x0806

// PacketARP sends gratuitous ARPs through AF_PACKET sockets, one per
// interface, opened on first use. It is safe for concurrent use.
type PacketARP struct {
	mu    sync.Mutex
	conns map[string]*arpConn
}

type arpConn struct {
	mu  sync.Mutex
	c   *packet.Conn
	mac net.HardwareAddr
	buf [GARPFrameLen]byte
}

// NewPacketARP returns a PacketARP.
func NewPacketARP() *PacketARP { return &PacketARP{conns: map[string]*arpConn{}} }

// dropAll is a socket filter accepting nothing: the socket only sends.
var dropAll = func() []bpf.RawInstruction {
	ins, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		panic(err)
	}
	return ins
}

func (p *PacketARP) conn(ifname string) (*arpConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.conns[ifname]; c != nil {
		return c, nil
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("gratuitous ARP on %s: %w", ifname, err)
	}
	c, err := packet.Listen(ifi, packet.Raw, etherTypeARP, &packet.Config{Filter: dropAll()})
	if err != nil {
		return nil, fmt.Errorf("gratuitous ARP on %s: open AF_PACKET socket: %w", ifname, err)
	}
	ac := &arpConn{c: c, mac: ifi.HardwareAddr}
	p.conns[ifname] = ac
	return ac, nil
}

// SendGARP implements ARPSender with keepalived's frame (see EncodeGARP).
func (p *PacketARP) SendGARP(ifname string, ip netip.Addr) error {
	c, err := p.conn(ifname)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := EncodeGARP(c.buf[:], c.mac, ip)
	if err != nil {
		return err
	}
	if _, err := c.c.WriteTo(c.buf[:n], &packet.Addr{HardwareAddr: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}); err != nil {
		return fmt.Errorf("gratuitous ARP for %s on %s: %w", ip, ifname, err)
	}
	return nil
}

// Close closes every socket.
func (p *PacketARP) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, c := range p.conns {
		c.c.Close()
		delete(p.conns, name)
	}
	return nil
}
