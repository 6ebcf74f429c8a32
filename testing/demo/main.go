// Command demo shows a small tandem cluster next to a stock keepalived node.
// In a network-namespace lab it creates the cluster's certificates and gossip
// key, starts two tandem agents as a cluster and one keepalived, all reading
// one shared keepalived.conf whose @NAME lines set each node's priority, and
// three busybox web servers behind the VIP. It shows the cluster's status
// and the health checkers' verdicts, stops a web server, rolls out a config
// change with `tandem ctl apply` and shows the VIP follow it, then stops the
// master (the survivor loses quorum but keeps its config and takes the VIP)
// and restarts it (it rejoins with the cluster's config). Everything is torn down at the end, also on Ctrl-C
// or a failure. It needs root:
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
	"syscall"

	"github.com/tandem-ha/tandem/testing/lab"
)

func main() {
	tandemBin := flag.String("tandem", "", "tandem binary (default: go build ./cmd/tandem into a temporary directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *tandemBin); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Println("interrupted")
			os.Exit(130)
		}
		if err != errFailed {
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
		os.Exit(1)
	}
}

// errFailed is a failure that run has already reported.
var errFailed = errors.New("demo failed")

// run checks the prerequisites, builds the lab, runs the demo in it and
// tears it down whatever happens.
func run(ctx context.Context, bin string) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("the demo builds network namespaces: run it as root")
	}
	if _, err := os.Stat(lab.KeepalivedPath); err != nil {
		return fmt.Errorf("stock keepalived is needed (apt-get install keepalived): %w", err)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox serves the real servers (apt-get install busybox-static): %w", err)
	}
	if bin == "" {
		dir, err := os.MkdirTemp("", "tandem-demo-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "tandem")
		fmt.Println("building tandem ...")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tandem").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/tandem: %v\n%s", err, out)
		}
	}
	if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}

	l, err := lab.Create(lab.Options{
		Subnet: netip.MustParsePrefix("10.203.200.0/24"),
		Hosts:  []string{"tandem1", "tandem2", "keepalived", "web1", "web2", "web3", "client"},
	})
	if err != nil {
		return fmt.Errorf("build lab: %w", err)
	}
	d := &demo{lab: l, bin: bin, busybox: busybox, vip: l.IP(100), web: map[string]*lab.Proc{}}
	// The ip_vs module, once loaded, shows /proc/net/ip_vs in every namespace.
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		d.ipvs = true
	}
	defer func() {
		if err != nil && ctx.Err() != nil {
			// Interrupted: whatever failed, failed because of it.
			err = ctx.Err()
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "\ndemo FAILED:", err)
			d.logTails()
			err = errFailed
		}
		l.Close()
		os.RemoveAll(l.Dir)
		fmt.Println("lab torn down")
	}()
	return d.run(ctx)
}
