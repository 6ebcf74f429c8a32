package lab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Options describe a lab.
type Options struct {
	// Subnet addresses the hosts: an IPv4 prefix inside 10.0.0.0/8, such
	// as 10.77.1.0/24. Each test package uses its own. Host i (from 0)
	// gets the subnet's (i+1)th address; the addresses after the hosts'
	// are free for VIPs (see Lab.IP).
	Subnet netip.Prefix
	// Hosts names the hosts, in address order: up to 15 of [a-z0-9-],
	// except switch, br0 and lo. Empty means h1, h2, h3.
	Hosts []string
	// IPv6 leaves IPv6 enabled. By default it is disabled in every
	// namespace, so that captures hold only the traffic the test makes
	// rather than router solicitations and MLD reports.
	IPv6 bool
	// Dir receives process logs, keepalived configs and captures. New
	// defaults it to t.TempDir(), Create to a fresh directory under
	// os.TempDir() that is left in place.
	Dir string
}

// Lab is a bridge in a private "switch" namespace plus hosts in namespaces of
// their own, each linked to the bridge by a veth pair.
type Lab struct {
	// ID prefixes the names of all the lab's namespaces:
	// tlab-<pid>-<random>.
	ID string
	// Subnet is Options.Subnet.
	Subnet netip.Prefix
	// Dir is where logs, configs and captures go.
	Dir string

	switchName string
	switchNS   netns.NsHandle
	sw         *netlink.Handle // in the switch namespace; guarded by swMu
	swMu       sync.Mutex
	hosts      []*Host
	ids        map[nsID]bool // every namespace the lab made
	reapErr    error         // from reaping leftovers; not fatal

	mu     sync.Mutex
	procs  []*Proc
	seq    int
	closed bool

	closeOnce sync.Once
	closeErr  error
}

const (
	bridgeName = "br0"
	hostLink   = "eth0"
	// switchSuffix names the switch namespace, so no host may be called so.
	switchSuffix = "switch"
)

