package fsm

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// countingFSM counts restores, to see snapshots used.
type countingFSM struct {
	*FSM
	restores atomic.Int32
}

func (c *countingFSM) Restore(rc io.ReadCloser) error {
	c.restores.Add(1)
	return c.FSM.Restore(rc)
}

// raftNode is one member of the test cluster, with its data on disk.
type raftNode struct {
	id    string
	dir   string
	done  *atomic.Bool
	addr  raft.ServerAddress
	fsm   *countingFSM
	raft  *raft.Raft
	trans *raft.InmemTransport
	store *raftboltdb.BoltStore
	snaps *raft.FileSnapshotStore
}

// start opens the node's stores in its directory and starts raft.
func (n *raftNode) start(t *testing.T) {
	t.Helper()
	var err error
	n.store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(n.dir, "raft.db")})
	if err != nil {
		t.Fatal(err)
	}
	n.snaps, err = raft.NewFileSnapshotStore(n.dir, 3, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, n.trans = raft.NewInmemTransport(n.addr)
	logs := testWriter{t, n.done}
	n.fsm = &countingFSM{FSM: New(Options{KeepTexts: 20,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", n.id)})}

	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(n.id)
	c.HeartbeatTimeout = 100 * time.Millisecond
	c.ElectionTimeout = 100 * time.Millisecond
	c.LeaderLeaseTimeout = 50 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.SnapshotThreshold = 16
	c.SnapshotInterval = 100 * time.Millisecond
	c.TrailingLogs = 8
	c.Logger = hclog.New(&hclog.LoggerOptions{Name: n.id, Level: hclog.Error, Output: logs})
	n.raft, err = raft.NewRaft(c, n.fsm, n.store, n.store, n.snaps, n.trans)
	if err != nil {
		t.Fatal(err)
	}
}

// stop shuts raft down and closes the stores, keeping the directory.
func (n *raftNode) stop(t *testing.T) {
	t.Helper()
	if n.raft == nil {
		return
	}
	if err := n.raft.Shutdown().Error(); err != nil {
		t.Error(err)
	}
	if err := n.store.Close(); err != nil {
		t.Error(err)
	}
	n.raft = nil
}

// testWriter sends raft's logs to the test log until the test is done.
type testWriter struct {
	t    *testing.T
	done *atomic.Bool
}

func (w testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Logf("%s", p)
	}
	return len(p), nil
}

// connect wires every running node's transport to every other's.
func connect(nodes []*raftNode) {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b && a.raft != nil && b.raft != nil {
				a.trans.Connect(b.addr, b.trans)
			}
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leader(t *testing.T, nodes []*raftNode) *raftNode {
	t.Helper()
	var l *raftNode
	waitFor(t, "a leader", func() bool {
		for _, n := range nodes {
			if n.raft != nil && n.raft.State() == raft.Leader {
				l = n
				return true
			}
		}
		return false
	})
	return l
}

func submit(t *testing.T, l *raftNode, c Command) Result {
	t.Helper()
	r, err := ResultOf(l.raft.Apply(encode(t, c), 5*time.Second))
	if err != nil {
		t.Fatalf("apply %v through %s: %v", c.Type(), l.id, err)
	}
	return r
}

// converged waits until every running node applied what the leader did and
// checks they agree on everything a user can see.
func converged(t *testing.T, nodes []*raftNode, l *raftNode) view {
	t.Helper()
	target := l.raft.AppliedIndex()
	waitFor(t, "followers to catch up", func() bool {
		for _, n := range nodes {
			if n.raft != nil && n.fsm.Index() < target {
				return false
			}
		}
		return true
	})
	want := viewOf(l.fsm.FSM)
	for _, n := range nodes {
		if n.raft == nil {
			continue
		}
		if got := viewOf(n.fsm.FSM); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s differs from leader %s:\n got %+v\nwant %+v", n.id, l.id, got, want)
		}
	}
	return want
}

func TestRaftCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node raft cluster")
	}
	nodes := make([]*raftNode, 3)
	done := new(atomic.Bool)
	t.Cleanup(func() { done.Store(true) }) // runs after the nodes stop
	var servers []raft.Server
	for i := range nodes {
		n := &raftNode{id: fmt.Sprintf("node%d", i), dir: t.TempDir(), done: done, addr: raft.ServerAddress(fmt.Sprintf("inmem-%d", i))}
		nodes[i] = n
		servers = append(servers, raft.Server{ID: raft.ServerID(n.id), Address: n.addr})
		n.start(t)
		t.Cleanup(func() { n.stop(t) })
	}
	connect(nodes)
	if err := nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}

	// 50 configs through the first leader, with some of everything else.
	l := leader(t, nodes)
	for i := 1; i <= 50; i++ {
		c := ApplyConfig{Text: configText(i), Author: "op", RequestID: fmt.Sprintf("apply-%d", i)}
		if i%2 == 0 {
			c.Time = t0.Add(time.Duration(i) * time.Minute)
		} // odd ones get the leader's append time
		if r := submit(t, l, c); r.Version.Version != uint64(i) {
			t.Fatalf("config %d became version %d", i, r.Version.Version)
		}
		if i%10 == 0 {
			for _, n := range nodes {
				submit(t, l, ReportApplied{NodeID: n.id, Version: uint64(i), OK: true})
				submit(t, l, SetVerdicts{NodeID: n.id, Verdicts: []Verdict{{Key: fmt.Sprintf("vs rs%d", i), Up: i%20 == 0, Weight: i}}})
			}
		}
	}
	// A submitter's bad entry comes back as an error and changes nothing.
	if _, err := ResultOf(l.raft.Apply([]byte{7, 1, '{', '}'}, 5*time.Second)); err == nil {
		t.Fatal("future-encoding entry applied")
	}
	converged(t, nodes, l)
	waitFor(t, "every node to take a snapshot", func() bool {
		for _, n := range nodes {
			if s, _ := n.snaps.List(); len(s) == 0 {
				return false
			}
		}
		return true
	})

	// Lose the leader; the others elect a new one and carry on.
	old := l
	old.stop(t)
	for _, n := range nodes {
		if n != old {
			n.trans.Disconnect(old.addr)
		}
	}
	oldIndex := old.fsm.Index()
	l = leader(t, nodes)
	if l == old {
		t.Fatal("stopped node is leader")
	}
	t.Logf("leader %s stopped at index %d; new leader %s", old.id, oldIndex, l.id)
	for i := 51; i <= 80; i++ {
		if r := submit(t, l, ApplyConfig{Text: configText(i), RequestID: fmt.Sprintf("apply-%d", i)}); r.Version.Version != uint64(i) {
			t.Fatalf("config %d became version %d", i, r.Version.Version)
		}
	}
	// A client retrying across the failover gets its first result back.
	if r := submit(t, l, ApplyConfig{Text: configText(50), RequestID: "apply-50"}); !r.Duplicate || r.Version.Version != 50 {
		t.Fatalf("retry after failover: %+v", r)
	}
	if r := submit(t, l, RollbackConfig{ToVersion: 70, Author: "op"}); r.Version.Version != 81 || r.Version.RolledBackFrom != 80 {
		t.Fatalf("rollback: %+v", r.Version)
	}
	// Compact the leader's log past what the old node has, so that it must
	// be sent a snapshot.
	waitFor(t, "the new leader to compact its log", func() bool {
		first, err := l.store.FirstIndex()
		if err != nil {
			t.Fatal(err)
		}
		if first > oldIndex+1 {
			return true
		}
		submit(t, l, SetVerdicts{NodeID: l.id, Verdicts: []Verdict{{Key: "vs rs-extra", Up: true}}})
		return false
	})

	// The old node restarts from its directory: it restores its own
	// snapshot, then catches up from the leader's snapshot.
	old.start(t)
	if old.fsm.restores.Load() != 1 || old.fsm.Index() == 0 {
		t.Fatalf("restart restored %d snapshots, FSM at index %d", old.fsm.restores.Load(), old.fsm.Index())
	}
	if h := old.fsm.History(); len(h) == 0 || h[0].Version > 50 {
		t.Fatalf("restarted node starts with newest version %d, want its own snapshot's", h[0].Version)
	}
	connect(nodes)
	want := converged(t, nodes, l)
	if old.fsm.restores.Load() < 2 {
		t.Errorf("old node caught up without installing a snapshot (restores %d)", old.fsm.restores.Load())
	}
	if len(want.History) != 81 || want.Latest.Text != configText(70) || len(want.Applied) != 3 {
		t.Fatalf("final state: %d versions, latest %q, applied %v", len(want.History), want.Latest.Text, want.Applied)
	}
	if rej, n := old.fsm.Rejections(); n != 1 || len(rej) != 1 {
		t.Errorf("restarted node rejections %v (%d)", rej, n)
	}
	for _, n := range nodes {
		if s, _ := n.snaps.List(); len(s) == 0 {
			t.Errorf("%s has no snapshot", n.id)
		}
	}
	t.Logf("converged at index %d with %d versions; old node restored %d snapshots",
		l.raft.AppliedIndex(), len(want.History), old.fsm.restores.Load())
}
