package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// demo is one run of the demo in its lab.
type demo struct {
	lab     *lab.Lab
	bin     string // tandem
	busybox string
	vip     netip.Addr
	nodes   []*node
	webs    []webServer
	sec     secrets
	web     map[string]*lab.Proc
	// seed is the shared keepalived.conf the nodes start from, at seedPath.
	seed     string
	seedPath string
	// ipvs is whether the kernel has IPVS; without it the agents check
	// the real servers but cannot program them (they log why).
	ipvs bool
}

// seedPriority is host's priority in the seed config's @NAME lines.
func seedPriority(host string) int {
	switch host {
	case "tandem1":
		return 150
	case "tandem2":
		return 100
	}
	return 50
}

// run is the demo proper.
func (d *demo) run(ctx context.Context) error {
	l := d.lab
	clusterHosts := []string{"tandem1", "tandem2"}
	d.nodes = []*node{{host: "tandem1", tandem: true}, {host: "tandem2", tandem: true}, {host: "keepalived"}}
	for _, h := range []string{"web1", "web2", "web3"} {
		d.webs = append(d.webs, webServer{host: h, ip: l.Host(h).IP})
	}
	d.seed = sharedConf(d.vip, 100, d.webs)
	d.seedPath = filepath.Join(l.Dir, "keepalived.conf")
	if err := os.WriteFile(d.seedPath, []byte(d.seed), 0o644); err != nil {
		return err
	}

	fmt.Printf("lab %s: seven hosts (network namespaces) on one bridge; VIP %v, VRID 51\n", l.ID, d.vip)
	for _, n := range d.nodes {
		what := "tandem, cluster member"
		if !n.tandem {
			what = "stock keepalived 2.2.7"
		}
		fmt.Printf("  %-10s %-14v %s\n", n.host, l.Host(n.host).IP, what)
	}
	for _, w := range d.webs {
		fmt.Printf("  %-10s %-14v real server (busybox httpd :80)\n", w.host, w.ip)
	}
	fmt.Printf("  %-10s %-14v pings the VIP\n", "client", l.Host("client").IP)

	step("1. secrets: a gossip key and a CA with one certificate per node")
	if err := d.makeSecrets(ctx); err != nil {
		return err
	}
	fmt.Println("  $ tandem keygen                                   -> gossip key for --encrypt")
	fmt.Println("  $ tandem tls ca create --dir tls                  -> tls/tandem-ca.pem")
	for _, h := range clusterHosts {
		fmt.Printf("  $ tandem tls cert create --node %s --ip %-14v -> tls/%s.pem\n", h, l.Host(h).IP, h)
	}
	fmt.Println("  one keepalived.conf for all three nodes; its per-node lines:")
	for _, line := range strings.Split(d.seed, "\n") {
		if strings.HasPrefix(line, "@") {
			fmt.Println("    " + line)
		}
	}

	step("2. starting three web servers, two tandem agents and keepalived")
	for _, w := range d.webs {
		p, err := d.startWeb(ctx, w)
		if err != nil {
			return err
		}
		d.web[w.host] = p
	}
	fmt.Println("  web1, web2, web3 answer on port 80")
	fmt.Println("  tandem agent --node-id tandemN --bind IP --bootstrap-expect 2 --encrypt KEY \\")
	fmt.Println("      --tls-ca ... --tls-cert ... --tls-key ... -f keepalived.conf --data-dir DIR")
	fmt.Println("  keepalived --config-id keepalived -f keepalived.conf   (same file)")
	if !d.ipvs {
		fmt.Println("  IPVS is programmed only on a kernel with ip_vs; this one has none, so the agents")
		fmt.Println("  check the real servers without programming them; step 3 shows the verdicts")
	}
	t0 := time.Now()
	for _, n := range d.nodes {
		if err := d.start(ctx, n); err != nil {
			return err
		}
	}
	if err := d.waitConverged(ctx, "tandem1", clusterHosts, 1, 20*time.Second); err != nil {
		return err
	}
	fmt.Printf("  the cluster formed in %.1fs; both nodes run config version 1\n", time.Since(t0).Seconds())
	// Stock keepalived does not wait for a cluster: it may take the VIP
	// first, until tandem1 preempts it.
	var last string
	err := poll(ctx, "tandem1 alone holding the VIP", 15*time.Second, func() (bool, error) {
		hs := d.holders()
		if len(hs) == 1 && hs[0] != last {
			last = hs[0]
			fmt.Printf("  %.1fs: %s (priority %d) holds the VIP\n", time.Since(t0).Seconds(), last, seedPriority(last))
		}
		return len(hs) == 1 && hs[0] == "tandem1", nil
	}, func() string { return fmt.Sprintf("holders: %v", d.holders()) })
	if err != nil {
		return err
	}
	if err := d.showCtl(ctx, "tandem1", "status"); err != nil {
		return err
	}
	if err := d.showVIP(ctx); err != nil {
		return err
	}

	step("3. health checks of the real servers")
	all := map[string]string{}
	for _, w := range d.webs {
		all[rsKey(w.ip)] = "UP"
	}
	if err := d.checks(ctx, "tandem1", all); err != nil {
		return err
	}
	fmt.Println("  stopping web2's httpd ...")
	if err := d.web["web2"].Kill(); err != nil {
		return err
	}
	all[rsKey(l.Host("web2").IP)] = "DOWN"
	if err := d.checks(ctx, "tandem1", all); err != nil {
		return err
	}

	step("4. a config change for the whole cluster: tandem2's priority 100 -> 200")
	next := sharedConf(d.vip, 200, d.webs)
	nextPath := filepath.Join(l.Dir, "keepalived-v2.conf")
	if err := os.WriteFile(nextPath, []byte(next), 0o644); err != nil {
		return err
	}
	fmt.Println("  only its @tandem2 line changes:  @tandem2    priority 200")
	msg := "tandem2 takes over the VIP"
	fmt.Printf("  $ tandem ctl apply -f keepalived-v2.conf --wait -m %q   (on tandem1)\n", msg)
	t1 := time.Now()
	out, err := d.ctl(ctx, "tandem1", "apply", "-f", nextPath, "--wait", "-m", msg)
	if err != nil {
		return err
	}
	indent(out, "    ")
	fmt.Printf("  applied on both nodes in %.1fs\n", time.Since(t1).Seconds())
	if err := d.showCtl(ctx, "tandem2", "config", "history"); err != nil {
		return err
	}
	fmt.Println("  (keepalived is not a cluster member: its own copy of the file is unchanged)")
	master, err := d.waitHolder(ctx, "tandem2", "", 15*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("  the VIP moved to %s (now priority 200) %.1fs after the apply\n", master, time.Since(t1).Seconds())
	if err := d.showVIP(ctx); err != nil {
		return err
	}

	step("5. failover: SIGTERM the master tandem2 (it sends priority 0 and drops the VIP)")
	m := d.node("tandem2")
	t2 := time.Now()
	if err := m.proc.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	next1, err := d.waitHolder(ctx, "", "tandem2", 10*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("  the VIP moved to %s in %.2fs\n", next1, time.Since(t2).Seconds())
	select {
	case <-m.proc.Done():
	case <-time.After(10 * time.Second):
		return fmt.Errorf("tandem2 still running 10s after SIGTERM")
	}
	if err := d.showVIP(ctx); err != nil {
		return err
	}
	t4 := time.Now()
	var st clusterStatus
	err = poll(ctx, "tandem1 to notice it has lost quorum", 15*time.Second, func() (bool, error) {
		var err error
		st, err = d.status(ctx, "tandem1")
		return err == nil && !st.Quorum, err
	}, func() string { return fmt.Sprintf("last status: %+v", st) })
	if err != nil {
		return err
	}
	if st.Running.Version != 2 {
		return fmt.Errorf("tandem1 runs config version %d, want 2", st.Running.Version)
	}
	fmt.Printf("  tandem1 alone is 1 of 2 voters: no quorum after %.1fs; it keeps running version 2\n", time.Since(t4).Seconds())
	fmt.Printf("  $ tandem ctl apply -f keepalived.conf --timeout 3s   (on tandem1)\n")
	refused, err := d.lab.Host("tandem1").Run(ctx, d.bin, "ctl", "--data-dir", d.dataDir("tandem1"), "--timeout", "3s", "apply", "-f", d.seedPath)
	if err == nil {
		return fmt.Errorf("tandem1 committed a config without quorum:\n%s", refused)
	}
	indent(string(refused), "    ")

	step("6. restarting tandem2: it rejoins, runs the cluster's version 2 (not its -f seed) and preempts")
	t3 := time.Now()
	if err := d.start(ctx, m); err != nil {
		return err
	}
	if _, err := d.waitHolder(ctx, "tandem2", "", 15*time.Second); err != nil {
		return err
	}
	fmt.Printf("  tandem2 holds the VIP again, %.1fs after its restart\n", time.Since(t3).Seconds())
	if err := d.waitConverged(ctx, "tandem2", clusterHosts, 2, 20*time.Second); err != nil {
		return err
	}
	if err := d.showVIP(ctx); err != nil {
		return err
	}
	if err := d.showCtl(ctx, "tandem2", "status"); err != nil {
		return err
	}
	fmt.Println("\ndone")
	return nil
}

// step prints a heading.
func step(s string) { fmt.Printf("\n%s\n", s) }

// indent prints text with every line indented.
func indent(text, prefix string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Println(strings.TrimRight(prefix+line, " "))
	}
}

// showCtl runs `tandem ctl ARGS` on host and prints it and its output.
func (d *demo) showCtl(ctx context.Context, host string, args ...string) error {
	out, err := d.ctl(ctx, host, args...)
	if err != nil {
		return err
	}
	fmt.Printf("  $ tandem ctl %s   (on %s)\n", strings.Join(args, " "), host)
	indent(out, "    ")
	return nil
}

// waitConverged waits until host's agent sees a leader with quorum and every
// node in hosts running version v.
func (d *demo) waitConverged(ctx context.Context, host string, hosts []string, v uint64, timeout time.Duration) error {
	var last string
	return poll(ctx, fmt.Sprintf("%v to run config version %d", hosts, v), timeout, func() (bool, error) {
		st, err := d.status(ctx, host)
		if err != nil {
			// The agent may not be listening yet.
			last = err.Error()
			return false, nil
		}
		last = fmt.Sprintf("%+v", st)
		return converged(st, hosts, v), nil
	}, func() string { return "last status: " + last })
}

// node returns the node on host.
func (d *demo) node(host string) *node {
	for _, n := range d.nodes {
		if n.host == host {
			return n
		}
	}
	return nil
}

// logTails prints the end of every agent's and keepalived's log.
func (d *demo) logTails() {
	for _, n := range d.nodes {
		if n.proc == nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(n.proc.Log(), "\n"), "\n")
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		fmt.Fprintf(os.Stderr, "--- %s (%s): last %d log lines\n", n.host, n.kind(), len(lines))
		for _, line := range lines {
			fmt.Fprintln(os.Stderr, "  "+line)
		}
	}
}

// rsKey is how tandem checks names a real server on port 80.
func rsKey(ip netip.Addr) string { return "[" + ip.String() + "]:80" }
