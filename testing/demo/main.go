// Command demo shows tandem and stock keepalived sharing a VIP: it builds a
// network-namespace lab with two tandem nodes, one keepalived node and a
// client, shows who holds the VIP, stops the master, shows the VIP move,
// restarts the master and shows it take the VIP back. Everything is torn
// down at the end, also on Ctrl-C. It needs root:
//
//	go build -o bin/tandem ./cmd/tandem && go run ./testing/demo -tandem bin/tandem
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// node is one VRRP speaker of the demo.
type node struct {
	host     string
	tandem   bool
	priority int
	proc     *lab.Proc
}

func (n *node) kind() string {
	if n.tandem {
		return "tandem"
	}
	return "keepalived " + "2.2.7"
}

func main() {
	tandemBin := flag.String("tandem", "", "tandem binary (default: go build ./cmd/tandem into a temporary directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *tandemBin); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Println("\ninterrupted; the lab is torn down")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin string) error {
	if os.Geteuid() != 0 {
		return errors.New("the demo builds network namespaces: run it as root")
	}
	if _, err := os.Stat(lab.KeepalivedPath); err != nil {
		return fmt.Errorf("stock keepalived is needed (apt-get install keepalived): %w", err)
	}
	if bin == "" {
		dir, err := os.MkdirTemp("", "tandem-demo-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "tandem")
		fmt.Println("building tandem ...")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/tandem").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/tandem: %v\n%s", err, out)
		}
	}
	if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}

	subnet := netip.MustParsePrefix("10.203.200.0/24")
	l, err := lab.Create(lab.Options{Subnet: subnet, Hosts: []string{"tandem1", "tandem2", "keepalived", "client"}})
	if err != nil {
		return fmt.Errorf("build lab: %w", err)
	}
	defer func() {
		l.Close()
		os.RemoveAll(l.Dir)
		fmt.Println("lab torn down")
	}()
	vip := l.IP(100)
	nodes := []*node{
		{host: "tandem1", tandem: true, priority: 150},
		{host: "tandem2", tandem: true, priority: 100},
		{host: "keepalived", tandem: false, priority: 50},
	}
	fmt.Printf("lab %s: bridge with hosts %s; VIP %v (VRID 51, PASS auth)\n", l.ID, hostList(l), vip)
	for _, n := range nodes {
		fmt.Printf("  %-10s %-17s %-15v priority %d\n", n.host, n.kind(), l.Host(n.host).IP, n.priority)
	}
	conf := func(n *node) string {
		return fmt.Sprintf(`vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass demo
    }
    virtual_ipaddress {
        %v/32
    }
}
`, n.priority, vip)
	}
	start := func(n *node) error {
		h := l.Host(n.host)
		if !n.tandem {
			n.proc, err = h.StartKeepalived(ctx, conf(n))
			return err
		}
		dir := filepath.Join(l.Dir, n.host+"-data")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		path := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(path, []byte(conf(n)), 0o644); err != nil {
			return err
		}
		n.proc, err = h.Start(ctx, bin, "agent", "-f", path, "--data-dir", dir, "-i", n.host)
		return err
	}

	fmt.Println("\nstarting all three nodes ...")
	t0 := time.Now()
	for _, n := range nodes {
		if err := start(n); err != nil {
			return err
		}
	}
	master, err := waitHolder(ctx, l, vip, "", 10*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("%s took the VIP %.2fs after start\n", master, time.Since(t0).Seconds())
	if err := show(ctx, l, vip); err != nil {
		return err
	}

	fmt.Printf("\nstopping the master %s (SIGTERM: it sends priority 0 and drops the VIP) ...\n", master)
	m := nodeOf(nodes, master)
	t1 := time.Now()
	if err := m.proc.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	next, err := waitHolder(ctx, l, vip, master, 10*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("the VIP moved to %s in %.2fs\n", next, time.Since(t1).Seconds())
	select {
	case <-m.proc.Done():
	case <-time.After(5 * time.Second):
	}
	if err := show(ctx, l, vip); err != nil {
		return err
	}

	fmt.Printf("\ncrashing %s too (SIGKILL: no priority 0; the backup waits Master_Down) ...\n", next)
	n2 := nodeOf(nodes, next)
	t3 := time.Now()
	if err := n2.proc.Kill(); err != nil {
		return err
	}
	third, err := waitOther(ctx, l, vip, next, 10*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("%s took over %.2fs after the crash (the crashed node keeps a stale copy of the VIP, as a killed keepalived does;\n  the client follows the GARPs of the new master, and tandem removes stale copies when it starts)\n", third, time.Since(t3).Seconds())
	if err := show(ctx, l, vip); err != nil {
		return err
	}

	fmt.Printf("\nrestarting %s and %s: %s takes the VIP back after Master_Down (3 x advert_int + skew) ...\n", master, next, master)
	t2 := time.Now()
	if err := start(m); err != nil {
		return err
	}
	if err := start(n2); err != nil {
		return err
	}
	back, err := waitHolder(ctx, l, vip, third, 10*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("%s holds the VIP again, %.2fs after its restart\n", back, time.Since(t2).Seconds())
	if err := show(ctx, l, vip); err != nil {
		return err
	}
	fmt.Println("\ndone")
	return nil
}

func hostList(l *lab.Lab) string {
	var names []string
	for _, h := range l.Hosts() {
		names = append(names, h.Name)
	}
	return strings.Join(names, ", ")
}

func nodeOf(nodes []*node, host string) *node {
	for _, n := range nodes {
		if n.host == host {
			return n
		}
	}
	return nil
}

// holders returns the hosts with vip on eth0.
func holders(l *lab.Lab, vip netip.Addr) []string {
	var out []string
	for _, h := range l.Hosts() {
		if ok, _ := h.HasAddr(vip); ok {
			out = append(out, h.Name)
		}
	}
	return out
}

// waitHolder waits until exactly one host other than not holds vip.
func waitHolder(ctx context.Context, l *lab.Lab, vip netip.Addr, not string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if hs := holders(l, vip); len(hs) == 1 && hs[0] != not {
			return hs[0], nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no single VIP holder after %v (holders: %v)", timeout, holders(l, vip))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitOther waits until a host other than not holds vip.
func waitOther(ctx context.Context, l *lab.Lab, vip netip.Addr, not string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, h := range holders(l, vip) {
			if h != not {
				return h, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no host but %s holds the VIP after %v", not, timeout)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// show prints who holds the VIP and where the client's traffic goes.
func show(ctx context.Context, l *lab.Lab, vip netip.Addr) error {
	fmt.Printf("  VIP %v is on: %s\n", vip, strings.Join(holders(l, vip), ", "))
	cli := l.Host("client")
	if _, err := cli.Run(ctx, "ping", "-c1", "-W2", vip.String()); err != nil {
		return fmt.Errorf("client ping %v: %w", vip, err)
	}
	mac, err := cli.Neigh(vip)
	if err != nil {
		return err
	}
	owner := "?"
	for _, h := range l.Hosts() {
		if h.MAC.String() == mac.String() {
			owner = h.Name
		}
	}
	fmt.Printf("  client pings %v: reply from MAC %v (%s)\n", vip, mac, owner)
	return nil
}
