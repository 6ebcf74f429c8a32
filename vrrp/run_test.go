package vrrp

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// eventually polls cond for up to 10 s of real time; the instance runs in
// its own goroutine, so there is no step to wait for.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRun(t *testing.T) {
	cfg := captureConfig()
	cfg.Priority = 255
	h := newHarness(t, cfg, ip11)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.in.Run(ctx) }()

	eventually(t, "the owner's first advert", func() bool { return len(h.conn.adverts()) == 1 })
	if h.in.State() != StateMaster || h.addrs.count() != 1 {
		t.Fatalf("state %s, %d VIPs", h.in.State(), h.addrs.count())
	}
	h.clock.Advance(time.Second)
	eventually(t, "the second advert", func() bool { return len(h.conn.adverts()) == 2 })

	// Packets flow through the receive goroutine: an invalid one is
	// counted, a lower-priority one is answered at once.
	bad := h.peerAdvert(100)
	bad.SetPassword("nope")
	var buf [MaxAdvertLen]byte
	n, _ := bad.Encode(buf[:], ip12, MulticastGroup(), ChecksumRFC)
	h.conn.rx <- Packet{Src: ip12, Dst: MulticastGroup(), TTL: 255, Payload: append([]byte(nil), buf[:n]...)}
	eventually(t, "the bad password to be counted", func() bool { return h.in.Stats().Dropped[ErrPassword] == 1 })
	lower := h.peerAdvert(100)
	n, _ = lower.Encode(buf[:], ip12, MulticastGroup(), ChecksumRFC)
	h.conn.rx <- Packet{Src: ip12, Dst: MulticastGroup(), TTL: 255, Payload: append([]byte(nil), buf[:n]...)}
	eventually(t, "the answer to a lower priority", func() bool { return len(h.conn.adverts()) == 3 })

	h.in.SetFault(true)
	eventually(t, "FAULT", func() bool { return h.in.State() == StateFault })
	h.in.SetFault(false)
	eventually(t, "MASTER again", func() bool { return h.in.State() == StateMaster })

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	ads := h.conn.adverts()
	if last := ads[len(ads)-1]; last.a.Priority != 0 || h.addrs.count() != 0 || h.in.State() != StateInit {
		t.Errorf("after Run: last advert priority %d, %d VIPs, state %s", last.a.Priority, h.addrs.count(), h.in.State())
	}
}

func TestRunReceiveError(t *testing.T) {
	cfg := captureConfig()
	cfg.Priority = 255
	h := newHarness(t, cfg, ip11)
	boom := errors.New("socket gone")
	h.conn.fail <- boom
	err := h.in.Run(context.Background())
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want %v", err, boom)
	}
	if h.addrs.count() != 0 || h.in.State() != StateInit {
		t.Errorf("after failure: %d VIPs, state %s", h.addrs.count(), h.in.State())
	}
}

// lab connects instances sharing one fake clock through a fake segment:
// what one sends, the others receive at the same instant.
type lab struct {
	t       *testing.T
	clock   *fakeClock
	t0      time.Time
	nodes   []*harness
	pending []labPacket
}

type labPacket struct {
	to  *harness
	pkt Packet
}

func newLab(t *testing.T) *lab {
	c := newFakeClock()
	return &lab{t: t, clock: c, t0: c.Now()}
}

func (l *lab) add(cfg InstanceConfig, ip netip.Addr) *harness {
	h := newHarnessClock(l.t, cfg, ip, l.clock)
	h.conn.onSend = func(payload []byte, dst netip.Addr) {
		for _, o := range l.nodes {
			if o != h {
				l.pending = append(l.pending, labPacket{o, Packet{Src: ip, Dst: dst, TTL: 255, Payload: append([]byte(nil), payload...)}})
			}
		}
	}
	l.nodes = append(l.nodes, h)
	return h
}

func (l *lab) flush() {
	for len(l.pending) > 0 {
		p := l.pending[0]
		l.pending = l.pending[1:]
		p.to.in.step(event{kind: evPacket, pkt: p.pkt})
	}
}

