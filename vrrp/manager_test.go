package vrrp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/config"
)

// fakeNetwork records what a Manager does with the network.
type fakeNetwork struct {
	mu      sync.Mutex
	conns   map[string][]*fakeNetConn // by instance name, oldest first
	have    map[netip.Prefix]bool
	removed []netip.Prefix // every Remove, stale or not
}

func newFakeNetwork() *fakeNetwork {
	return &fakeNetwork{conns: map[string][]*fakeNetConn{}, have: map[netip.Prefix]bool{}}
}

func (n *fakeNetwork) Open(cfg InstanceConfig, opts ConnOptions) (Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := &fakeNetConn{closed: make(chan struct{})}
	n.conns[cfg.Name] = append(n.conns[cfg.Name], c)
	return c, nil
}

func (n *fakeNetwork) Addrs() AddrSpecManager { return n }
func (n *fakeNetwork) ARP() ARPSender         { return n }

func (n *fakeNetwork) Add(a AddrSpec) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.have[a.Prefix] = true
	return nil
}

func (n *fakeNetwork) Remove(a AddrSpec) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.have, a.Prefix)
	n.removed = append(n.removed, a.Prefix)
	return nil
}

func (n *fakeNetwork) SendGARP(string, netip.Addr) error { return nil }

func (n *fakeNetwork) conn(name string, i int) *fakeNetConn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[name][i]
}

func (n *fakeNetwork) holds(p string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.have[netip.MustParsePrefix(p)]
}

// fakeNetConn receives nothing and records the priorities it sent.
type fakeNetConn struct {
	mu     sync.Mutex
	prios  []uint8
	closed chan struct{}
	once   sync.Once
}

func (c *fakeNetConn) Send(b []byte, dst netip.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prios = append(c.prios, b[2])
	return nil
}

func (c *fakeNetConn) Receive(ctx context.Context, buf []byte) (Packet, error) {
	select {
	case <-ctx.Done():
		return Packet{}, ctx.Err()
	case <-c.closed:
		return Packet{}, errors.New("closed")
	}
}

func (c *fakeNetConn) LocalAddr() netip.Addr { return netip.MustParseAddr("10.0.0.1") }

func (c *fakeNetConn) Close() error { c.once.Do(func() { close(c.closed) }); return nil }

func (c *fakeNetConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *fakeNetConn) sent() []uint8 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint8(nil), c.prios...)
}

