//go:build linux

package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
)

// sysctl paths of an interface's IPv4 settings.
func confPath(ifname, key string) string {
	return filepath.Join("/proc/sys/net/ipv4/conf", ifname, key)
}

func readSysctl(ifname, key string) (string, error) {
	b, err := os.ReadFile(confPath(ifname, key))
	return strings.TrimSpace(string(b)), err
}

func writeSysctl(ifname, key, v string) error {
	return os.WriteFile(confPath(ifname, key), []byte(v+"\n"), 0o644)
}

// SetupVMAC implements VMACNetwork. Like keepalived, the base interface
// gets arp_ignore 1 and arp_filter 1 (so that only the VMAC answers ARP
// for the VIPs, with the virtual MAC), the VMAC accept_local 1 and
// rp_filter 0 (so adverts and replies arriving on it are accepted); base's
// settings are restored when its last VMAC goes.
func (n *SystemNetwork) SetupVMAC(base, name string, mac net.HardwareAddr, notPrimary []netip.Addr) (netip.Addr, func(), error) {
	fail := func(what string, err error) (netip.Addr, func(), error) {
		return netip.Addr{}, nil, fmt.Errorf("vrrp: use_vmac %s on %s: %s: %w", name, base, what, err)
	}
	parent, err := netlink.LinkByName(base)
	if err != nil {
		return fail("find base interface", err)
	}
	stale := false
	if old, err := netlink.LinkByName(name); err == nil {
		stale = true
		// A daemon killed before it could clean up left it behind.
		if old.Type() != "macvlan" {
			return fail("interface exists", errors.New("not a macvlan"))
		}
		if err := netlink.LinkDel(old); err != nil {
			return fail("delete stale vmac", err)
		}
	}
	mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: parent.Attrs().Index, HardwareAddr: mac}, Mode: netlink.MACVLAN_MODE_PRIVATE}
	if err := netlink.LinkAdd(mv); err != nil {
		return fail("create macvlan", err)
	}
	undoLink := func() {
		if l, err := netlink.LinkByName(name); err == nil {
			netlink.LinkDel(l)
		}
	}
	for _, kv := range [][2]string{{"arp_ignore", "1"}, {"accept_local", "1"}, {"rp_filter", "0"}} {
		if err := writeSysctl(name, kv[0], kv[1]); err != nil {
			undoLink()
			return fail("sysctl "+kv[0], err)
		}
	}
	if err := netlink.LinkSetUp(mv); err != nil {
		undoLink()
		return fail("set up", err)
	}
	src, err := primaryAddr(base, notPrimary)
	if err != nil {
		undoLink()
		return fail("source address", err)
	}
	release, err := n.holdBase(base, stale)
	if err != nil {
		undoLink()
		return fail("base sysctls", err)
	}
	return src, func() { undoLink(); release() }, nil
}

// baseState is a base interface's saved sysctls and how many VMACs use it.
type baseState struct {
	refs  int
	saved map[string]string
}

// holdBase sets base's ARP sysctls for its first VMAC and returns the
// function restoring them after its last. After a killed daemon (stale
// VMAC) base's current values are that daemon's, so the kernel's defaults
// (0) are restored instead.
func (n *SystemNetwork) holdBase(base string, stale bool) (func(), error) {
	n.vmacMu.Lock()
	defer n.vmacMu.Unlock()
	if n.bases == nil {
		n.bases = map[string]*baseState{}
	}
	st := n.bases[base]
	if st == nil {
		st = &baseState{saved: map[string]string{}}
		for _, kv := range [][2]string{{"arp_ignore", "1"}, {"arp_filter", "1"}} {
			old, err := readSysctl(base, kv[0])
			if err != nil {
				return nil, err
			}
			if stale {
				old = "0"
			}
			st.saved[kv[0]] = old
			if err := writeSysctl(base, kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		n.bases[base] = st
	}
	st.refs++
	return func() {
		n.vmacMu.Lock()
		defer n.vmacMu.Unlock()
		if st.refs--; st.refs == 0 {
			for k, v := range st.saved {
				writeSysctl(base, k, v)
			}
			delete(n.bases, base)
		}
	}, nil
}
