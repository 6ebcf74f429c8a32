package checks

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// lab is two network namespaces joined by a veth pair on 10.77.X.0/24:
// A (10.77.X.1) runs the checker, B (10.77.X.2) the servers; 10.77.X.3
// is on the link but answers nothing.
type lab struct {
	a, b           netns.NsHandle
	ipA, ipB, none netip.Addr
	ifA            string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	pid := os.Getpid()
	x := pid%250 + 1
	l := &lab{
		ipA:  netip.MustParseAddr(fmt.Sprintf("10.77.%d.1", x)),
		ipB:  netip.MustParseAddr(fmt.Sprintf("10.77.%d.2", x)),
		none: netip.MustParseAddr(fmt.Sprintf("10.77.%d.3", x)),
		ifA:  fmt.Sprintf("vck%da", pid),
	}
	ifB := fmt.Sprintf("vck%db", pid)
	nameA, nameB := fmt.Sprintf("tchk%da", pid), fmt.Sprintf("tchk%db", pid)

	// netns.NewNamed moves the calling thread; do it on a throwaway thread.
	var errA, errB error
	inThread(func() { l.a, errA = netns.NewNamed(nameA) })
	inThread(func() { l.b, errB = netns.NewNamed(nameB) })
	t.Cleanup(func() {
		l.a.Close()
		l.b.Close()
		netns.DeleteNamed(nameA)
		netns.DeleteNamed(nameB)
	})
	if errA != nil || errB != nil {
		t.Fatalf("create namespaces: %v %v", errA, errB)
	}

	ha, err := netlink.NewHandleAt(l.a)
	if err != nil {
		t.Fatal(err)
	}
	defer ha.Close()
	hb, err := netlink.NewHandleAt(l.b)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: l.ifA}, PeerName: ifB, PeerNamespace: netlink.NsFd(int(l.b))}
	if err := ha.LinkAdd(veth); err != nil {
		t.Fatalf("add veth: %v", err)
	}
	for _, side := range []struct {
		h    *netlink.Handle
		name string
		ip   netip.Addr
	}{{ha, l.ifA, l.ipA}, {hb, ifB, l.ipB}} {
		link, err := side.h.LinkByName(side.name)
		if err != nil {
			t.Fatal(err)
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: side.ip.AsSlice(), Mask: net.CIDRMask(24, 32)}}
		if err := side.h.AddrAdd(link, addr); err != nil {
			t.Fatal(err)
		}
		if err := side.h.LinkSetUp(link); err != nil {
			t.Fatal(err)
		}
		lo, _ := side.h.LinkByName("lo")
		side.h.LinkSetUp(lo)
	}
	// Wait for carrier on both ends, or the first ARP request is lost and
	// the first probe waits a full ARP retry.
	for _, side := range []struct {
		h    *netlink.Handle
		name string
	}{{ha, l.ifA}, {hb, ifB}} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			link, err := side.h.LinkByName(side.name)
			if err == nil && link.Attrs().OperState == netlink.OperUp {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never came up", side.name)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return l
}

// inThread runs fn on a locked OS thread that is thrown away afterwards,
// so a namespace switch inside fn never leaks to other goroutines.
func inThread(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with us
		fn()
	}()
	<-done
}

// in runs fn with the calling thread inside ns; sockets fn creates stay
// in ns.
func (l *lab) in(t *testing.T, ns netns.NsHandle, fn func()) {
	t.Helper()
	var err error
	inThread(func() {
		if err = netns.Set(ns); err != nil {
			return
		}
		fn()
	})
	if err != nil {
		t.Fatalf("enter namespace: %v", err)
	}
}

// listenB starts a TCP listener in B that accepts and closes.
func (l *lab) listenB(t *testing.T) uint16 {
	var ln net.Listener
	var err error
	l.in(t, l.b, func() { ln, err = net.Listen("tcp4", net.JoinHostPort(l.ipB.String(), "0")) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// prohibitMark makes A refuse to route packets carrying mark.
func (l *lab) prohibitMark(t *testing.T, mark uint32) {
	h, err := netlink.NewHandleAt(l.a)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r := netlink.NewRule()
	r.Family = unix.AF_INET
	r.Priority = 100
	r.Mark = mark
	mask := uint32(0xffffffff)
	r.Mask = &mask
	r.Type = unix.RTN_PROHIBIT
	if err := h.RuleAdd(r); err != nil {
		t.Fatalf("ip rule fwmark %#x prohibit: %v", mark, err)
	}
}
