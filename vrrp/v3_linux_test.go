package vrrp_test

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
	"github.com/tandem-ha/tandem/vrrp"
)

// v3Skew is VRRPv3's Skew_Time for prio at interval.
func v3Skew(prio int, interval time.Duration) time.Duration {
	return time.Duration(256-prio) * interval / 256
}

// v3Failover runs VRRPv3 at advert_int 0.1 between tandem and keepalived
// (the master at 100, the backup at 90): a crash of the master, then,
// after it is back, a graceful stop. The backup must take over within
// 3 × 0.1 s + skew + 50 ms of the master's last advert (skew after a
// priority 0), and every advert must carry the RFC 5798 checksum over the
// IPv4 pseudo-header, the payloads of both daemons equal but for it.
func v3Failover(t *testing.T, third int, tandemIsMaster bool) {
	f := newFailoverLab(t, third)
	const interval = 100 * time.Millisecond
	base := instConf{VRID: 33, VIPs: []netip.Addr{f.vip}, Extra: "    version 3\n"}
	m := &node{f: f, conf: base, isTan: tandemIsMaster}
	b := &node{f: f, conf: base, isTan: !tandemIsMaster}
	m.conf.Priority, b.conf.Priority = 100, 90
	m.host, b.host = f.kHost, f.tHost
	if tandemIsMaster {
		m.host, b.host = f.tHost, f.kHost
	}
	start := func(n *node) {
		conf := strings.Replace(n.conf.String(), "advert_int 1\n", "advert_int 0.1\n", 1)
		if n.isTan {
			n.proc = startTandem(t, f.l, n.host, conf, "").Proc
		} else {
			n.proc = lab.StartKeepalived(t, n.host, conf)
		}
	}
	vrid := uint8(base.VRID)
	check := func(ws []wire) {
		t.Helper()
		var tanPayload, kaPayload []byte
		for _, w := range adverts(ws, netip.Addr{}, vrid) {
			if w.Advert.Version != 3 {
				t.Fatalf("advert from %v is VRRPv%d", w.Src, w.Advert.Version)
			}
			if err := vrrp.VerifyChecksum(w.Payload, w.Src, w.Dst, vrrp.ChecksumRFC); err != nil {
				t.Errorf("advert from %v: %v", w.Src, err)
			}
			if w.Advert.Priority != 100 && w.Advert.Priority != 90 {
				continue
			}
			p := append([]byte(nil), w.Payload...)
			p[1], p[2], p[6], p[7] = 0, 0, 0, 0 // VRID, priority, checksum
			if w.Src == f.tHost.IP {
				tanPayload = p
			} else {
				kaPayload = p
			}
		}
		if tanPayload != nil && kaPayload != nil && !bytes.Equal(tanPayload, kaPayload) {
			t.Errorf("payloads differ beyond priority and checksum: tandem % x, keepalived % x", tanPayload, kaPayload)
		}
	}

	c := f.capture(t)
	start(m)
	start(b)
	f.onlyHolder(t, m.host, 8*time.Second)
	time.Sleep(500 * time.Millisecond)
	m.kill(t)
	waitFor(t, 5*time.Second, "the backup to hold the VIP", func() bool { return len(holders(t, f.vip, b.host)) == 1 })
	time.Sleep(200 * time.Millisecond)
	ws := readCapture(t, c)
	check(ws)
	ma, ba := adverts(ws, m.host.IP, vrid), adverts(ws, b.host.IP, vrid)
	if len(ma) == 0 || len(ba) == 0 {
		t.Fatalf("adverts: %d from the master, %d from the backup", len(ma), len(ba))
	}
	last := ma[len(ma)-1]
	first := firstAfter(ba, last.At)
	if first == nil {
		t.Fatal("the backup never advertised after the crash")
	}
	limit := 3*interval + v3Skew(90, interval) + 50*time.Millisecond
	got := first.At.Sub(last.At)
	if got > limit {
		t.Errorf("crash failover %v (master's last advert to backup's first), want ≤ %v", got, limit)
	}
	t.Logf("crash failover %v ≤ %v (keepalived pair: 0.365 s)", got.Round(time.Millisecond), limit)
	if g := garpsAfter(ws, b.host, f.vip, last.At); g != 5 {
		t.Errorf("the new master sent %d GARPs for the VIP in its first burst, want 5", g)
	}

	c = f.capture(t)
	start(m)
	f.onlyHolder(t, m.host, 8*time.Second)
	time.Sleep(300 * time.Millisecond)
	m.stop(t)
	f.onlyHolder(t, b.host, 3*time.Second)
	time.Sleep(200 * time.Millisecond)
	ws = readCapture(t, c)
	check(ws)
	ma = adverts(ws, m.host.IP, vrid)
	last = ma[len(ma)-1]
	if last.Advert.Priority != 0 {
		t.Fatalf("the stopped master's last advert has priority %d, want 0", last.Advert.Priority)
	}
	first = firstAfter(adverts(ws, b.host.IP, vrid), last.At)
	if first == nil {
		t.Fatal("no advert from the backup after the priority 0")
	}
	limit = v3Skew(90, interval) + 50*time.Millisecond
	if got := first.At.Sub(last.At); got > limit {
		t.Errorf("graceful failover %v, want ≤ %v", got, limit)
	} else {
		t.Logf("graceful failover %v ≤ %v (keepalived pair: 0.065 s)", got.Round(time.Millisecond), limit)
	}
}

// garpsAfter counts h's gratuitous ARPs for vip in the second after at:
// the first burst of a new master.
func garpsAfter(ws []wire, h *lab.Host, vip netip.Addr, at time.Time) int {
	n := 0
	for _, g := range garps(ws, h.MAC, vip) {
		if g.At.After(at) && g.At.Before(at.Add(time.Second)) {
			n++
		}
	}
	return n
}

// TestV3TandemMaster: VRRPv3 at 0.1 s, tandem master, keepalived backup.
func TestV3TandemMaster(t *testing.T) { v3Failover(t, 44, true) }

// TestV3KeepalivedMaster: VRRPv3 at 0.1 s, keepalived master, tandem backup.
func TestV3KeepalivedMaster(t *testing.T) { v3Failover(t, 45, false) }