func parseConf(t *testing.T, src string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse("test.conf", []byte(src), config.Options{NodeID: "n"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

func vi(name string, vrid, prio int, vip string) string {
	return "vrrp_instance " + name + " {\n interface eth0\n virtual_router_id " + strconv.Itoa(vrid) + "\n priority " + strconv.Itoa(prio) +
		"\n advert_int 1\n virtual_ipaddress {\n  " + vip + "\n }\n}\n"
}

func statusOf(m *Manager, name string) (InstanceStatus, bool) {
	for _, s := range m.Status() {
		if s.Name == name {
			return s, true
		}
	}
	return InstanceStatus{}, false
}

func waitState(t *testing.T, m *Manager, name string, want State) *Instance {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s, ok := statusOf(m, name); ok && s.State == want {
			return s.Instance
		}
		if time.Now().After(deadline) {
			s, _ := statusOf(m, name)
			t.Fatalf("%s: state %v, want %v", name, s.State, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestManagerReload: an unchanged instance keeps running as master with
// its VIP; a changed one resigns and starts afresh; a new one starts
// after its stale VIP is removed; a removed one stops; a configuration
// tandem cannot run changes nothing; Stop resigns every master.
func TestManagerReload(t *testing.T) {
	clock := newFakeClock()
	n := newFakeNetwork()
	m := NewManager(n, ManagerOptions{Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	v1, v2, v3, v4 := vi("VI_1", 1, 100, "10.0.0.101"), vi("VI_2", 2, 100, "10.0.0.102"), vi("VI_3", 3, 100, "10.0.0.103"), vi("VI_4", 4, 100, "10.0.0.104")
	if err := m.Start(parseConf(t, v1+v2+v4)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"VI_1", "VI_2", "VI_4"} {
		waitState(t, m, name, StateBackup)
	}
	clock.Advance(4 * time.Second)
	in1 := waitState(t, m, "VI_1", StateMaster)
	waitState(t, m, "VI_2", StateMaster)
	if !n.holds("10.0.0.101/32") || !n.holds("10.0.0.102/32") {
		t.Fatal("masters do not hold their VIPs")
	}

	// VI_1 unchanged, VI_2 at a new priority, VI_3 new, VI_4 removed.
	n.mu.Lock()
	n.removed = nil
	n.mu.Unlock()
	if err := m.Reload(parseConf(t, v1+vi("VI_2", 2, 150, "10.0.0.102")+v3)); err != nil {
		t.Fatal(err)
	}
	if s, _ := statusOf(m, "VI_1"); s.Instance != in1 || s.State != StateMaster {
		t.Errorf("unchanged VI_1 was restarted or left MASTER: %v", s.State)
	}
	if c := n.conn("VI_1", 0); c.isClosed() || strings.Contains(string(c.sent()), "\x00") {
		t.Errorf("unchanged VI_1: conn closed %v, priorities sent %v", c.isClosed(), c.sent())
	}
	if !n.holds("10.0.0.101/32") {
		t.Error("unchanged VI_1 lost its VIP")
	}
	old2 := n.conn("VI_2", 0)
	if p := old2.sent(); !old2.isClosed() || p[len(p)-1] != 0 {
		t.Errorf("changed VI_2: old conn closed %v, last priority %v", old2.isClosed(), p)
	}
	waitState(t, m, "VI_2", StateBackup)
	if s, ok := statusOf(m, "VI_2"); !ok || s.Priority != 150 || s.State != StateBackup {
		t.Errorf("changed VI_2 restarted as %v at priority %d, want BACKUP at 150", s.State, s.Priority)
	}
	if _, ok := statusOf(m, "VI_4"); ok || !n.conn("VI_4", 0).isClosed() {
		t.Error("removed VI_4 still runs")
	}
	n.mu.Lock()
	removed := append([]netip.Prefix(nil), n.removed...)
	n.mu.Unlock()
	for _, p := range removed {
		if p == netip.MustParsePrefix("10.0.0.101/32") {
			t.Error("reload removed the unchanged VI_1's VIP")
		}
	}
	if !containsPrefix(removed, "10.0.0.103/32") {
		t.Errorf("no stale-VIP removal before starting VI_3: %v", removed)
	}

	// A configuration with an instance tandem cannot run changes nothing.
	bad := v1 + "vrrp_instance VI_5 {\n interface eth0\n virtual_router_id 5\n authentication {\n  auth_type AH\n  auth_pass x\n }\n virtual_ipaddress {\n  10.0.0.105\n }\n}\n"
	if err := m.Reload(parseConf(t, bad)); err == nil || !strings.Contains(err.Error(), "test.conf:") {
		t.Errorf("reload with AH: err %v, want one naming test.conf:LINE", err)
	}
	if len(m.Status()) != 3 {
		t.Errorf("a refused reload changed the instances: %d running", len(m.Status()))
	}

	m.Stop()
	if p := n.conn("VI_1", 0).sent(); p[len(p)-1] != 0 {
		t.Errorf("Stop: VI_1's last advert has priority %d, want 0", p[len(p)-1])
	}
	if n.holds("10.0.0.101/32") || len(m.Status()) != 0 {
		t.Error("Stop left a VIP or an instance")
	}
}

func containsPrefix(list []netip.Prefix, p string) bool {
	for _, x := range list {
		if x == netip.MustParsePrefix(p) {
			return true
		}
	}
	return false
}
