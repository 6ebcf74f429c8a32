//go:build linux

package lvs

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/tandem-ha/tandem/checks"
)

// TestKernelCheckerChain runs real listeners in the guest, the checks
// engine against them, and the pool and reconciler on the kernel: killing
// a listener takes its real server out of the IPVS table (weight 0 with
// inhibit_on_failure) within delay_loop + retry × delay_before_retry +
// connect_timeout, and restoring it puts it back.
func TestKernelCheckerChain(t *testing.T) {
	h := kernel(t)
	dummy := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "rs0"}}
	if err := netlink.LinkAdd(dummy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(dummy) })
	for _, a := range []string{"10.53.0.1/24", "10.53.0.2/24"} {
		addr, _ := netlink.ParseAddr(a)
		if err := netlink.AddrAdd(dummy, addr); err != nil {
			t.Fatal(err)
		}
	}
	if err := netlink.LinkSetUp(dummy); err != nil {
		t.Fatal(err)
	}

	const (
		delayLoop        = time.Second
		retry            = 1
		delayBeforeRetry = time.Second
		connectTimeout   = time.Second
		bound            = delayLoop + retry*delayBeforeRetry + connectTimeout
	)
	c := loadConfig(t, fmt.Sprintf(`virtual_server 10.50.0.1 80 {
	lvs_sched rr
	delay_loop %d
	real_server 10.53.0.1 8080 {
		TCP_CHECK { connect_timeout %d
			retry %d
			delay_before_retry %d
			warmup 0 }
	}
	real_server 10.53.0.2 8080 {
		inhibit_on_failure
		TCP_CHECK { connect_timeout %d
			retry %d
			delay_before_retry %d
			warmup 0 }
	}
}`, int(delayLoop.Seconds()), int(connectTimeout.Seconds()), retry, int(delayBeforeRetry.Seconds()),
		int(connectTimeout.Seconds()), retry, int(delayBeforeRetry.Seconds())))

	listen := func(addr string) net.Listener {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				conn.Close()
			}
		}()
		return l
	}
	l1, l2 := listen("10.53.0.1:8080"), listen("10.53.0.2:8080")
	defer func() { l1.Close(); l2.Close() }()

	defs, diags := checks.FromConfig(c)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	eng := checks.NewEngine(checks.Options{})
	eng.Update(defs)
	sub := eng.Subscribe()
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go eng.Run(ctx)

	// The feeder: checker events become health verdicts, the pool turns
	// them into a table, the reconciler programs it. The test polls
	// (Take) where the agent would wait on sub.Ready().
	pool := NewPool(c, PoolOptions{})
	r := NewReconciler(h, nil)
	health := Health{}
	feed := func() {
		for _, ev := range sub.Take() {
			k, err := ParseRealServerKey(ev.VirtualServer, ev.RealServer)
			if err != nil {
				t.Error(err)
				continue
			}
			health[k] = State{Up: ev.Up, Weight: ptr(ev.Weight)}
			t.Logf("checker: %s %s up=%v (%s)", ev.VirtualServer, ev.RealServer, ev.Up, ev.Reason)
		}
		want, events, err := pool.Update(health, nil)
		if err != nil {
			t.Error(err)
		}
		for _, e := range events {
			t.Logf("pool: %s", e)
		}
		if _, err := r.Apply(want); err != nil {
			t.Error(err)
		}
	}
	feed()
	waitFor := func(what string, limit time.Duration, want []string) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			feed()
			got := lines(kernelTableOf(t, h))
			if slices.Equal(got, want) {
				el := time.Since(start)
				t.Logf("%s after %s (bound %s): kernel:\n%s", what, el.Round(10*time.Millisecond), limit, strings.Join(got, "\n"))
				return el
			}
			if time.Since(start) > limit+2*time.Second {
				t.Fatalf("%s: not seen within %s: kernel holds %q, want %q", what, limit, got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	all := []string{"TCP 10.50.0.1:80 rr", "-> 10.53.0.1:8080 Masq 1", "-> 10.53.0.2:8080 Masq 1"}
	waitFor("both up", bound, all)

	l1.Close()
	if el := waitFor("listener 1 killed: removed", bound, []string{"TCP 10.50.0.1:80 rr", "-> 10.53.0.2:8080 Masq 1"}); el > bound+200*time.Millisecond {
		t.Errorf("removal took %s, more than delay_loop + retry × delay_before_retry + connect_timeout = %s", el, bound)
	}
	l2.Close()
	if el := waitFor("listener 2 killed: weight 0 (inhibit_on_failure)", bound, []string{"TCP 10.50.0.1:80 rr", "-> 10.53.0.2:8080 Masq 0"}); el > bound+200*time.Millisecond {
		t.Errorf("inhibit took %s, more than %s", el, bound)
	}
	l1, l2 = listen("10.53.0.1:8080"), listen("10.53.0.2:8080")
	waitFor("listeners restored: back", delayLoop, all)
}
