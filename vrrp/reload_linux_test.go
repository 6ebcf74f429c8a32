package vrrp_test

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// TestAgentReload: SIGHUP keeps unchanged instances running without a
// flap (no priority 0, no VIP removal, adverts on time), restarts changed
// ones cleanly, starts added ones, and refuses a broken file.
func TestAgentReload(t *testing.T) {
	needLab(t)
	l := lab.New(t, lab.Options{Subnet: netip.MustParsePrefix("10.203.9.0/24"), Hosts: []string{"a"}})
	h := l.Host("a")
	v1, v2, v3 := l.IP(100), l.IP(101), l.IP(102)
	i1 := instConf{Name: "VI_1", VRID: 61, Priority: 100, VIPs: []netip.Addr{v1}}
	i2 := instConf{Name: "VI_2", VRID: 62, Priority: 100, VIPs: []netip.Addr{v2}}
	i3 := instConf{Name: "VI_3", VRID: 63, Priority: 100, VIPs: []netip.Addr{v3}}
	tn := startTandem(t, l, h, i1.String()+i2.String(), "")
	waitFor(t, 8*time.Second, "both instances master", func() bool { return len(holders(t, v1, h))+len(holders(t, v2, h)) == 2 })

	// Watch VI_1's VIP every 5 ms through the reload.
	var lost atomic.Bool
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if ok, _ := h.HasAddr(v1); !ok {
				lost.Store(true)
			}
		}
	}()
	c, err := l.Capture(context.Background(), "", "vrrp")
	if err != nil {
		t.Fatal(err)
	}
	i2.Priority = 150
	if err := os.WriteFile(tn.conf, []byte(i1.String()+i2.String()+i3.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	hup := time.Now()
	tn.Signal(syscall.SIGHUP)
	waitFor(t, 8*time.Second, "VI_2 and VI_3 master again", func() bool {
		return len(holders(t, v2, h))+len(holders(t, v3, h)) == 2
	})
	time.Sleep(1200 * time.Millisecond)
	close(stop)
	<-watched
	ws := readCapture(t, c)
	if lost.Load() {
		t.Error("VI_1's VIP disappeared during the reload")
	}
	var prev time.Time
	for _, w := range adverts(ws, h.IP, 61) {
		if w.Advert.Priority != 100 {
			t.Errorf("unchanged VI_1 advertised priority %d during the reload", w.Advert.Priority)
		}
		if !prev.IsZero() {
			if gap := w.At.Sub(prev); gap > 1050*time.Millisecond {
				t.Errorf("unchanged VI_1's adverts %v apart across the reload", gap)
			}
		}
		prev = w.At
	}
	a2 := adverts(ws, h.IP, 62)
	if len(a2) < 2 || a2[0].Advert.Priority != 0 {
		t.Fatalf("changed VI_2 did not resign with priority 0 first: %d adverts", len(a2))
	}
	if a2[1].Advert.Priority != 150 {
		t.Errorf("restarted VI_2 advertises priority %d, want 150", a2[1].Advert.Priority)
	}
	checkNear(t, "VI_2 resignation to its return as master", a2[1].At.Sub(a2[0].At), 3*time.Second+skew(150), 100*time.Millisecond)
	if a3 := adverts(ws, h.IP, 63); len(a3) == 0 {
		t.Error("added VI_3 never advertised")
	} else {
		t.Logf("VI_1 untouched (VIP held throughout, adverts 1s apart); VI_2 resigned and came back at priority 150; VI_3 master %v after SIGHUP",
			a3[0].At.Sub(hup).Round(time.Millisecond))
	}

	// A broken file is refused; everything keeps running.
	if err := os.WriteFile(tn.conf, []byte(i1.String()+"vrrp_instance BROKEN {\n    virtual_router_id 999\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tn.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, "the reload to be refused", func() bool { return strings.Contains(tn.Log(), "reload refused") })
	if n := len(holders(t, v1, h)) + len(holders(t, v2, h)) + len(holders(t, v3, h)); n != 3 {
		t.Errorf("%d of 3 VIPs held after a refused reload", n)
	}
	if !strings.Contains(tn.Log(), "keepalived.conf:") {
		t.Errorf("the refused reload's log does not say FILE:LINE:\n%s", tn.Log())
	}
	tn.stop(t)
	if n := len(holders(t, v1, h)) + len(holders(t, v2, h)) + len(holders(t, v3, h)); n != 0 {
		t.Errorf("%d VIPs left after SIGTERM", n)
	}
}
