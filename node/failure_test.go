package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestRestartAll stops every node and starts them again: history,
// versions and the running config come back from the data dirs, and the
// running config is back before raft has a leader.
func TestRestartAll(t *testing.T) {
	c := newTestCluster(t)
	l := threeNodes(t, c, nil)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if _, err := l.Apply(ctx, ApplyRequest{Text: smallConf(fmt.Sprintf("v%d", i)), Message: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "all run v3", func() error { return allRun(c, 3) })
	for _, id := range []string{"n1", "n2", "n3"} {
		c.stop(id)
		c.recs[id] = nil
	}
	// One node alone: no quorum, yet it runs v3 again from its data dir.
	n1 := c.restart("n1")
	if got := c.recs["n1"].last(); got == nil || got.Global.RouterID != "v3" {
		t.Fatalf("n1 restarted without quorum runs %v, want router_id v3", got)
	}
	if r := n1.Running(); r.Version != 3 {
		t.Fatalf("n1 running %+v", r)
	}
	c.restart("n2")
	c.restart("n3")
	c.leader()
	eventually(t, 15*time.Second, "history back everywhere", func() error {
		for id, n := range c.nodes {
			h := n.FSM().History()
			if len(h) != 3 || h[0].Message != "3" {
				return fmt.Errorf("%s history %d versions", id, len(h))
			}
		}
		return allRun(c, 3)
	})
	for id, r := range c.recs {
		if r.count() != 1 {
			t.Errorf("%s applied %d times after restart, want once (from its data dir)", id, r.count())
		}
	}
}

func allRun(c *testCluster, v uint64) error {
	for id, n := range c.nodes {
		st := n.Status()
		if st.Running.Version != v {
			return fmt.Errorf("%s runs %d", id, st.Running.Version)
		}
		for _, ns := range st.Nodes {
			if ns.Alive && ns.AppliedVersion != v {
				return fmt.Errorf("%s sees %s at %d", id, ns.NodeID, ns.AppliedVersion)
			}
		}
	}
	return nil
}

// TestLeaderLostDuringApplies stops the leader in the middle of a stream of
// applies sent to a follower, retrying failures with the same request ID:
// every acknowledged apply is in the history exactly once.
func TestLeaderLostDuringApplies(t *testing.T) {
	c := newTestCluster(t)
	l := threeNodes(t, c, nil)
	var via *Node
	for _, n := range c.nodes {
		if n != l {
			via = n
			break
		}
	}
	ctx := context.Background()
	acked := map[string]uint64{}
	for i := range 30 {
		if i == 10 {
			c.stop(l.ID())
		}
		id := fmt.Sprintf("req-%d", i)
		req := ApplyRequest{Text: smallConf(id), Message: id, RequestID: id}
		var err error
		for try := 0; try < 20; try++ {
			var res ApplyResult
			res, err = via.Apply(ctx, req)
			if err == nil {
				acked[id] = res.Version.Version
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("apply %s: %v", id, err)
		}
	}
	c.restart(l.ID())
	eventually(t, 15*time.Second, "old leader caught up", func() error {
		return sameHistory(c, 30)
	})
	for _, n := range c.nodes {
		seen := map[string]int{}
		for _, v := range n.FSM().History() {
			seen[v.Message]++
		}
		for id := range acked {
			if seen[id] != 1 {
				t.Errorf("%s: %s in history %d times", n.ID(), id, seen[id])
			}
		}
	}
}

func sameHistory(c *testCluster, want int) error {
	for id, n := range c.nodes {
		if h := n.FSM().History(); len(h) != want {
			return fmt.Errorf("%s has %d versions, want %d", id, len(h), want)
		}
	}
	return nil
}

// TestNoQuorumFailStatic leaves one node of three: it keeps running its
// config, reports no quorum and refuses applies quickly.
func TestNoQuorumFailStatic(t *testing.T) {
	c := newTestCluster(t)
	l := threeNodes(t, c, nil)
	ctx := context.Background()
	if _, err := l.Apply(ctx, ApplyRequest{Text: smallConf("v1")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "all run v1", func() error { return allRun(c, 1) })
	c.stop("n2")
	c.stop("n3")
	n1 := c.nodes["n1"]
	eventually(t, 10*time.Second, "n1 reports no quorum", func() error {
		if st := n1.Status(); st.Quorum {
			return fmt.Errorf("quorum still true (%s)", st.State)
		}
		return nil
	})
	start := time.Now()
	_, err := n1.Apply(ctx, ApplyRequest{Text: smallConf("v2")})
	if !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("apply without quorum: %v, want no quorum", err)
	}
	if !strings.Contains(err.Error(), "no quorum") {
		t.Errorf("error %q does not say no quorum", err)
	}
	t.Logf("refused after %v: %v", time.Since(start), err)
	if r := c.recs["n1"]; r.count() != 1 || r.last().Global.RouterID != "v1" {
		t.Errorf("n1 subsystems changed without quorum")
	}
	if st := n1.Status(); st.Running.Version != 1 {
		t.Errorf("running %+v", st.Running)
	}
}

// TestRogueNodes checks that a node with the gossip key but a certificate
// of another CA, and a node without the gossip key, never get in, and that
// both sides log the refusal.
func TestRogueNodes(t *testing.T) {
	c := newTestCluster(t)
	logs := map[string]*logBuf{}
	threeNodes(t, c, func(o *Options) { logs[o.NodeID] = capture(t, o) })

	other := newPKI(t)
	rogueCert := c.options(8, func(o *Options) {
		o.TLS = other.tls(t, o.NodeID, o.Bind)
		o.Join = []string{c.ip(1).String()}
	})
	certLog := capture(t, &rogueCert)
	c.start(rogueCert)

	noKey, _ := NewGossipKey()
	rogueKey := c.options(9, func(o *Options) {
		o.EncryptKey = noKey
		o.Join = []string{c.ip(1).String()}
	})
	keyLog := capture(t, &rogueKey)
	c.start(rogueKey)

	eventually(t, 15*time.Second, "refusals logged on both sides", func() error {
		all := logs["n1"].String() + logs["n2"].String() + logs["n3"].String()
		for _, want := range []string{
			"refusing member", "member=n8", // cluster refuses the rogue with a foreign certificate
			"cluster-api", // ...whose handshakes with our API fail
			"decrypt",     // gossip from the keyless rogue
		} {
			if !strings.Contains(all, want) {
				return fmt.Errorf("cluster logs lack %q", want)
			}
		}
		if !strings.Contains(certLog.String(), "refusing member") {
			return fmt.Errorf("n8 did not log refusing the cluster")
		}
		if !strings.Contains(keyLog.String(), "join failed") {
			return fmt.Errorf("n9 did not log its failed join")
		}
		return nil
	})
	l := c.leader()
	peers, _ := l.Peers()
	for _, p := range peers {
		if p.ID == "n8" || p.ID == "n9" {
			t.Errorf("rogue %s is a raft peer", p.ID)
		}
	}
	for _, m := range l.Members() {
		if (m.NodeID == "n8" || m.NodeID == "n9") && m.Status == MemberAlive {
			t.Errorf("rogue %s listed alive: %+v", m.NodeID, m)
		}
	}
	if _, err := c.nodes["n8"].Apply(context.Background(), ApplyRequest{Text: smallConf("evil")}); err == nil {
		t.Errorf("rogue n8 could apply")
	}
	if h := l.FSM().History(); len(h) != 0 {
		t.Errorf("rogue wrote %d versions", len(h))
	}
}

// TestInsecureBindRefused refuses a non-loopback bind without TLS and key.
func TestInsecureBindRefused(t *testing.T) {
	_, err := New(Options{NodeID: "x", DataDir: t.TempDir(), Bind: netip.MustParseAddr("10.1.2.3")})
	if !errors.Is(err, ErrInsecureBind) || !strings.Contains(err.Error(), "--insecure") || !strings.Contains(err.Error(), "--encrypt") {
		t.Fatalf("got %v", err)
	}
	t.Log(err)
}

// TestLeaveAndDeadServerRemoval: a node that leaves is removed from raft at
// once; a node that dies is removed after the grace period, keeping quorum.
func TestLeaveAndDeadServerRemoval(t *testing.T) {
	c := newTestCluster(t)
	threeNodes(t, c, nil)
	c.start(c.options(4, func(o *Options) { o.Join = []string{c.ip(1).String()} }))
	eventually(t, 30*time.Second, "4 voters", func() error { return votersAre(c.leader(), 4) })

	n4 := c.nodes["n4"]
	if err := n4.Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	delete(c.nodes, "n4")
	eventually(t, 10*time.Second, "n4 gone from raft", func() error { return peersAre(c.leader(), "n1,n2,n3") })

	dead := "n3"
	if c.leader().ID() == dead {
		dead = "n2"
	}
	c.stop(dead)
	want := "n1,n2,n3"
	want = strings.Replace(strings.Replace(want, dead+",", "", 1), ","+dead, "", 1)
	eventually(t, 30*time.Second, "dead "+dead+" removed", func() error { return peersAre(c.leader(), want) })
	if _, err := c.leader().Apply(context.Background(), ApplyRequest{Text: smallConf("after")}); err != nil {
		t.Fatalf("apply with 2 of 2 voters: %v", err)
	}
}

func peersAre(n *Node, want string) error {
	ps, err := n.Peers()
	if err != nil {
		return err
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	if got := strings.Join(ids, ","); got != want {
		return fmt.Errorf("peers %s, want %s", got, want)
	}
	return nil
}
