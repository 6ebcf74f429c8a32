package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/config"
)

// pki is a test cluster CA.
type pki struct {
	caCert, caKey []byte
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	c, k, err := CreateCA("tandem test CA")
	if err != nil {
		t.Fatal(err)
	}
	return &pki{c, k}
}

func (p *pki) tls(t testing.TB, id string, ip netip.Addr) *TLS {
	t.Helper()
	c, k, err := CreateCert(p.caCert, p.caKey, id, []netip.Addr{ip})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := NewTLS(p.caCert, c, k)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// loopbackNet picks a random 127.x.y.0/24 so concurrent test binaries do
// not collide on the fixed ports.
func loopbackNet() func(i int) netip.Addr {
	a, b := byte(10+rand.IntN(240)), byte(rand.IntN(256))
	return func(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, a, b, byte(i)}) }
}

// recorder is a Subsystems that remembers what it was asked to run.
type recorder struct {
	mu      sync.Mutex
	applied []*config.Config
	fail    error
}

func (r *recorder) Apply(_ context.Context, cfg *config.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.applied = append(r.applied, cfg)
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.applied)
}

func (r *recorder) last() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.applied) == 0 {
		return nil
	}
	return r.applied[len(r.applied)-1]
}

// testCluster is a set of in-process nodes on loopback addresses.
type testCluster struct {
	t     testing.TB
	base  string
	pki   *pki
	key   []byte
	ip    func(int) netip.Addr
	nodes map[string]*Node
	opts  map[string]Options
	recs  map[string]*recorder
}

func newTestCluster(t testing.TB) *testCluster {
	key, err := NewGossipKey()
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir() // before the cleanup below, so removed after it
	c := &testCluster{t: t, base: base, pki: newPKI(t), key: key, ip: loopbackNet(),
		nodes: map[string]*Node{}, opts: map[string]Options{}, recs: map[string]*recorder{}}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.Close()
		}
	})
	return c
}

func fastTiming() Timing {
	return Timing{
		HeartbeatTimeout:    500 * time.Millisecond,
		ElectionTimeout:     500 * time.Millisecond,
		ServerStabilization: time.Second,
		DeadServerGrace:     3 * time.Second,
		ApplyTimeout:        5 * time.Second,
		GossipProbeInterval: 300 * time.Millisecond,
	}
}

// options returns the options of node i ("n<i>"), with TLS and gossip key.
func (c *testCluster) options(i int, mod func(*Options)) Options {
	id := fmt.Sprintf("n%d", i)
	ip := c.ip(i)
	o := Options{
		NodeID:     id,
		DataDir:    filepath.Join(c.base, id),
		Bind:       ip,
		EncryptKey: c.key,
		TLS:        c.pki.tls(c.t, id, ip),
		Logger:     testLogger(c.t, id),
		Version:    "test",
		Timing:     fastTiming(),
	}
	if mod != nil {
		mod(&o)
	}
	return o
}

// start starts a node with o (remembering it for restart).
func (c *testCluster) start(o Options) *Node {
	c.t.Helper()
	rec := c.recs[o.NodeID]
	if rec == nil {
		rec = &recorder{}
		c.recs[o.NodeID] = rec
	}
	o.Subsystems = rec
	n, err := New(o)
	if err != nil {
		c.t.Fatalf("start %s: %v", o.NodeID, err)
	}
	c.nodes[o.NodeID], c.opts[o.NodeID] = n, o
	return n
}

func (c *testCluster) stop(id string) {
	c.nodes[id].Close()
	delete(c.nodes, id)
}

func (c *testCluster) restart(id string) *Node {
	c.t.Helper()
	return c.start(c.opts[id])
}

// testLogger logs to the test when -v is given or TANDEM_TEST_LOG is set.
func testLogger(t testing.TB, id string) *slog.Logger {
	if os.Getenv("TANDEM_TEST_LOG") == "" {
		return discardLogger()
	}
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("n", id)
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // logging after the test ended
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// eventually polls cond until it holds or the timeout expires.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v: %v", what, timeout, err)
}

// leader returns the node that leads, failing if none does in time.
func (c *testCluster) leader() *Node {
	c.t.Helper()
	var l *Node
	eventually(c.t, 15*time.Second, "a leader", func() error {
		for _, n := range c.nodes {
			if n.Status().State == "Leader" {
				l = n
				return nil
			}
		}
		return fmt.Errorf("no leader among %d nodes", len(c.nodes))
	})
	return l
}

const smallConfig = `global_defs {
	router_id %s
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority 100
	advert_int 1
	virtual_ipaddress {
		10.9.9.9/24
	}
}
`

func smallConf(tag string) string { return fmt.Sprintf(smallConfig, tag) }

// logBuf collects a node's log lines for assertions.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// capture makes o log into a buffer (and the test log when asked).
func capture(t testing.TB, o *Options) *logBuf {
	b := &logBuf{}
	var w io.Writer = b
	if os.Getenv("TANDEM_TEST_LOG") != "" {
		w = io.MultiWriter(b, tlogWriter{t})
	}
	o.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("n", o.NodeID)
	return b
}
