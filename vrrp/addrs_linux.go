//go:build linux

package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// NetlinkAddrs adds and removes VIPs with netlink. It is safe for
// concurrent use. Requests run one at a time on a goroutine of their own:
// the netlink library receives into a 64 KiB array on the stack, which
// would otherwise grow the stack of every instance's goroutine to 128 KiB
// (13 MB for 100 instances).
type NetlinkAddrs struct {
	h    *netlink.Handle
	once sync.Once
	reqs chan func()
}

// do runs fn on the netlink goroutine and waits for it.
func (m *NetlinkAddrs) do(fn func()) {
	m.once.Do(func() {
		m.reqs = make(chan func())
		go func() {
			for f := range m.reqs {
				f()
			}
		}()
	})
	done := make(chan struct{})
	m.reqs <- func() { fn(); close(done) }
	<-done
}

// NewNetlinkAddrs returns an AddrSpecManager working in the namespace of h,
// or in the calling thread's namespace when h is nil.
func NewNetlinkAddrs(h *netlink.Handle) *NetlinkAddrs {
	if h == nil {
		h = &netlink.Handle{}
	}
	return &NetlinkAddrs{h: h}
}

func (m *NetlinkAddrs) addr(a AddrSpec) (netlink.Link, *netlink.Addr, error) {
	if !a.Prefix.Addr().Is4() {
		return nil, nil, fmt.Errorf("%s is not IPv4", a.Prefix)
	}
	link, err := m.h.LinkByName(a.Dev)
	if err != nil {
		return nil, nil, fmt.Errorf("find interface %s: %w", a.Dev, err)
	}
	ip := a.Prefix.Addr().AsSlice()
	na := &netlink.Addr{
		IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(a.Prefix.Bits(), 32)},
		Label: a.Label,
	}
	switch a.Broadcast {
	case "", "-":
	case "+":
		b := a.Prefix.Masked().Addr().As4()
		for i := a.Prefix.Bits(); i < 32; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		na.Broadcast = net.IP(b[:])
	default:
		bip, err := netip.ParseAddr(a.Broadcast)
		if err != nil {
			return nil, nil, fmt.Errorf("brd %q: %w", a.Broadcast, err)
		}
		na.Broadcast = bip.AsSlice()
	}
	scope, err := parseScope(a.Scope)
	if err != nil {
		return nil, nil, err
	}
	na.Scope = scope
	return link, na, nil
}

func parseScope(s string) (int, error) {
	switch s {
	case "", "global":
		return unix.RT_SCOPE_UNIVERSE, nil
	case "site":
		return unix.RT_SCOPE_SITE, nil
	case "link":
		return unix.RT_SCOPE_LINK, nil
	case "host":
		return unix.RT_SCOPE_HOST, nil
	case "nowhere":
		return unix.RT_SCOPE_NOWHERE, nil
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("scope %q: not host, link, site, global, nowhere or 0..255", s)
	}
	return int(n), nil
}

// Add implements AddrSpecManager.
func (m *NetlinkAddrs) Add(a AddrSpec) error {
	var err error
	m.do(func() {
		var link netlink.Link
		var na *netlink.Addr
		if link, na, err = m.addr(a); err == nil {
			err = m.h.AddrAdd(link, na)
			if errors.Is(err, unix.EEXIST) {
				err = nil
			}
		}
	})
	if err != nil {
		return fmt.Errorf("add %s to %s: %w", a.Prefix, a.Dev, err)
	}
	return nil
}

// Remove implements AddrSpecManager.
func (m *NetlinkAddrs) Remove(a AddrSpec) error {
	var err error
	m.do(func() {
		var link netlink.Link
		var na *netlink.Addr
		if link, na, err = m.addr(a); err == nil {
			err = m.h.AddrDel(link, na)
			if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
				err = nil
			}
		}
	})
	if err != nil {
		return fmt.Errorf("remove %s from %s: %w", a.Prefix, a.Dev, err)
	}
	return nil
}

// Has reports whether a's address is on its dev with a's prefix length.
func (m *NetlinkAddrs) Has(a AddrSpec) (bool, error) {
	link, err := m.h.LinkByName(a.Dev)
	if err != nil {
		return false, fmt.Errorf("find interface %s: %w", a.Dev, err)
	}
	list, err := m.h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return false, fmt.Errorf("list addresses of %s: %w", a.Dev, err)
	}
	for _, x := range list {
		ones, _ := x.Mask.Size()
		if ip, ok := netip.AddrFromSlice(x.IP); ok && ip.Unmap() == a.Prefix.Addr() && ones == a.Prefix.Bits() {
			return true, nil
		}
	}
	return false, nil
}