var hostName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,14}$`)

// New builds a lab for t and registers its teardown with t.Cleanup. It skips
// t when not running as root and fails it when the lab cannot be built. On
// failure the teardown first logs the tail of every process's log.
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab: network namespace tests need root; run them as root (e.g. sudo go test)")
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	l, err := Create(opts)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	if l.reapErr != nil {
		t.Logf("lab: reaping leftovers of killed runs: %v", l.reapErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			l.logTails(t)
		}
		if err := l.Close(); err != nil {
			t.Errorf("lab: teardown: %v", err)
		}
	})
	return l
}

// Create builds a lab without a testing.TB, for programs such as the demo;
// the caller must Close it. It first reaps the leftovers of killed runs.
func Create(opts Options) (*Lab, error) {
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"h1", "h2", "h3"}
	}
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		dir, err := os.MkdirTemp("", "tandem-lab-")
		if err != nil {
			return nil, fmt.Errorf("create lab dir: %w", err)
		}
		opts.Dir = dir
	}
	reapErr := reapLeftovers()
	if err := ensureNetnsDir(); err != nil {
		return nil, errors.Join(err, reapErr)
	}
	l := &Lab{
		ID:     fmt.Sprintf("tlab-%d-%08x", os.Getpid(), rand.Uint32()),
		Subnet: opts.Subnet.Masked(),
		Dir:    opts.Dir,
		ids:    map[nsID]bool{},
		// A failure to reap others' leftovers must not stop this lab.
		reapErr: reapErr,
	}
	if err := l.build(opts); err != nil {
		return nil, errors.Join(err, l.Close())
	}
	return l, nil
}

// build makes the switch and the hosts.
func (l *Lab) build(opts Options) error {
	if err := l.buildSwitch(opts); err != nil {
		return err
	}
	for i, name := range opts.Hosts {
		if err := l.addHost(name, l.IP(i+1), opts); err != nil {
			return err
		}
	}
	for _, h := range l.hosts {
		if err := l.waitLink(h, true); err != nil {
			return err
		}
	}
	return nil
}

func checkOptions(opts Options) error {
	ten := netip.MustParsePrefix("10.0.0.0/8")
	s := opts.Subnet
	if !s.IsValid() || !s.Addr().Is4() || s.Bits() < 8 || !ten.Contains(s.Addr()) {
		return fmt.Errorf("subnet %v: want an IPv4 prefix inside 10.0.0.0/8", s)
	}
	if free := 1<<(32-s.Bits()) - 2; len(opts.Hosts) > free {
		return fmt.Errorf("subnet %v: room for %d hosts, not %d", s, free, len(opts.Hosts))
	}
	seen := map[string]bool{}
	for _, h := range opts.Hosts {
		if !hostName.MatchString(h) || h == switchSuffix || h == bridgeName || h == "lo" {
			return fmt.Errorf("host name %q: want up to 15 of [a-z0-9-], not %s, %s or lo", h, switchSuffix, bridgeName)
		}
		if seen[h] {
			return fmt.Errorf("host name %q given twice", h)
		}
		seen[h] = true
	}
	return nil
}

// newNetns creates the lab's namespace called suffix, with lo up and IPv6
// off unless asked for.
func (l *Lab) newNetns(suffix string, opts Options) (string, netns.NsHandle, *netlink.Handle, error) {
	name := l.ID + "-" + suffix
	ns, err := createNetns(name)
	if err != nil {
		return "", ns, nil, err
	}
	if id, err := nsIDOf(filepath.Join(netnsDir, name)); err == nil {
		l.ids[id] = true
	}
	// Recorded at once so that Close deletes it whatever fails next.
	if suffix == switchSuffix {
		l.switchName, l.switchNS = name, ns
	} else {
		l.hosts = append(l.hosts, &Host{Name: suffix, NSName: name, NS: ns, lab: l})
	}
	if !opts.IPv6 {
		err := doIn(ns, func() error {
			for _, p := range []string{"all", "default"} {
				err := os.WriteFile("/proc/sys/net/ipv6/conf/"+p+"/disable_ipv6", []byte("1"), 0)
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return name, ns, nil, fmt.Errorf("netns %s: disable IPv6: %w", name, err)
		}
	}
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return name, ns, nil, fmt.Errorf("netns %s: netlink handle: %w", name, err)
	}
	lo, err := nh.LinkByName("lo")
	if err == nil {
		err = nh.LinkSetUp(lo)
	}
	if err != nil {
		nh.Close()
		return name, ns, nil, fmt.Errorf("netns %s: set lo up: %w", name, err)
	}
	return name, ns, nh, nil
}

// buildSwitch creates the switch namespace and its bridge.
func (l *Lab) buildSwitch(opts Options) error {
	_, _, nh, err := l.newNetns(switchSuffix, opts)
	if err != nil {
		return err
	}
	l.sw = nh
	off := false
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}, MulticastSnooping: &off}
	if err := nh.LinkAdd(br); err != nil {
		return fmt.Errorf("switch: add bridge: %w", err)
	}
	if err := nh.LinkSetUp(br); err != nil {
		return fmt.Errorf("switch: set bridge up: %w", err)
	}
	return nil
}

// addHost creates host name with address ip and plugs it into the bridge.
func (l *Lab) addHost(name string, ip netip.Addr, opts Options) error {
	_, ns, nh, err := l.newNetns(name, opts)
	if err != nil {
		return err
	}
	h := l.hosts[len(l.hosts)-1]
	a := ip.As4()
	h.IP, h.MAC, h.Link, h.nl = ip, net.HardwareAddr{0x02, 0x00, a[0], a[1], a[2], a[3]}, hostLink, nh

	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: name},
		PeerName:         hostLink,
		PeerHardwareAddr: h.MAC,
		PeerNamespace:    netlink.NsFd(int(ns)),
	}
	if err := l.sw.LinkAdd(veth); err != nil {
		return fmt.Errorf("host %s: add veth: %w", name, err)
	}
	if err := l.setPort(name, true, true); err != nil {
		return err
	}
	eth, err := nh.LinkByName(hostLink)
	if err != nil {
		return fmt.Errorf("host %s: find %s: %w", name, hostLink, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(l.Subnet.Bits(), 32)}}
	if err := nh.AddrAdd(eth, addr); err != nil {
		return fmt.Errorf("host %s: add %v: %w", name, addr, err)
	}
	if err := nh.LinkSetUp(eth); err != nil {
		return fmt.Errorf("host %s: set %s up: %w", name, hostLink, err)
	}
	return nil
}

// IP returns the subnet's n-th address: IP(1) is the first host's, and the
// numbers after the last host are free, e.g. for VIPs. It panics when n is
// outside the subnet.
func (l *Lab) IP(n int) netip.Addr {
	a := l.Subnet.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) + uint32(n)
	ip := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	if n < 0 || !l.Subnet.Contains(ip) {
		panic(fmt.Sprintf("lab: address %d is outside %v", n, l.Subnet))
	}
	return ip
}

// Host returns the host called name; it panics when there is none.
func (l *Lab) Host(name string) *Host {
	for _, h := range l.hosts {
		if h.Name == name {
			return h
		}
	}
	panic(fmt.Sprintf("lab %s: no host %q", l.ID, name))
}

// Hosts returns the hosts in address order.
func (l *Lab) Hosts() []*Host { return append([]*Host(nil), l.hosts...) }

// SwitchNS returns the name of the switch namespace (under /run/netns),
// which holds the bridge br0 and one port per host, named after the host.
func (l *Lab) SwitchNS() string { return l.switchName }

// Close kills every process in the lab and deletes its namespaces. It is
// idempotent; New calls it from t.Cleanup.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.close() })
	return l.closeErr
}

func (l *Lab) close() error {
	l.mu.Lock()
	l.closed = true
	procs := l.procs
	l.mu.Unlock()

	var errs []error
	for _, p := range procs {
		if err := p.signalGroup(unix.SIGKILL); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.Pid()))
		}
	}
	if err := killProcsIn(l.ids, 10*time.Second); err != nil {
		errs = append(errs, err)
	}

	names := []string{}
	l.swMu.Lock()
	if l.sw != nil {
		l.sw.Close()
		l.sw = nil
	}
	l.swMu.Unlock()
	if l.switchName != "" {
		l.switchNS.Close()
		names = append(names, l.switchName)
	}
	for _, h := range l.hosts {
		h.nlMu.Lock()
		if h.nl != nil {
			h.nl.Close()
			h.nl = nil
		}
		h.nlMu.Unlock()
		h.NS.Close()
		names = append(names, h.NSName)
	}
	for _, name := range names {
		if err := deleteNetns(name); err != nil {
			errs = append(errs, err)
		}
		removeKeepalivedDir(name)
	}
	return errors.Join(errs...)
}

// logTails logs the end of every process log, to explain a failed test.
func (l *Lab) logTails(t testing.TB) {
	l.mu.Lock()
	procs := append([]*Proc(nil), l.procs...)
	l.mu.Unlock()
	for _, p := range procs {
		log := p.Log()
		if len(log) > 4096 {
			log = "..." + log[len(log)-4096:]
		}
		t.Logf("lab: %s (%s):\n%s", p.Name, p.LogPath(), log)
	}
}
