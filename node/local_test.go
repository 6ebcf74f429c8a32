package node

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startLocal starts a local-only node (the keepalived drop-in mode).
func startLocal(t *testing.T, dir string, seed *Seed, rec *recorder) *Node {
	t.Helper()
	o := Options{NodeID: "solo", DataDir: dir, Seed: seed, Subsystems: rec, Logger: testLogger(t, "solo"), Timing: fastTiming()}
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestLocalOnlyAPI drives a single-node cluster through the unix socket
// API: seed, apply, history, diff, rollback, errors naming fields.
func TestLocalOnlyAPI(t *testing.T) {
	dir := t.TempDir()
	rec := &recorder{}
	n := startLocal(t, dir, &Seed{Name: "/etc/keepalived/keepalived.conf", Text: smallConf("seed"), Authoritative: true}, rec)
	fi, err := os.Stat(filepath.Join(dir, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	c := NewClient(n.SocketPath())
	ctx := context.Background()
	eventually(t, 10*time.Second, "seed applied", func() error {
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if st.Running.Version != 1 || !st.Quorum || st.Leader != "solo" {
			return errors.New("not yet")
		}
		return nil
	})
	res, err := c.Apply(ctx, ApplyRequest{Name: "k.conf", Text: smallConf("two"), Message: "second"})
	if err != nil || res.Version.Version != 2 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	_, err = c.Apply(ctx, ApplyRequest{Name: "k.conf", Text: "vrrp_instance X {\n  priority 300\n}\n"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Field != "text" || !strings.Contains(ae.Error(), "k.conf:") {
		t.Fatalf("invalid apply: %v", err)
	}
	if _, err := c.Apply(ctx, ApplyRequest{Text: ""}); !errors.As(err, &ae) || ae.Field != "text" {
		t.Fatalf("empty apply: %v", err)
	}
	if _, err := c.Config(ctx, 9); !errors.As(err, &ae) || ae.Field != "version" || ae.Status != 404 {
		t.Fatalf("missing version: %v", err)
	}
	d, err := c.Diff(ctx, "1", "2")
	if err != nil || !strings.Contains(d.Diff, "-\trouter_id seed") || !strings.Contains(d.Diff, "+\trouter_id two") {
		t.Fatalf("diff: %q %v", d.Diff, err)
	}
	rb, err := c.Rollback(ctx, RollbackRequest{Version: 1, Message: "back"})
	if err != nil || rb.Version.Version != 3 || rb.Version.RollbackTo != 1 {
		t.Fatalf("rollback: %+v %v", rb, err)
	}
	eventually(t, 5*time.Second, "rollback running", func() error {
		if got := rec.last().Global.RouterID; got != "seed" {
			return errors.New("runs " + got)
		}
		return nil
	})
	h, err := c.History(ctx)
	if err != nil || len(h) != 3 || h[0].Version != 3 {
		t.Fatalf("history %+v %v", h, err)
	}
	peers, err := c.Peers(ctx)
	if err != nil || len(peers) != 1 || !peers[0].Leader {
		t.Fatalf("peers %+v %v", peers, err)
	}
	if err := c.RemovePeer(ctx, "nope"); !errors.As(err, &ae) || ae.Field != "id" {
		t.Fatalf("remove unknown peer: %v", err)
	}
}

// TestStaleSocket starts over a socket file nobody listens on (a SIGKILLed
// agent's), and refuses to start over a live one.
func TestStaleSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{NodeID: "solo", DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "another tandem agent") {
		t.Fatalf("start over a live socket: %v", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal("socket file gone; test needs it stale")
	}
	startLocal(t, dir, nil, &recorder{})
}

// TestSeedIgnoredOnceConfigured: a non-authoritative seed is committed
// only into an empty cluster.
func TestSeedIgnoredOnceConfigured(t *testing.T) {
	dir := t.TempDir()
	n := startLocal(t, dir, &Seed{Name: "a.conf", Text: smallConf("a")}, &recorder{})
	eventually(t, 10*time.Second, "seeded", func() error {
		if n.Running().Version != 1 {
			return errors.New("not yet")
		}
		return nil
	})
	n.Close()
	n = startLocal(t, dir, &Seed{Name: "b.conf", Text: smallConf("b")}, &recorder{})
	time.Sleep(2 * time.Second)
	if h := n.FSM().History(); len(h) != 1 {
		t.Fatalf("seed applied over an existing config: %d versions", len(h))
	}
}

// TestLongDataDir serves the socket of a data dir whose path is longer
// than a unix socket address can be.
func TestLongDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("long-directory-name-", 6))
	n := startLocal(t, dir, &Seed{Name: "k.conf", Text: smallConf("x"), Authoritative: true}, &recorder{})
	if len(n.SocketPath()) <= maxSocketPath {
		t.Fatalf("path %d bytes: not long enough for the test", len(n.SocketPath()))
	}
	c := NewClient(n.SocketPath())
	eventually(t, 5*time.Second, "status over the long path", func() error {
		st, err := c.Status(context.Background())
		if err == nil && st.Running.Version != 1 {
			return errors.New("seed not running")
		}
		return err
	})
	// Applying right after start waits for the single node's election.
	n.Close()
	n = startLocal(t, dir, nil, &recorder{})
	if _, err := n.Apply(context.Background(), ApplyRequest{Text: smallConf("y")}); err != nil {
		t.Fatal(err)
	}
}
