package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/fsm"
	"github.com/tandem-ha/tandem/node"
	"github.com/tandem-ha/tandem/testing/lab"
)

// labSubnet is this package's lab subnet.
var labSubnet = netip.MustParsePrefix("10.205.1.0/24")

// builtDir holds the binary buildTandem built, removed by TestMain.
var builtDir string

// buildTandem builds the tandem binary once per test binary.
var buildTandem = sync.OnceValues(func() (string, error) {
	if bin := os.Getenv("TANDEM_BIN"); bin != "" {
		return bin, nil
	}
	dir, err := os.MkdirTemp("", "tandem-node-lab-")
	if err != nil {
		return "", err
	}
	builtDir = dir
	bin := filepath.Join(dir, "tandem")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/tandem-ha/tandem/cmd/tandem").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// labCluster runs `tandem agent` processes, one per lab host.
type labCluster struct {
	t     testing.TB
	lab   *lab.Lab
	bin   string
	dir   string
	key   string
	nodes map[string]*labNode
}

type labNode struct {
	id   string
	host *lab.Host
	dir  string
	args []string
	proc *lab.Proc
}

func newLabCluster(t testing.TB, hosts ...string) *labCluster {
	if os.Geteuid() != 0 {
		t.Skip("lab tests need root (network namespaces)")
	}
	bin, err := buildTandem()
	if err != nil {
		t.Fatal(err)
	}
	if help, _ := exec.Command(bin, "agent", "--help").CombinedOutput(); !strings.Contains(string(help), "--bootstrap-expect") {
		t.Skip("tandem agent has no cluster flags yet (cmd/tandem/agent.go not wired to node)")
	}
	l := lab.New(t, lab.Options{Subnet: labSubnet, Hosts: hosts})
	c := &labCluster{t: t, lab: l, bin: bin, dir: t.TempDir(), nodes: map[string]*labNode{}}
	c.key = strings.TrimSpace(c.run("keygen"))
	c.run("tls", "ca", "create", "--dir", c.dir)
	for _, h := range l.Hosts() {
		c.run("tls", "cert", "create", "--node", h.Name, "--ip", h.IP.String(), "--dir", c.dir)
		c.nodes[h.Name] = &labNode{id: h.Name, host: h, dir: filepath.Join(c.dir, "data-"+h.Name)}
	}
	return c
}

// run runs the tandem binary outside the lab (no network needed).
func (c *labCluster) run(args ...string) string {
	c.t.Helper()
	out, err := exec.Command(c.bin, args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("tandem %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// agentArgs returns the secure cluster flags of node id.
func (c *labCluster) agentArgs(id string, extra ...string) []string {
	n := c.nodes[id]
	args := []string{c.bin, "agent", "--node-id", id, "--data-dir", n.dir, "--bind", n.host.IP.String(),
		"--encrypt", c.key,
		"--tls-ca", filepath.Join(c.dir, "tandem-ca.pem"),
		"--tls-cert", filepath.Join(c.dir, id+".pem"),
		"--tls-key", filepath.Join(c.dir, id+"-key.pem"),
		"--log-level", "debug"}
	return append(args, extra...)
}

// start starts node id's agent with argv (remembered for restart).
func (c *labCluster) start(id string, argv []string) {
	c.t.Helper()
	n := c.nodes[id]
	n.args = argv
	p, err := n.host.Start(context.Background(), argv...)
	if err != nil {
		c.t.Fatal(err)
	}
	n.proc = p
}

func (c *labCluster) restart(id string) { c.start(id, c.nodes[id].args) }

// stop SIGTERMs node id's agent and waits for it.
func (c *labCluster) stop(id string) {
	c.t.Helper()
	p := c.nodes[id].proc
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(15 * time.Second):
		c.t.Fatalf("%s did not stop on SIGTERM", id)
	}
}

// ctl runs `tandem ctl --json ARGS` against node id's socket.
func (c *labCluster) ctl(id string, args ...string) ([]byte, error) {
	n := c.nodes[id]
	cmd := exec.Command(c.bin, append([]string{"ctl", "--data-dir", n.dir, "--json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("ctl %s on %s: %w: %s", strings.Join(args, " "), id, err, stderr.String())
	}
	return out, nil
}

func (c *labCluster) status(id string) (node.Status, error) {
	var st node.Status
	out, err := c.ctl(id, "status")
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(out, &st)
}

func (c *labCluster) history(id string) ([]fsm.ConfigVersion, error) {
	var h []fsm.ConfigVersion
	out, err := c.ctl(id, "config", "history")
	if err != nil {
		return nil, err
	}
	return h, json.Unmarshal(out, &h)
}

// leader returns the leader's ID as node id sees it, waiting for one.
func (c *labCluster) leader(from string) string {
	c.t.Helper()
	var l string
	labEventually(c.t, 20*time.Second, "a leader seen from "+from, func() error {
		st, err := c.status(from)
		if err != nil {
			return err
		}
		if st.Leader == "" || !st.Quorum {
			return errors.New("no leader")
		}
		l = st.Leader
		return nil
	})
	return l
}

func labEventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v: %v", what, timeout, err)
}

// writeConf writes a keepalived.conf running one VRRP instance with vip on
// every node, tagged so versions differ.
func (c *labCluster) writeConf(name, tag string, extra string) string {
	vip := c.lab.IP(100)
	text := fmt.Sprintf(`global_defs {
	router_id %s
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority 100
	advert_int 1
	virtual_ipaddress {
		%s/24
	}
}
%s`, tag, vip, extra)
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// sameEverywhere checks that every listed node reports quorum, the same
// latest version v, and that it and all its peers run v.
func (c *labCluster) sameEverywhere(v uint64, ids ...string) error {
	for _, id := range ids {
		st, err := c.status(id)
		if err != nil {
			return err
		}
		if !st.Quorum || st.LatestVersion != v || st.Running.Version != v {
			return fmt.Errorf("%s: quorum %v latest %d running %d, want %d", id, st.Quorum, st.LatestVersion, st.Running.Version, v)
		}
		for _, ns := range st.Nodes {
			if ns.Alive && ns.AppliedVersion != v {
				return fmt.Errorf("%s sees %s at version %d", id, ns.NodeID, ns.AppliedVersion)
			}
		}
	}
	return nil
}

// TestLabCluster runs real agents in network namespaces with real TLS:
// formation from --bootstrap-expect, a fourth node joining as voter,
// refused configs and rogue nodes, the leader killed during a stream of
// applies, a partitioned node, and a full restart.
func TestLabCluster(t *testing.T) {
	c := newLabCluster(t, "n1", "n2", "n3", "n4", "r1", "r2")
	ids := []string{"n1", "n2", "n3", "n4"}
	first := c.nodes["n1"].host.IP.String()
	seed := c.writeConf("seed.conf", "seed", "")
	other := c.writeConf("other.conf", "other", "")

	t.Run("form", func(t *testing.T) {
		c.t = t
		c.start("n1", c.agentArgs("n1", "--bootstrap-expect", "3", "-f", seed))
		c.start("n2", c.agentArgs("n2", "--bootstrap-expect", "3", "--join", first))
		c.start("n3", c.agentArgs("n3", "--bootstrap-expect", "3", "--join", first))
		labEventually(t, 30*time.Second, "3 voters running the seed", func() error {
			st, err := c.status("n3")
			if err != nil {
				return err
			}
			voters := 0
			for _, ns := range st.Nodes {
				if ns.Voter {
					voters++
				}
			}
			if voters != 3 {
				return fmt.Errorf("%d voters", voters)
			}
			return c.sameEverywhere(1, "n1", "n2", "n3")
		})
		cv, err := c.ctl("n2", "config", "show")
		if err != nil || !strings.Contains(string(cv), "router_id seed") {
			t.Fatalf("version 1 is not the seed: %s %v", cv, err)
		}
		// A later node's -f does not replace the cluster's config.
		c.start("n4", c.agentArgs("n4", "--join", first, "-f", other))
		labEventually(t, 30*time.Second, "n4 becomes a voter", func() error {
			st, err := c.status("n1")
			if err != nil {
				return err
			}
			for _, ns := range st.Nodes {
				if ns.NodeID == "n4" && ns.Voter {
					return nil
				}
			}
			return errors.New("n4 is not a voter")
		})
		labEventually(t, 10*time.Second, "n4 logs that its -f is ignored", func() error {
			if !strings.Contains(c.nodes["n4"].proc.Log(), "ignoring -f") {
				return errors.New("no log line")
			}
			return nil
		})
		v2 := c.writeConf("v2.conf", "v2", "")
		out, err := c.ctl("n4", "apply", "-f", v2, "-m", "second", "--wait")
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Version fsm.ConfigVersion `json:"version"`
			Waited  []struct {
				NodeID string `json:"node_id"`
				OK     bool   `json:"ok"`
			} `json:"waited"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		if res.Version.Version != 2 || len(res.Waited) != 4 {
			t.Fatalf("apply --wait: %s", out)
		}
		for _, w := range res.Waited {
			if !w.OK {
				t.Errorf("apply --wait: %s not ok", w.NodeID)
			}
		}
		if err := c.sameEverywhere(2, ids...); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		return
	}
	c.t = t

	t.Run("invalid config refused", func(t *testing.T) {
		c.t = t
		bad := c.writeConf("bad.conf", "bad", "@n3 vrrp_instance VI_BAD {\n@n3   interface eth0\n@n3 }\n")
		_, err := c.ctl("n1", "apply", "-f", bad)
		if err == nil {
			t.Fatal("a config broken for n3 was accepted")
		}
		msg := err.Error()
		if !strings.Contains(msg, bad+":") || !strings.Contains(msg, "n3") || !strings.Contains(msg, "nothing committed") {
			t.Errorf("error lacks FILE:LINE or the node:\n%s", msg)
		}
		t.Logf("refused: %s", msg)
		for _, id := range ids {
			if h, err := c.history(id); err != nil || len(h) != 2 {
				t.Errorf("%s history: %d versions, %v", id, len(h), err)
			}
		}
	})
	c.t = t

	t.Run("rogue nodes refused", func(t *testing.T) {
		c.t = t
		// r1 has the gossip key but a certificate of another CA.
		otherCA := filepath.Join(c.dir, "other-ca")
		c.run("tls", "ca", "create", "--dir", otherCA)
		c.run("tls", "cert", "create", "--node", "r1", "--ip", c.nodes["r1"].host.IP.String(), "--dir", otherCA)
		r1 := c.agentArgs("r1", "--join", first)
		for i, a := range r1 {
			switch a {
			case "--tls-ca", "--tls-cert", "--tls-key":
				r1[i+1] = filepath.Join(otherCA, filepath.Base(r1[i+1]))
			}
		}
		c.start("r1", r1)
		// r2 has a valid certificate but not the gossip key.
		r2 := c.agentArgs("r2", "--join", first)
		for i, a := range r2 {
			if a == "--encrypt" {
				r2[i+1] = strings.TrimSpace(c.run("keygen"))
			}
		}
		c.start("r2", r2)
		clusterLogs := func() string {
			var b strings.Builder
			for _, id := range ids {
				b.WriteString(c.nodes[id].proc.Log())
			}
			return b.String()
		}
		labEventually(t, 30*time.Second, "refusals logged on both sides", func() error {
			cl := clusterLogs()
			switch {
			case !strings.Contains(cl, "refusing member") || !strings.Contains(cl, "member=r1"):
				return errors.New("cluster did not log refusing r1")
			case !strings.Contains(cl, "TLS handshake error from "+c.nodes["r1"].host.IP.String()):
				return errors.New("cluster API did not log r1's failed handshake")
			case !strings.Contains(cl, "decrypt"):
				return errors.New("cluster did not log r2's undecryptable gossip")
			case !strings.Contains(c.nodes["r1"].proc.Log(), "refusing member"):
				return errors.New("r1 did not log refusing the cluster")
			case !strings.Contains(c.nodes["r2"].proc.Log(), "join failed"):
				return errors.New("r2 did not log its failed join")
			}
			return nil
		})
		for _, l := range []struct{ who, log, want string }{
			{"cluster", clusterLogs(), "refusing member"},
			{"cluster", clusterLogs(), "TLS handshake error"},
			{"cluster", clusterLogs(), "decrypt"},
			{"r1", c.nodes["r1"].proc.Log(), "refusing member"},
			{"r2", c.nodes["r2"].proc.Log(), "join failed"},
		} {
			t.Logf("%s logged: %s", l.who, firstLine(l.log, l.want))
		}
		st, err := c.status("n1")
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range st.Nodes {
			if (ns.NodeID == "r1" || ns.NodeID == "r2") && (ns.Alive || ns.Suffrage != "none") {
				t.Errorf("rogue let in: %+v", ns)
			}
		}
		if _, err := c.ctl("r1", "apply", "-f", seed); err == nil {
			t.Errorf("rogue r1 could apply")
		}
		c.nodes["r1"].proc.Kill()
		c.nodes["r2"].proc.Kill()
	})
	c.t = t

	t.Run("leader killed during applies", func(t *testing.T) {
		c.t = t
		leader := c.leader("n1")
		via := "n1"
		if via == leader {
			via = "n2"
		}
		before, err := c.history(via)
		if err != nil {
			t.Fatal(err)
		}
		acked := map[string]bool{}
		for i := range 50 {
			if i == 15 {
				if err := c.nodes[leader].proc.Kill(); err != nil {
					t.Fatal(err)
				}
				t.Logf("killed leader %s (SIGKILL) before apply %d", leader, i)
			}
			id := fmt.Sprintf("stream-%02d", i)
			f := c.writeConf(id+".conf", id, "")
			var err error
			for try := 0; try < 40; try++ {
				if _, err = c.ctl(via, "apply", "-f", f, "-m", id, "--request-id", id); err == nil {
					acked[id] = true
					break
				}
				time.Sleep(250 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("apply %s never succeeded: %v", id, err)
			}
		}
		c.restart(leader)
		want := len(before) + 50
		labEventually(t, 40*time.Second, "every node has the same history", func() error {
			for _, id := range ids {
				h, err := c.history(id)
				if err != nil {
					return err
				}
				if len(h) != want {
					return fmt.Errorf("%s has %d versions, want %d", id, len(h), want)
				}
			}
			return c.sameEverywhere(uint64(want), ids...)
		})
		for _, id := range ids {
			h, _ := c.history(id)
			seen := map[string]int{}
			for _, v := range h {
				seen[v.Message]++
			}
			for m := range acked {
				if seen[m] != 1 {
					t.Errorf("%s: %s in history %d times", id, m, seen[m])
				}
			}
		}
	})
	c.t = t

	t.Run("partition", func(t *testing.T) {
		c.t = t
		leader := c.leader("n1")
		cut := "n4"
		if cut == leader {
			cut = "n3"
		}
		var majority []string
		for _, id := range ids {
			if id != cut {
				majority = append(majority, id)
			}
		}
		before, err := c.status(cut)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.lab.CutLink(cut); err != nil {
			t.Fatal(err)
		}
		f := c.writeConf("during-cut.conf", "during-cut", "")
		if _, err := c.ctl(majority[0], "apply", "-f", f, "-m", "during cut"); err != nil {
			t.Fatalf("majority refused an apply: %v", err)
		}
		labEventually(t, 15*time.Second, cut+" reports no quorum", func() error {
			st, err := c.status(cut)
			if err != nil {
				return err
			}
			if st.Quorum {
				return errors.New("still claims quorum")
			}
			return nil
		})
		start := time.Now()
		_, err = c.ctl(cut, "apply", "-f", f)
		if err == nil || !strings.Contains(err.Error(), "no quorum") {
			t.Errorf("apply on the cut node: %v, want no quorum", err)
		}
		if d := time.Since(start); d > 12*time.Second {
			t.Errorf("refusing took %v", d)
		}
		st, err := c.status(cut)
		if err != nil {
			t.Fatal(err)
		}
		if st.Running.Version != before.Running.Version || !st.Running.OK {
			t.Errorf("cut node runs %+v, want version %d", st.Running, before.Running.Version)
		}
		// Its VRRP instance keeps running: alone, it becomes master and
		// holds the VIP.
		vip := c.lab.IP(100)
		labEventually(t, 10*time.Second, cut+" holds the VIP", func() error {
			ok, err := c.nodes[cut].host.HasAddr(vip)
			if err != nil || !ok {
				return fmt.Errorf("no VIP (%v)", err)
			}
			return nil
		})
		latest, _ := c.status(majority[0])
		if err := c.lab.RestoreLink(cut); err != nil {
			t.Fatal(err)
		}
		labEventually(t, 30*time.Second, cut+" catches up", func() error {
			return c.sameEverywhere(latest.LatestVersion, ids...)
		})
	})
	c.t = t

	t.Run("restart all", func(t *testing.T) {
		c.t = t
		before, err := c.history("n1")
		if err != nil {
			t.Fatal(err)
		}
		v := before[0].Version
		for _, id := range ids {
			c.stop(id)
		}
		for _, id := range ids {
			c.restart(id)
		}
		// Each runs its last config from the data dir, quorum or not.
		for _, id := range ids {
			labEventually(t, 10*time.Second, id+" runs its config again", func() error {
				st, err := c.status(id)
				if err != nil {
					return err
				}
				if st.Running.Version != v {
					return fmt.Errorf("runs %d", st.Running.Version)
				}
				return nil
			})
		}
		labEventually(t, 30*time.Second, "cluster back", func() error {
			for _, id := range ids {
				h, err := c.history(id)
				if err != nil {
					return err
				}
				if len(h) != len(before) || h[0].SHA256 != before[0].SHA256 {
					return fmt.Errorf("%s history %d versions", id, len(h))
				}
			}
			return c.sameEverywhere(v, ids...)
		})
	})
}

// firstLine returns the first line of log containing s.
func firstLine(log, s string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}
