package vrrp_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// byPrefix returns the lines starting with prefix, in order.
func byPrefix(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// TestGroupNotifyLikeKeepalived runs a vrrp_sync_group G_1 of two
// instances, with a group notify script and a vrrp_notify_fifo, on
// keepalived 2.2.7 and on tandem (each alone on its VRIDs) over start,
// takeover and shutdown: the GROUP notifications and each instance's own
// must be keepalived's, in order.
func TestGroupNotifyLikeKeepalived(t *testing.T) {
	f := newFailoverLab(t, 50)
	conf := func(r *notifyRecorder, vrid int, vip1, vip2 netip.Addr) string {
		return fmt.Sprintf("global_defs {\n    vrrp_notify_fifo %s\n}\nvrrp_sync_group G_1 {\n    group {\n        VI_1\n        VI_2\n    }\n    notify %s\n}\n", r.fifo, r.script) +
			instConf{Name: "VI_1", VRID: vrid, Priority: 100, VIPs: []netip.Addr{vip1}, Extra: "    notify " + r.script + "\n"}.String() +
			instConf{Name: "VI_2", VRID: vrid + 1, Priority: 100, VIPs: []netip.Addr{vip2}, Extra: "    notify " + r.script + "\n"}.String()
	}
	kr, tr := newNotifyRecorder(t, f.l.Dir, "keepalived"), newNotifyRecorder(t, f.l.Dir, "tandem")
	ka := &node{f: f, host: f.kHost, proc: lab.StartKeepalived(t, f.kHost, conf(kr, 60, f.l.IP(110), f.l.IP(111)))}
	tan := startTandem(t, f.l, f.tHost, conf(tr, 50, f.l.IP(100), f.l.IP(101)), "")
	waitFor(t, 10*time.Second, "both daemons masters of both", func() bool {
		return len(holders(t, f.l.IP(100), f.tHost)) == 1 && len(holders(t, f.l.IP(101), f.tHost)) == 1 &&
			len(holders(t, f.l.IP(110), f.kHost)) == 1 && len(holders(t, f.l.IP(111), f.kHost)) == 1
	})
	time.Sleep(500 * time.Millisecond)
	ka.stop(t)
	tan.stop(t)
	// 3 transitions each for VI_1, VI_2 and G_1.
	kaRec, tanRec := kr.records(t, 9), tr.records(t, 9)
	kaFifo, tanFifo := kr.fifoLines(t, 9), tr.fifoLines(t, 9)
	t.Logf("keepalived: notify %q\n fifo %q", kaRec, kaFifo)
	t.Logf("tandem:     notify %q\n fifo %q", tanRec, tanFifo)
	for _, p := range []string{"GROUP", "INSTANCE VI_1 ", "INSTANCE VI_2 ", `INSTANCE "VI_1"`, `INSTANCE "VI_2"`} {
		k, tt := byPrefix(slices.Concat(kaRec, kaFifo), p), byPrefix(slices.Concat(tanRec, tanFifo), p)
		if !slices.Equal(k, tt) {
			t.Errorf("%s lines: tandem %q, keepalived %q", p, tt, k)
		}
	}
}
