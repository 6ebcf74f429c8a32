package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Host is one machine of a lab: a network namespace whose Link (eth0) is
// plugged into the lab's bridge.
type Host struct {
	// Name is the host's name in the lab, e.g. "h1".
	Name string
	// NSName is the namespace's name under /run/netns, for
	// `ip netns exec` or `keepalived --namespace`.
	NSName string
	// NS is a handle on the namespace, owned by the lab: do not close it.
	NS netns.NsHandle
	// IP is the address on Link.
	IP netip.Addr
	// MAC is Link's hardware address: 02:00 then IP's four bytes.
	MAC net.HardwareAddr
	// Link is the name of the host's interface on the lab network, "eth0".
	Link string

	lab  *Lab
	nl   *netlink.Handle // in NS; guarded by nlMu
	nlMu sync.Mutex
}

// Do runs fn, and waits for it, on an OS thread locked and switched into the
// host's namespace; the thread is switched back afterwards (or discarded if
// that fails). Sockets opened in fn stay in the namespace after Do returns.
// Goroutines that fn starts run in the test process's own namespace.
func (h *Host) Do(fn func() error) error {
	if err := doIn(h.NS, fn); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	return nil
}

// netlink runs fn with the host's netlink handle.
func (h *Host) netlink(fn func(nh *netlink.Handle) error) error {
	h.nlMu.Lock()
	defer h.nlMu.Unlock()
	if h.nl == nil {
		return errors.New("lab is closed")
	}
	return fn(h.nl)
}

// Addrs returns the IPv4 addresses on the host's interface ifname, e.g. to
// see whether the host holds a VIP.
func (h *Host) Addrs(ifname string) ([]netip.Addr, error) {
	var out []netip.Addr
	err := h.netlink(func(nh *netlink.Handle) error {
		link, err := nh.LinkByName(ifname)
		if err != nil {
			return err
		}
		addrs, err := nh.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("host %s: list addresses of %s: %w", h.Name, ifname, err)
	}
	return out, nil
}

// HasAddr reports whether ip is on the host's Link.
func (h *Host) HasAddr(ip netip.Addr) (bool, error) {
	addrs, err := h.Addrs(h.Link)
	for _, a := range addrs {
		if a == ip {
			return true, nil
		}
	}
	return false, err
}

// usableNeigh are the neighbour states whose MAC the kernel would send to.
const usableNeigh = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY |
	netlink.NUD_PROBE | netlink.NUD_PERMANENT | netlink.NUD_NOARP

// Neigh returns the MAC the host's ARP table holds for ip, or nil when it
// has no usable entry (none, incomplete or failed). To see which host a
// client reaches a VIP on, ping the VIP from the client, then compare
// Neigh's answer with the hosts' MACs.
func (h *Host) Neigh(ip netip.Addr) (net.HardwareAddr, error) {
	var mac net.HardwareAddr
	err := h.netlink(func(nh *netlink.Handle) error {
		neighs, err := nh.NeighList(0, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, n := range neighs {
			if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == ip &&
				n.State&usableNeigh != 0 && len(n.HardwareAddr) > 0 {
				mac = n.HardwareAddr
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("host %s: ARP entry for %v: %w", h.Name, ip, err)
	}
	return mac, nil
}
