package vrrp_test

import (
	"context"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// failoverLab is a lab with a tandem host, a keepalived host and a client.
type failoverLab struct {
	l                 *lab.Lab
	tHost, kHost, cli *lab.Host
	vip               netip.Addr
}

func newFailoverLab(t *testing.T, third int) *failoverLab {
	t.Helper()
	needLab(t)
	l := lab.New(t, lab.Options{
		Subnet: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 203, byte(third), 0}), 24),
		Hosts:  []string{"tandem", "keepalived", "client"},
	})
	return &failoverLab{l: l, tHost: l.Host("tandem"), kHost: l.Host("keepalived"), cli: l.Host("client"), vip: l.IP(100)}
}

func (f *failoverLab) capture(t *testing.T) *lab.Capture {
	t.Helper()
	c, err := f.l.Capture(context.Background(), "", "vrrp or arp")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clientReachesVIPOn pings the VIP from the client and checks that its ARP
// entry for the VIP is h's MAC.
func (f *failoverLab) clientReachesVIPOn(t *testing.T, h *lab.Host) {
	t.Helper()
	if out, err := f.cli.Run(context.Background(), "ping", "-c1", "-W2", f.vip.String()); err != nil {
		t.Fatalf("client cannot ping the VIP: %v\n%s", err, out)
	}
	mac, err := f.cli.Neigh(f.vip)
	if err != nil {
		t.Fatal(err)
	}
	if mac.String() != h.MAC.String() {
		t.Errorf("client's ARP entry for %v is %v, want %s's %v", f.vip, mac, h.Name, h.MAC)
	} else {
		t.Logf("client's ARP entry for %v is %s's MAC %v", f.vip, h.Name, mac)
	}
}

// onlyHolder waits until h alone holds the VIP.
func (f *failoverLab) onlyHolder(t *testing.T, h *lab.Host, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, h.Name+" alone to hold the VIP", func() bool {
		hs := holders(t, f.vip, f.tHost, f.kHost)
		return len(hs) == 1 && hs[0] == h.Name
	})
}

// node is a tandem or keepalived daemon in a failoverLab.
type node struct {
	f     *failoverLab
	host  *lab.Host
	conf  instConf
	proc  *lab.Proc
	isTan bool
}

func (n *node) start(t *testing.T) {
	t.Helper()
	if n.isTan {
		n.proc = startTandem(t, n.f.l, n.host, n.conf.String(), "").Proc
	} else {
		n.proc = lab.StartKeepalived(t, n.host, n.conf.String())
	}
}

func (n *node) kill(t *testing.T) {
	t.Helper()
	if err := n.proc.Kill(); err != nil {
		t.Fatal(err)
	}
}

