package vrrp

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
	"time"
)

const (
	ms = time.Millisecond
	// masterDown100 is Master_Down for priority 100, VRRPv2, advert_int 1:
	// 3 s + (256-100)/256 s.
	masterDown100 = 3*time.Second + 609375*time.Microsecond
)

func TestStartupBecomesMasterAfterMasterDown(t *testing.T) {
	h := newHarness(t, captureConfig(), ip11)
	h.start()
	h.wantState(StateBackup)
	h.advanceTo(masterDown100 - time.Nanosecond)
	h.wantState(StateBackup)
	if n := len(h.conn.adverts()); n != 0 {
		t.Fatalf("backup sent %d adverts", n)
	}
	h.advanceTo(masterDown100)
	h.wantState(StateMaster)

	ads := h.conn.adverts()
	if len(ads) != 1 || h.since(ads[0].at) != masterDown100 {
		t.Fatalf("adverts %v, want one at %v", h.advertTimes(100), masterDown100)
	}
	// Byte for byte what keepalived sent in keepalived-adverts.pcap.
	if want := goldenV2Payload(t); !bytes.Equal(ads[0].raw, want) || ads[0].dst != MulticastGroup() {
		t.Errorf("first advert %x to %s, want %x to 224.0.0.18", ads[0].raw, ads[0].dst, want)
	}
	if h.addrs.count() != 1 {
		t.Errorf("%d VIPs added, want 1", h.addrs.count())
	}
	tr := h.transitions()
	if len(tr) != 2 || tr[0].From != StateInit || tr[0].To != StateBackup || tr[0].Reason != ReasonStartup ||
		tr[1].From != StateBackup || tr[1].To != StateMaster || tr[1].Reason != ReasonMasterDown ||
		h.since(tr[1].At) != masterDown100 || tr[1].Instance != "VI_1" {
		t.Errorf("transitions %+v", tr)
	}

	// Then one advert per second.
	h.advanceTo(masterDown100 + 3*time.Second)
	want := []time.Duration{masterDown100, masterDown100 + time.Second, masterDown100 + 2*time.Second, masterDown100 + 3*time.Second}
	if got := h.advertTimes(100); !slices.Equal(got, want) {
		t.Errorf("adverts at %v, want %v", got, want)
	}

	// Shutdown: the priority-0 advert of the capture, VIPs removed.
	h.in.step(event{kind: evShutdown})
	ads = h.conn.adverts()
	last := ads[len(ads)-1]
	if want := unhex(t, goldenV2Stop)[IPv4HeaderLen:]; !bytes.Equal(last.raw, want) {
		t.Errorf("shutdown advert %x, want %x", last.raw, want)
	}
	if h.addrs.count() != 0 {
		t.Error("VIPs left after shutdown")
	}
	h.wantState(StateInit)
	if _, armed := h.in.timers.next(); armed {
		t.Error("timers still armed after shutdown")
	}
	s := h.in.Stats()
	if s.AdvertsSent != 5 || s.PriorityZeroSent != 1 || s.BecameMaster != 1 || s.ReleasedMaster != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestOwnerBecomesMasterAtOnce(t *testing.T) {
	cfg := captureConfig()
	cfg.Priority = 255
	h := newHarness(t, cfg, ip11)
	h.start()
	h.wantState(StateMaster)
	if got := h.advertTimes(255); !slices.Equal(got, []time.Duration{0}) {
		t.Errorf("owner adverts at %v, want [0]", got)
	}
	if tr := h.lastTransition(); tr.From != StateInit || tr.Reason != ReasonStartup {
		t.Errorf("transition %+v", tr)
	}
}

func TestStateMasterBelow255WaitsMasterDown(t *testing.T) {
	cfg := captureConfig()
	cfg.StartState = StateMaster
	cfg.NoPreempt = true // cleared, as keepalived does for state MASTER
	h := newHarness(t, cfg, ip11)
	if h.in.Config().NoPreempt {
		t.Error("nopreempt kept with state MASTER")
	}
	h.start()
	h.wantState(StateBackup)
	h.advanceTo(masterDown100)
	h.wantState(StateMaster)
}

func TestBackupAcceptsHigherAndEqualPriority(t *testing.T) {
	for _, prio := range []uint8{100, 150} {
		h := newHarness(t, captureConfig(), ip11)
		h.start()
		for i := range 10 {
			h.advanceTo(time.Duration(i) * time.Second)
			h.deliver(ip12, h.peerAdvert(prio))
		}
		h.advanceTo(9*time.Second + masterDown100 - time.Nanosecond)
		h.wantState(StateBackup)
		h.advanceTo(9*time.Second + masterDown100)
		h.wantState(StateMaster)
		if s := h.in.Stats(); s.AdvertsReceived != 10 || s.DroppedTotal() != 0 {
			t.Errorf("prio %d: stats %+v", prio, s)
		}
	}
}

func TestPreemptIgnoresLowerPriority(t *testing.T) {
	h := newHarness(t, captureConfig(), ip11)
	h.start()
	for i := range 10 {
		h.advanceTo(time.Duration(i) * 500 * ms)
		h.deliver(ip12, h.peerAdvert(50))
	}
	h.advanceTo(masterDown100)
	h.wantState(StateMaster)
}

func TestNoPreempt(t *testing.T) {
	cfg := captureConfig()
	cfg.NoPreempt = true
	h := newHarness(t, cfg, ip11)
	h.start()
	for i := range 20 {
		h.advanceTo(time.Duration(i) * time.Second)
		h.deliver(ip12, h.peerAdvert(50))
	}
	h.wantState(StateBackup)
	h.advanceTo(19*time.Second + masterDown100)
	h.wantState(StateMaster)
}

func TestPreemptDelay(t *testing.T) {
	cfg := captureConfig()
	cfg.PreemptDelay = 10 * time.Second
	h := newHarness(t, cfg, ip11)
	h.start()
	// A lower-priority master, first seen at 0.5 s: its adverts are
	// accepted until 10.5 s, so the last accepted one is at 9.5 s.
	for i := range 30 {
		at := 500*ms + time.Duration(i)*time.Second
		h.advanceTo(at)
		if h.in.State() == StateMaster {
			break
		}
		h.deliver(ip12, h.peerAdvert(50))
	}
	tr := h.lastTransition()
	if want := 9500*ms + masterDown100; tr.To != StateMaster || h.since(tr.At) != want {
		t.Errorf("took over at %v (%+v), want %v", h.since(tr.At), tr, want)
	}
}

func TestPriorityZeroFastTakeover(t *testing.T) {
	// The capture's backup: priority 90 on 10.201.0.12.
	cfg := captureConfig()
	cfg.Priority = 90
	h := newHarness(t, cfg, ip12)
	h.start()
	h.advanceTo(time.Second)
	h.deliver(ip11, h.peerAdvert(100))
	h.advanceTo(2300 * ms)
	h.deliver(ip11, h.peerAdvert(0))
	skew := 166 * time.Second / 256 // 0.6484375 s; the capture shows 0.649 s
	h.advanceTo(2300*ms + skew - time.Nanosecond)
	h.wantState(StateBackup)
	h.advanceTo(2300*ms + skew)
	h.wantState(StateMaster)
	if tr := h.lastTransition(); tr.Reason != ReasonPriorityZero {
		t.Errorf("reason %s, want %s", tr.Reason, ReasonPriorityZero)
	}
	if want := unhex(t, goldenV2Backup)[IPv4HeaderLen:]; !bytes.Equal(h.conn.adverts()[0].raw, want) {
		t.Errorf("takeover advert %x, want %x", h.conn.adverts()[0].raw, want)
	}
	if s := h.in.Stats(); s.PriorityZeroReceived != 1 {
		t.Errorf("PriorityZeroReceived = %d", s.PriorityZeroReceived)
	}
}

// becomeMaster starts h and runs it until it is master.
func (h *harness) becomeMaster() time.Duration {
	h.start()
	h.advanceTo(masterDown100)
	h.wantState(StateMaster)
	return masterDown100
}

func TestMasterStepsDownForHigherPriority(t *testing.T) {
	for _, sendFirst := range []bool{false, true} {
		cfg := captureConfig()
		cfg.HigherPrioSendAdvert = sendFirst
		h := newHarness(t, cfg, ip11)
		t0 := h.becomeMaster()
		h.advanceTo(t0 + 1500*ms)
		before := len(h.conn.adverts())
		h.deliver(ip12, h.peerAdvert(150))
		h.wantState(StateBackup)
		if h.addrs.count() != 0 {
			t.Error("VIPs kept after stepping down")
		}
		sent := len(h.conn.adverts()) - before
		if (sendFirst && sent != 1) || (!sendFirst && sent != 0) {
			t.Errorf("higher_prio_send_advert=%v: sent %d adverts while stepping down", sendFirst, sent)
		}
		if tr := h.lastTransition(); tr.Reason != ReasonHigherPriority || tr.From != StateMaster {
			t.Errorf("transition %+v", tr)
		}
		// No more adverts as backup, until the new master goes quiet.
		h.advanceTo(t0 + 1500*ms + masterDown100 - time.Nanosecond)
		if n := len(h.conn.adverts()) - before; n != sent {
			t.Errorf("backup sent %d adverts", n-sent)
		}
		h.advanceTo(t0 + 1500*ms + masterDown100)
		h.wantState(StateMaster)
	}
}

func TestEqualPriorityTieBreak(t *testing.T) {
	// We are 10.201.0.11: a peer with the same priority and a higher
	// address wins.
	h := newHarness(t, captureConfig(), ip11)
	h.becomeMaster()
	h.deliver(ip12, h.peerAdvert(100))
	h.wantState(StateBackup)

	// We are 10.201.0.12: we win, and answer at once to force an election.
	h = newHarness(t, captureConfig(), ip12)
	t0 := h.becomeMaster()
	h.advanceTo(t0 + 300*ms)
	h.deliver(ip11, h.peerAdvert(100))
	h.wantState(StateMaster)
	h.advanceTo(t0 + 2*time.Second)
	want := []time.Duration{t0, t0 + 300*ms, t0 + 1300*ms}
	if got := h.advertTimes(100); !slices.Equal(got, want) {
		t.Errorf("adverts at %v, want %v (the answer restarts the advert timer)", got, want)
	}
}

func TestMasterAnswersLowerPriorityAndZero(t *testing.T) {
	cfg := captureConfig()
	cfg.GARPLowerPrioRepeat = 2
	cfg.GARPLowerPrioDelay = 3 * time.Second
	cfg.GARPMasterDelay = -1
	h := newHarness(t, cfg, ip11)
	t0 := h.becomeMaster()
	h.advanceTo(t0 + 500*ms)
	h.deliver(ip12, h.peerAdvert(50))
	h.advanceTo(t0 + 700*ms)
	h.deliver(ip12, h.peerAdvert(0))
	h.wantState(StateMaster)
	want := []time.Duration{t0, t0 + 500*ms, t0 + 700*ms}
	if got := h.advertTimes(100); !slices.Equal(got, want[:3]) {
		t.Errorf("adverts at %v, want %v", got, want)
	}
	h.advanceTo(t0 + 10*time.Second)
	var garpTimes []time.Duration
	for _, g := range h.arp.garps() {
		garpTimes = append(garpTimes, h.since(g.at))
	}
	wantG := []time.Duration{t0, t0, t0, t0, t0, t0 + 500*ms, t0 + 500*ms, t0 + 3500*ms, t0 + 3500*ms}
	if !slices.Equal(garpTimes, wantG) {
		t.Errorf("GARPs at %v, want %v", garpTimes, wantG)
	}

	// lower_prio_no_advert: no answer.
	cfg.LowerPrioNoAdvert = true
	h = newHarness(t, cfg, ip11)
	t0 = h.becomeMaster()
	h.advanceTo(t0 + 500*ms)
	h.deliver(ip12, h.peerAdvert(50))
	if got := h.advertTimes(100); !slices.Equal(got, []time.Duration{t0}) {
		t.Errorf("lower_prio_no_advert: adverts at %v", got)
	}
}

func TestGARPSchedule(t *testing.T) {
	cfg := captureConfig()
	cfg.VIPs = append(cfg.VIPs, netip.PrefixFrom(vip2, 32))
	cfg.ExcludedVIPs = []netip.Prefix{netip.MustParsePrefix("10.201.1.1/24")}
	cfg.GARPMasterRefresh = 10 * time.Second
	cfg.GARPMasterRefreshRepeat = 2
	h := newHarness(t, cfg, ip11)
	t0 := h.becomeMaster()
	h.advanceTo(t0 + 25*time.Second)
	count := map[time.Duration]int{}
	for _, g := range h.arp.garps() {
		count[h.since(g.at)]++
	}
	// 3 addresses: 5 rounds at t0 and t0+5s, 2 rounds every 10 s.
	want := map[time.Duration]int{t0: 15, t0 + 5*time.Second: 15, t0 + 10*time.Second: 6, t0 + 20*time.Second: 6}
	if len(count) != len(want) {
		t.Errorf("GARPs %v, want %v", count, want)
	}
	for at, n := range want {
		if count[at] != n {
			t.Errorf("GARPs %v, want %v", count, want)
			break
		}
	}
	// Rounds go over all addresses in turn, as keepalived's do.
	g := h.arp.garps()
	if g[0].ip != vip || g[1].ip != vip2 || g[2].ip.String() != "10.201.1.1" || g[3].ip != vip {
		t.Errorf("GARP order %v", g[:4])
	}
}

func TestLeavingMasterCancelsGARPs(t *testing.T) {
	h := newHarness(t, captureConfig(), ip11)
	t0 := h.becomeMaster()
	h.advanceTo(t0 + 2*time.Second)
	h.deliver(ip12, h.peerAdvert(200))
	h.wantState(StateBackup)
	for i := range 10 {
		h.advanceTo(t0 + 2*time.Second + time.Duration(i)*time.Second)
		h.deliver(ip12, h.peerAdvert(200))
	}
	if n := len(h.arp.garps()); n != 5 {
		t.Errorf("%d GARPs, want only the first burst of 5", n)
	}
}

// invalidAdverts returns packets that must all be dropped, with the reason.
func invalidAdverts(h *harness) []struct {
	name string
	pkt  Packet
	want DropReason
} {
	type tc = struct {
		name string
		pkt  Packet
		want DropReason
	}
	enc := func(a Advert) []byte {
		var buf [MaxAdvertLen]byte
		n, err := a.Encode(buf[:], ip12, MulticastGroup(), ChecksumRFC)
		if err != nil {
			h.t.Fatal(err)
		}
		return buf[:n]
	}
	pkt := func(b []byte) Packet { return Packet{Src: ip12, Dst: MulticastGroup(), TTL: 255, Payload: b} }
	good := h.peerAdvert(200)
	mod := func(f func(a *Advert)) []byte { a := good; f(&a); return enc(a) }
	badSum := enc(good)
	badSum[6] ^= 0xff
	v3 := good
	v3.Version, v3.AuthType, v3.Auth, v3.Interval = 3, 0, [8]byte{}, 100
	wrongTTL := pkt(enc(good))
	wrongTTL.TTL = 64
	unicast := pkt(enc(good))
	unicast.Dst = ip11
	var unicastBuf [MaxAdvertLen]byte
	n, _ := good.Encode(unicastBuf[:], ip12, ip11, ChecksumRFC)
	unicast.Payload = unicastBuf[:n]
	return []tc{
		{"short", pkt(enc(good)[:5]), ErrLength},
		{"bad length", pkt(enc(good)[:19]), ErrLength},
		{"bad type", pkt(mod(func(a *Advert) { a.Type = 2 })), ErrType},
		{"version 3", pkt(enc(v3)), ErrVersion},
		{"bad checksum", pkt(badSum), ErrChecksum},
		{"auth none", pkt(mod(func(a *Advert) { a.AuthType = AuthNone })), ErrAuthType},
		{"bad password", pkt(mod(func(a *Advert) { a.SetPassword("guess") })), ErrPassword},
		{"TTL 64", wrongTTL, ErrTTL},
		{"interval 2s", pkt(mod(func(a *Advert) { a.Interval = 2 })), ErrInterval},
		{"two VIPs", pkt(mod(func(a *Advert) { _ = a.SetAddrs([]netip.Addr{vip, vip2}) })), ErrAddrCount},
		{"other VIP", pkt(mod(func(a *Advert) { _ = a.SetAddrs([]netip.Addr{vip2}) })), ErrAddrList},
		{"unicast to a multicast instance", unicast, ErrDestination},
	}
}

func TestInvalidAdvertsAreCountedAndIgnored(t *testing.T) {
	h := newHarness(t, captureConfig(), ip11)
	h.start()
	cases := invalidAdverts(h)
	for _, c := range cases {
		h.in.step(event{kind: evPacket, pkt: c.pkt})
	}
	// Another VRID is silently ignored: not counted at all.
	other := h.peerAdvert(200)
	other.VRID = 52
	h.deliver(ip12, other)

	s := h.in.Stats()
	for _, c := range cases {
		if s.Dropped[c.want] == 0 {
			t.Errorf("%s: Dropped[%s] = 0", c.name, c.want)
		}
	}
	if s.DroppedTotal() != uint64(len(cases)) || s.AdvertsReceived != 0 {
		t.Errorf("dropped %d (%v), received %d; want %d, 0", s.DroppedTotal(), s.Dropped, s.AdvertsReceived, len(cases))
	}
	// Every one of them was a priority-200 advert: none held us off.
	h.advanceTo(masterDown100)
	h.wantState(StateMaster)
}

func TestInvalidFloodDoesNotSilenceMaster(t *testing.T) {
	h := newHarness(t, captureConfig(), ip11)
	t0 := h.becomeMaster()
	cases := invalidAdverts(h)
	for i := range 500 { // every 10 ms for 5 s
		h.advanceTo(t0 + time.Duration(i+1)*10*ms)
		c := cases[i%len(cases)]
		h.in.step(event{kind: evPacket, pkt: c.pkt})
	}
	h.wantState(StateMaster)
	var want []time.Duration
	for i := range 6 {
		want = append(want, t0+time.Duration(i)*time.Second)
	}
	if got := h.advertTimes(100); !slices.Equal(got, want) {
		t.Errorf("adverts at %v, want %v", got, want)
	}
	if s := h.in.Stats(); s.DroppedTotal() != 500 {
		t.Errorf("dropped %d, want 500", s.DroppedTotal())
	}
}

func TestVRRPv3(t *testing.T) {
	cfg := captureConfig()
	cfg.Version = 3
	cfg.AdvertInterval = 100 * ms
	cfg.AuthType, cfg.AuthPass = AuthNone, ""
	cfg.VIPs = append(cfg.VIPs, netip.PrefixFrom(vip2, 32))

	// Master_Down = 3 x 100 ms + 156 x 100 ms / 256.
	h := newHarness(t, cfg, ip11)
	h.start()
	down := 300*ms + 156*100*ms/256
	h.advanceTo(down - time.Nanosecond)
	h.wantState(StateBackup)
	h.advanceTo(down)
	h.wantState(StateMaster)
	if want := unhex(t, goldenV3)[IPv4HeaderLen:]; !bytes.Equal(h.conn.adverts()[0].raw, want) {
		t.Errorf("v3 advert %x, want %x", h.conn.adverts()[0].raw, want)
	}
	h.advanceTo(down + 250*ms)
	if got := h.advertTimes(100); !slices.Equal(got, []time.Duration{down, down + 100*ms, down + 200*ms}) {
		t.Errorf("v3 adverts at %v", got)
	}

	// A backup adopts the master's interval: Master_Down and skew scale.
	cfg.Priority = 90
	h = newHarness(t, cfg, ip12)
	h.start()
	slow := h.peerAdvert(100)
	slow.Interval = 100 // 1 s
	h.deliver(ip11, slow)
	down = 3*time.Second + 166*time.Second/256
	h.advanceTo(down - time.Nanosecond)
	h.wantState(StateBackup)
	h.deliver(ip11, func() Advert { a := slow; a.Priority = 0; return a }())
	h.advanceTo(down - time.Nanosecond + 166*time.Second/256)
	h.wantState(StateMaster)
	if got := h.lastTransition(); got.Reason != ReasonPriorityZero {
		t.Errorf("reason %s", got.Reason)
	}

	// The capture's takeover: priority 0 at 100 ms interval, 64.84 ms skew.
	h = newHarness(t, cfg, ip12)
	h.start()
	h.deliver(ip11, h.peerAdvert(0))
	h.advanceTo(166 * 100 * ms / 256)
	h.wantState(StateMaster)
}

func TestV3ChecksumAsV2(t *testing.T) {
	cfg := captureConfig()
	cfg.Version, cfg.AdvertInterval, cfg.AuthType = 3, 100*ms, AuthNone
	cfg.V3ChecksumAsV2 = true
	h := newHarness(t, cfg, ip11)
	h.start()
	h.deliver(ip12, h.peerAdvert(200)) // encoded v2-style by the harness
	var buf [MaxAdvertLen]byte
	a := h.peerAdvert(200)
	n, _ := a.Encode(buf[:], ip12, MulticastGroup(), ChecksumRFC)
	h.in.step(event{kind: evPacket, pkt: Packet{Src: ip12, Dst: MulticastGroup(), TTL: 255, Payload: buf[:n]}})
	if s := h.in.Stats(); s.AdvertsReceived != 1 || s.Dropped[ErrChecksum] != 1 {
		t.Errorf("stats %+v", s)
	}
	h.advanceTo(time.Second)
	if err := VerifyChecksum(h.conn.adverts()[0].raw, netip.Addr{}, netip.Addr{}, ChecksumV2Style); err != nil {
		t.Errorf("sent advert: %v", err)
	}
}

func TestUnicast(t *testing.T) {
	cfg := captureConfig()
	cfg.UnicastSrc = ip11
	cfg.UnicastPeers = []netip.Addr{ip12}
	h := newHarness(t, cfg, netip.Addr{})
	t0 := h.becomeMaster()
	ads := h.conn.adverts()
	if want := unhex(t, goldenUnicast)[IPv4HeaderLen:]; !bytes.Equal(ads[0].raw, want) || ads[0].dst != ip12 {
		t.Errorf("unicast advert %x to %s, want %x to %s", ads[0].raw, ads[0].dst, want, ip12)
	}
	// TTL is not checked for unicast unless bounds are configured.
	h.deliverTTL(ip12, ip11, 60, h.peerAdvert(200))
	h.wantState(StateBackup)
	h.deliverTTL(ip12, MulticastGroup(), 255, h.peerAdvert(200))
	if s := h.in.Stats(); s.Dropped[ErrDestination] != 1 {
		t.Errorf("multicast advert on unicast instance not dropped: %+v", s)
	}
	_ = t0

	cfg.MinTTL = 250
	h = newHarness(t, cfg, netip.Addr{})
	h.start()
	h.deliverTTL(ip12, ip11, 60, h.peerAdvert(200))
	if s := h.in.Stats(); s.Dropped[ErrTTL] != 1 {
		t.Errorf("TTL 60 below min_ttl 250 not dropped: %+v", s)
	}
}

func TestFault(t *testing.T) {
	h := newHarness(t, captureConfig(), ip11)
	t0 := h.becomeMaster()
	h.advanceTo(t0 + 500*ms)
	h.in.SetFault(true)
	h.in.step(event{kind: evControl})
	h.wantState(StateFault)
	if got := h.advertTimes(0); !slices.Equal(got, []time.Duration{t0 + 500*ms}) {
		t.Errorf("priority-0 adverts at %v", got)
	}
	if h.addrs.count() != 0 {
		t.Error("VIPs kept in FAULT")
	}
	h.advanceTo(t0 + 20*time.Second)
	h.deliver(ip12, h.peerAdvert(50))
	if n := len(h.advertTimes(100)); n != 1 {
		t.Errorf("%d adverts, want only the one before FAULT", n)
	}
	h.in.SetFault(false)
	h.in.step(event{kind: evControl})
	h.wantState(StateBackup)
	if tr := h.lastTransition(); tr.From != StateFault || tr.Reason != ReasonFaultCleared {
		t.Errorf("transition %+v", tr)
	}
	h.advanceTo(t0 + 20*time.Second + masterDown100)
	h.wantState(StateMaster)
}

func TestPriorityAdjustment(t *testing.T) {
	h := newHarness(t, captureConfig(), ip11)
	for _, tc := range []struct {
		delta int
		want  uint8
	}{{-20, 80}, {-500, 1}, {154, 254}, {500, 254}, {0, 100}} {
		h.in.SetPriorityAdjustment(tc.delta)
		h.in.step(event{kind: evControl})
		if got := h.in.Priority(); got != tc.want {
			t.Errorf("adjust %d: priority %d, want %d", tc.delta, got, tc.want)
		}
	}
	// A backup's Master_Down follows its priority (skew), from start-up.
	h.in.SetPriorityAdjustment(-50)
	h.in.step(event{kind: evControl})
	h.start()
	down := 3*time.Second + 206*time.Second/256
	h.advanceTo(down - time.Nanosecond)
	h.wantState(StateBackup)
	h.in.SetPriorityAdjustment(0) // skew shrinks: the deadline moves earlier
	h.in.step(event{kind: evControl})
	if at, _ := h.in.timers.next(); h.since(at) != masterDown100 {
		t.Errorf("Master_Down deadline %v, want %v", h.since(at), masterDown100)
	}
	h.advance(0) // the deadline has passed: Run's timer fires at once
	h.wantState(StateMaster)
	h.in.SetPriorityAdjustment(-30)
	h.in.step(event{kind: evControl})
	h.advance(time.Second)
	if ads := h.conn.adverts(); ads[len(ads)-1].a.Priority != 70 {
		t.Errorf("advert priority %d, want 70", ads[len(ads)-1].a.Priority)
	}

	cfg := captureConfig()
	cfg.Priority = 255
	h = newHarness(t, cfg, ip11)
	h.in.SetPriorityAdjustment(-100)
	h.in.step(event{kind: evControl})
	if h.in.Priority() != 255 {
		t.Errorf("owner priority %d, want 255", h.in.Priority())
	}
}

func TestConfigDefaultsAndErrors(t *testing.T) {
	c, _, err := InstanceConfig{VRID: 1}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if c.Priority != 100 || c.Version != 2 || c.AdvertInterval != time.Second || c.StartState != StateBackup ||
		c.GARPMasterDelay != 5*time.Second || c.GARPMasterRepeat != 5 || c.GARPMasterRefreshRepeat != 1 || c.DownTimerAdverts != 3 {
		t.Errorf("defaults %+v", c)
	}
	if c, _, _ := (InstanceConfig{VRID: 1, StartState: StateMaster}).normalize(); c.Priority != 255 {
		t.Errorf("state MASTER without priority: %d, want 255", c.Priority)
	}
	for _, bad := range []InstanceConfig{
		{},
		{VRID: 1, Version: 4},
		{VRID: 1, AdvertInterval: 1500 * ms},
		{VRID: 1, Version: 3, AdvertInterval: 15 * ms},
		{VRID: 1, AuthType: AuthAH},
		{VRID: 1, VIPs: []netip.Prefix{netip.MustParsePrefix("2001:db8::1/128")}},
		{VRID: 1, DownTimerAdverts: 101},
	} {
		if _, err := NewInstance(bad, Env{Conn: &fakeConn{}, Addrs: &fakeAddrs{}, ARP: &fakeARP{}}); err == nil {
			t.Errorf("NewInstance(%+v) succeeded", bad)
		}
	}
}
