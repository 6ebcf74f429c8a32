package vrrp

import (
	"context"
	"net/netip"
	"time"
)

// Clock is the source of time for an Instance. Production uses
// SystemClock; tests use a fake they advance by hand.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer created by a Clock, like *time.Timer.
type Timer interface {
	// C delivers the time when the timer fires.
	C() <-chan time.Time
	// Reset re-arms the timer to fire after d, discarding any pending fire.
	Reset(d time.Duration)
	// Stop disarms the timer.
	Stop()
}

// Packet is one received VRRP packet, before validation.
type Packet struct {
	// Src and Dst are the addresses of the IPv4 header.
	Src, Dst netip.Addr
	// TTL is the TTL of the IPv4 header.
	TTL uint8
	// Payload is the VRRP message without IP header.
	Payload []byte
}

// PacketConn sends and receives the VRRP adverts of one instance. The real
// implementation is a raw IPv4 socket (protocol 112) bound to the
// instance's interface, possibly shared by several VRIDs; packets of other
// VRIDs may be delivered and are ignored.
type PacketConn interface {
	// Send transmits one VRRP message to dst (the multicast group or a
	// unicast peer), adding the IPv4 header (see AdvertIPv4Header). payload
	// is only valid during the call.
	Send(payload []byte, dst netip.Addr) error
	// Receive blocks until a packet arrives, reading its payload into buf,
	// and returns it with Payload aliasing buf. It returns ctx.Err() once
	// ctx is done; any other error is fatal for the instance.
	Receive(ctx context.Context, buf []byte) (Packet, error)
	// LocalAddr returns the source address adverts are sent from: the
	// interface's primary IPv4 address, or the unicast source address. It is
	// used for the VRRPv3 checksum and the equal-priority tie-break.
	LocalAddr() netip.Addr
}

// AddrManager adds and removes the virtual addresses of an instance on
// its interface (netlink in production).
type AddrManager interface {
	// AddAddr adds p to the interface ifname; an address that is already
	// present is not an error.
	AddAddr(ifname string, p netip.Prefix) error
	// RemoveAddr removes p from ifname; a missing address is not an error.
	RemoveAddr(ifname string, p netip.Prefix) error
}

// ARPSender broadcasts gratuitous ARPs (AF_PACKET in production, with the
// frame from EncodeGARP).
type ARPSender interface {
	// SendGARP broadcasts one gratuitous ARP for ip from ifname's MAC.
	SendGARP(ifname string, ip netip.Addr) error
}

// SystemClock returns the Clock of the operating system.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }

// Reset relies on Go 1.23 timer semantics: no stale value survives Reset.
func (t systemTimer) Reset(d time.Duration) { t.t.Reset(d) }

func (t systemTimer) Stop() { t.t.Stop() }