func (n *node) stop(t *testing.T) {
	t.Helper()
	if err := n.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.proc.Done():
		if err := n.proc.Wait(); err != nil {
			t.Errorf("%s exit after SIGTERM: %v", n.proc.Name, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still running 10s after SIGTERM", n.proc.Name)
	}
}

// firstAfter returns the first advert of ws after at, or nil.
func firstAfter(ws []wire, at time.Time) *wire {
	for i := range ws {
		if ws[i].At.After(at) {
			return &ws[i]
		}
	}
	return nil
}

// failover runs, with master at priority 100 and backup at 90 (VRID 31,
// PASS auth, one VIP): start-up, crash, preemption after restart (or none
// with nopreempt), and graceful stop, measuring each on the wire.
func failover(t *testing.T, third int, tandemIsMaster, nopreempt, unicast bool) {
	f := newFailoverLab(t, third)
	base := instConf{VRID: 31, Pass: "secret", VIPs: []netip.Addr{f.vip}, NoPreempt: nopreempt}
	m := &node{f: f, conf: base, isTan: tandemIsMaster}
	b := &node{f: f, conf: base, isTan: !tandemIsMaster}
	m.conf.Priority, b.conf.Priority = 100, 90
	if tandemIsMaster {
		m.host, b.host = f.tHost, f.kHost
	} else {
		m.host, b.host = f.kHost, f.tHost
	}
	if unicast {
		m.conf.Unicast, m.conf.Peers = m.host.IP, []netip.Addr{b.host.IP}
		b.conf.Unicast, b.conf.Peers = b.host.IP, []netip.Addr{m.host.IP}
		defer func() {
			if !t.Failed() {
				t.Logf("unicast: every advert went to the peer's address with TTL 255, payloads equal between tandem and keepalived")
			}
		}()
	}
	checkWire := func(ws []wire) {
		t.Helper()
		for _, w := range adverts(ws, netip.Addr{}, uint8(base.VRID)) {
			want := netip.MustParseAddr("224.0.0.18")
			if unicast {
				want = b.host.IP
				if w.Src == b.host.IP {
					want = m.host.IP
				}
			}
			if w.Dst != want || w.TTL != 255 {
				t.Errorf("advert from %v to %v TTL %d, want to %v TTL 255", w.Src, w.Dst, w.TTL, want)
			}
		}
	}
	samePayload := func(ws []wire) {
		t.Helper()
		// Adverts at the same priority from both daemons must be equal.
		byPrio := map[uint8][]byte{}
		for _, w := range adverts(ws, netip.Addr{}, uint8(base.VRID)) {
			if p, ok := byPrio[w.Advert.Priority]; ok && string(p) != string(w.Payload) {
				t.Errorf("priority %d adverts differ: % x vs % x", w.Advert.Priority, p, w.Payload)
			}
			byPrio[w.Advert.Priority] = w.Payload
		}
	}
	vrid := uint8(base.VRID)

	// Start-up: the master wins after 3×advert_int + skew(100).
	c := f.capture(t)
	start := time.Now()
	m.start(t)
	b.start(t)
	f.onlyHolder(t, m.host, 8*time.Second)
	time.Sleep(1500 * time.Millisecond)
	f.onlyHolder(t, m.host, 0)
	f.clientReachesVIPOn(t, m.host)

	// Crash: the backup takes over Master_Down after the last advert.
	m.kill(t)
	waitFor(t, 8*time.Second, "the backup to hold the VIP", func() bool {
		return len(holders(t, f.vip, b.host)) == 1
	})
	time.Sleep(200 * time.Millisecond)
	ws := readCapture(t, c)
	checkWire(ws)
	ma, ba := adverts(ws, m.host.IP, vrid), adverts(ws, b.host.IP, vrid)
	if len(ma) == 0 || len(ba) == 0 {
		t.Fatalf("adverts: %d from the master, %d from the backup", len(ma), len(ba))
	}
	checkNear(t, "process start to the master's first advert", ma[0].At.Sub(start), 3*time.Second+skew(100), 400*time.Millisecond)
	if m.isTan {
		at := instanceStart(t, m.proc.Log(), "VI_1", 0)
		checkNear(t, "tandem instance start to its first advert", ma[0].At.Sub(at), 3*time.Second+skew(100), 50*time.Millisecond)
	}
	if ba[0].At.Before(ma[len(ma)-1].At) {
		t.Errorf("the backup advertised at %v while the master was up", ba[0].At)
	}
	checkNear(t, "crash: master's last advert to backup's first", ba[0].At.Sub(ma[len(ma)-1].At), 3*time.Second+skew(90), 50*time.Millisecond)
	f.clientReachesVIPOn(t, b.host)

	// Restart the crashed master.
	c = f.capture(t)
	restart := time.Now()
	m.start(t)
	if m.isTan {
		// The killed agent left its VIP behind; the new one removes it at once.
		waitFor(t, 2*time.Second, "tandem to remove its stale VIP", func() bool {
			return len(holders(t, f.vip, m.host)) == 0
		})
	}
	if nopreempt {
		time.Sleep(3*time.Second + skew(100) + 2*time.Second)
		if len(holders(t, f.vip, m.host)) != 0 || len(adverts(readCapture(t, c), m.host.IP, vrid)) != 0 {
			t.Fatal("with nopreempt the restarted higher-priority node took over")
		}
		f.onlyHolder(t, b.host, 0)
		t.Logf("nopreempt: the restarted priority 100 node stayed backup")
		return
	}
	f.onlyHolder(t, m.host, 8*time.Second)
	f.clientReachesVIPOn(t, m.host)

	// Graceful stop: priority 0, and the backup takes over after its skew.
	m.stop(t)
	f.onlyHolder(t, b.host, 3*time.Second)
	time.Sleep(200 * time.Millisecond)
	ws = readCapture(t, c)
	checkWire(ws)
	samePayload(ws)
	ma = adverts(ws, m.host.IP, vrid)
	if len(ma) == 0 {
		t.Fatal("no adverts from the restarted master")
	}
	checkNear(t, "process restart to preempting advert", ma[0].At.Sub(restart), 3*time.Second+skew(100), 400*time.Millisecond)
	if m.isTan {
		at := instanceStart(t, m.proc.Log(), "VI_1", 0)
		checkNear(t, "tandem instance restart to its preempting advert", ma[0].At.Sub(at), 3*time.Second+skew(100), 50*time.Millisecond)
	}
	last := ma[len(ma)-1]
	if last.Advert.Priority != 0 {
		t.Fatalf("the stopped master's last advert has priority %d, want 0", last.Advert.Priority)
	}
	first := firstAfter(adverts(ws, b.host.IP, vrid), last.At)
	if first == nil {
		t.Fatal("the backup sent no advert after the priority 0")
	}
	checkNear(t, "graceful: priority 0 to backup's first advert", first.At.Sub(last.At), skew(90), 50*time.Millisecond)
	f.clientReachesVIPOn(t, b.host)
}

// TestInteropTandemMaster: tandem (100) against keepalived (90).
func TestInteropTandemMaster(t *testing.T) {
	failover(t, 1, true, false, false)
}

// TestInteropKeepalivedMaster: keepalived (100) against tandem (90).
func TestInteropKeepalivedMaster(t *testing.T) {
	failover(t, 2, false, false, false)
}

// TestInteropNoPreemptTandemHigher: nopreempt on both, tandem at 100.
func TestInteropNoPreemptTandemHigher(t *testing.T) {
	failover(t, 3, true, true, false)
}

// TestInteropNoPreemptKeepalivedHigher: nopreempt on both, keepalived at 100.
func TestInteropNoPreemptKeepalivedHigher(t *testing.T) {
	failover(t, 4, false, true, false)
}

// TestInteropUnicastTandemMaster: the same with unicast_peer, tandem at 100.
func TestInteropUnicastTandemMaster(t *testing.T) {
	failover(t, 6, true, false, true)
}

// TestInteropUnicastKeepalivedMaster: unicast_peer, keepalived at 100.
func TestInteropUnicastKeepalivedMaster(t *testing.T) {
	failover(t, 7, false, false, true)
}
