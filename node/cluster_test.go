package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBootstrapExpectJoinApply forms a cluster from BootstrapExpect 3, adds
// a fourth node that becomes a voter, and applies a config that every node
// runs and reports.
func TestBootstrapExpectJoinApply(t *testing.T) {
	c := newTestCluster(t)
	first := c.ip(1).String()
	for i := 1; i <= 3; i++ {
		c.start(c.options(i, func(o *Options) {
			o.BootstrapExpect = 3
			if i > 1 {
				o.Join = []string{first}
			}
		}))
	}
	l := c.leader()
	eventually(t, 20*time.Second, "3 voters", func() error { return votersAre(l, 3) })

	c.start(c.options(4, func(o *Options) { o.Join = []string{first} }))
	eventually(t, 30*time.Second, "n4 becomes a voter", func() error { return votersAre(c.leader(), 4) })

	// Apply on a follower: forwarded to the leader.
	var follower *Node
	for _, n := range c.nodes {
		if n != c.leader() {
			follower = n
		}
	}
	ctx := context.Background()
	res, err := follower.Apply(ctx, ApplyRequest{Name: "k.conf", Text: smallConf("v1"), Author: "test", RequestID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version.Version != 1 {
		t.Fatalf("version %d, want 1", res.Version.Version)
	}
	// A retry with the same request ID does not create another version.
	res2, err := c.nodes["n2"].Apply(ctx, ApplyRequest{Text: smallConf("v1"), RequestID: "r1"})
	if err != nil || !res2.Duplicate || res2.Version.Version != 1 {
		t.Fatalf("retry: %+v, %v; want duplicate of version 1", res2, err)
	}
	eventually(t, 10*time.Second, "every node applied and reported v1", func() error {
		for id, n := range c.nodes {
			st := n.Status()
			if st.LatestVersion != 1 {
				return fmt.Errorf("%s latest %d", id, st.LatestVersion)
			}
			for _, ns := range st.Nodes {
				if ns.AppliedVersion != 1 || !ns.AppliedOK {
					return fmt.Errorf("%s sees %s applied %d ok=%v", id, ns.NodeID, ns.AppliedVersion, ns.AppliedOK)
				}
			}
		}
		return nil
	})
	for id, r := range c.recs {
		if got := r.last().Global.RouterID; got != "v1" {
			t.Errorf("%s runs router_id %q", id, got)
		}
		if r.count() != 1 {
			t.Errorf("%s applied %d times, want 1", id, r.count())
		}
	}
}

func votersAre(n *Node, want int) error {
	peers, err := n.Peers()
	if err != nil {
		return err
	}
	voters := 0
	for _, p := range peers {
		if p.Suffrage == "voter" {
			voters++
		}
	}
	if voters != want {
		return fmt.Errorf("%d voters of %d peers, want %d voters: %+v", voters, len(peers), want, peers)
	}
	return nil
}

// threeNodes starts a 3-node cluster and returns its leader.
func threeNodes(t testing.TB, c *testCluster, mod func(*Options)) *Node {
	first := c.ip(1).String()
	for i := 1; i <= 3; i++ {
		c.start(c.options(i, func(o *Options) {
			o.BootstrapExpect = 3
			if i > 1 {
				o.Join = []string{first}
			}
			if mod != nil {
				mod(o)
			}
		}))
	}
	l := c.leader()
	eventually(t, 20*time.Second, "3 voters", func() error { return votersAre(l, 3) })
	return l
}

// TestInvalidConfigRefused checks that a config broken for one node ID
// (an @node conditional line) is refused with FILE:LINE naming the node,
// and nothing is committed.
func TestInvalidConfigRefused(t *testing.T) {
	c := newTestCluster(t)
	l := threeNodes(t, c, nil)
	ctx := context.Background()
	if _, err := l.Apply(ctx, ApplyRequest{Name: "good.conf", Text: smallConf("ok")}); err != nil {
		t.Fatal(err)
	}
	bad := smallConf("ok") + "@n2 vrrp_instance VI_2 {\n@n2 }\n@n2 bogus_keyword_here 1\n"
	for _, n := range c.nodes {
		_, err := n.Apply(ctx, ApplyRequest{Name: "bad.conf", Text: bad})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != CodeInvalidConfig {
			t.Fatalf("apply via %s: %v, want invalid_config", n.ID(), err)
		}
		if !strings.Contains(err.Error(), "bad.conf:") || !strings.Contains(err.Error(), "n2") {
			t.Errorf("error does not name bad.conf:LINE and node n2:\n%v", err)
		}
		if ae.Field != "text" {
			t.Errorf("field %q, want text", ae.Field)
		}
		t.Logf("refused via %s:\n%v", n.ID(), err)
	}
	time.Sleep(500 * time.Millisecond) // let anything wrongly committed arrive
	for _, n := range c.nodes {
		if h := n.FSM().History(); len(h) != 1 {
			t.Errorf("%s has %d versions, want 1", n.ID(), len(h))
		}
	}
}

// TestPlainCluster runs without TLS or gossip key (loopback, or
// --insecure): a single-node cluster that a second node joins later.
func TestPlainCluster(t *testing.T) {
	c := newTestCluster(t)
	plain := func(o *Options) { o.TLS, o.EncryptKey, o.Insecure = nil, nil, true }
	c.start(c.options(1, plain))
	c.start(c.options(2, func(o *Options) { plain(o); o.Join = []string{c.ip(1).String()} }))
	eventually(t, 20*time.Second, "n2 a voter", func() error { return votersAre(c.nodes["n1"], 2) })
	res, err := c.nodes["n2"].Apply(context.Background(), ApplyRequest{Text: smallConf("plain")})
	if err != nil || res.Version.Version != 1 {
		t.Fatalf("apply via n2: %+v %v", res, err)
	}
	eventually(t, 10*time.Second, "both run it", func() error { return allRun(c, 1) })
}
