package vrrp

import "net/netip"

// AddrSpec is one virtual address with the options of its
// virtual_ipaddress line: where it goes and how it is added.
type AddrSpec struct {
	// Prefix is the address and prefix length (/32 by default).
	Prefix netip.Prefix
	// Dev is the interface the address goes on; empty means the instance's.
	Dev string
	// Broadcast is the brd option: an address, "+" (derived from the
	// prefix) or "-"/"" (none).
	Broadcast string
	// Scope is the scope option: host, link, site, global, nowhere or a
	// number; empty means global.
	Scope string
	// Label is the label option, e.g. "eth0:1".
	Label string
}

// specAddrs is the AddrManager and ARPSender of one instance: it puts
// each VIP on its own dev with its options, over a shared Addrs and ARP.
type specAddrs struct {
	addrs AddrSpecManager
	arp   ARPSender
	specs map[netip.Prefix]AddrSpec
	dev   map[netip.Addr]string
}

// AddrSpecManager adds and removes addresses with their options (netlink in
// production).
type AddrSpecManager interface {
	// Add adds a; an address already present is not an error.
	Add(a AddrSpec) error
	// Remove removes a; a missing address is not an error.
	Remove(a AddrSpec) error
}

// InstanceAddrs returns the AddrManager and ARPSender of an instance whose
// VIPs (and excluded VIPs) are specs: each address goes to its Dev (or the
// instance's interface) with its options, and its GARPs go out of that dev.
func InstanceAddrs(m AddrSpecManager, arp ARPSender, specs []AddrSpec) (AddrManager, ARPSender) {
	s := &specAddrs{addrs: m, arp: arp, specs: map[netip.Prefix]AddrSpec{}, dev: map[netip.Addr]string{}}
	for _, a := range specs {
		s.specs[a.Prefix] = a
		if a.Dev != "" {
			s.dev[a.Prefix.Addr()] = a.Dev
		}
	}
	return s, garpOnDev{s}
}

func (s *specAddrs) spec(ifname string, p netip.Prefix) AddrSpec {
	a, ok := s.specs[p]
	if !ok {
		a = AddrSpec{Prefix: p}
	}
	if a.Dev == "" {
		a.Dev = ifname
	}
	return a
}

// AddAddr implements AddrManager.
func (s *specAddrs) AddAddr(ifname string, p netip.Prefix) error {
	return s.addrs.Add(s.spec(ifname, p))
}

// RemoveAddr implements AddrManager.
func (s *specAddrs) RemoveAddr(ifname string, p netip.Prefix) error {
	return s.addrs.Remove(s.spec(ifname, p))
}

type garpOnDev struct{ s *specAddrs }

// SendGARP implements ARPSender on the VIP's own dev.
func (g garpOnDev) SendGARP(ifname string, ip netip.Addr) error {
	if d, ok := g.s.dev[ip]; ok {
		ifname = d
	}
	return g.s.arp.SendGARP(ifname, ip)
}