// runTo runs every node's timers, in time order, up to elapsed time at.
func (l *lab) runTo(at time.Duration) {
	target := l.t0.Add(at)
	for {
		var next time.Time
		for _, n := range l.nodes {
			if d, ok := n.in.timers.next(); ok && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
		if next.IsZero() || next.After(target) {
			break
		}
		if next.After(l.clock.Now()) {
			l.clock.Set(next)
		}
		for _, n := range l.nodes {
			if d, ok := n.in.timers.next(); ok && !d.After(l.clock.Now()) {
				n.in.step(event{kind: evTimer})
				l.flush()
			}
		}
	}
	l.clock.Set(target)
}

// TestLabTwoRouters replays the scenario of keepalived-adverts.pcap with two
// instances talking to each other.
func TestLabTwoRouters(t *testing.T) {
	l := newLab(t)
	cfgA := captureConfig()
	cfgB := captureConfig()
	cfgB.Priority = 90
	a := l.add(cfgA, ip11)
	b := l.add(cfgB, ip12)
	a.start()
	b.start()
	l.runTo(20 * time.Second)
	a.wantState(StateMaster)
	b.wantState(StateBackup)
	if s := b.in.Stats(); s.BecameMaster != 0 || s.AdvertsReceived != 17 {
		t.Errorf("backup stats %+v, want 17 adverts received and no takeover", s)
	}

	// The master stops: the backup takes over after its skew.
	l.runTo(20300 * ms)
	a.in.step(event{kind: evShutdown})
	l.flush()
	l.runTo(20300*ms + 166*time.Second/256)
	b.wantState(StateMaster)
	if tr := b.lastTransition(); l.clock.Now().Sub(tr.At) != 0 || tr.Reason != ReasonPriorityZero {
		t.Errorf("takeover %+v", tr)
	}

	// The old master comes back and preempts the lower-priority one.
	l.runTo(25 * time.Second)
	a.start()
	l.runTo(25*time.Second + masterDown100)
	a.wantState(StateMaster)
	b.wantState(StateBackup)
	if a.addrs.count() != 1 || b.addrs.count() != 0 {
		t.Errorf("VIPs: a %d, b %d", a.addrs.count(), b.addrs.count())
	}
	l.runTo(60 * time.Second)
	a.wantState(StateMaster)
	b.wantState(StateBackup)
}

func TestHandleAdvertAllocs(t *testing.T) {
	for _, state := range []State{StateBackup, StateMaster} {
		h := newHarness(t, captureConfig(), ip11)
		h.conn.record = false
		h.start()
		if state == StateMaster {
			h.advanceTo(masterDown100)
		}
		h.wantState(state)
		var buf, bad [MaxAdvertLen]byte
		a := h.peerAdvert(50) // a master answers it; a backup ignores it
		n, _ := a.Encode(buf[:], ip12, MulticastGroup(), ChecksumRFC)
		copy(bad[:], buf[:n])
		bad[n-1] ^= 1 // bad password
		good := Packet{Src: ip12, Dst: MulticastGroup(), TTL: 255, Payload: buf[:n]}
		invalid := Packet{Src: ip12, Dst: MulticastGroup(), TTL: 255, Payload: bad[:n]}
		allocs := testing.AllocsPerRun(100, func() {
			h.in.step(event{kind: evPacket, pkt: good})
			h.in.step(event{kind: evPacket, pkt: invalid})
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per received advert", state, allocs)
		}
		h.wantState(state)
	}
}

func BenchmarkHandleAdvert(b *testing.B) {
	h := newHarness(b, captureConfig(), ip11)
	h.conn.record = false
	h.start()
	var buf [MaxAdvertLen]byte
	a := h.peerAdvert(150)
	n, _ := a.Encode(buf[:], ip12, MulticastGroup(), ChecksumRFC)
	ev := event{kind: evPacket, pkt: Packet{Src: ip12, Dst: MulticastGroup(), TTL: 255, Payload: buf[:n]}}
	b.ReportAllocs()
	for b.Loop() {
		h.in.step(ev)
	}
}
