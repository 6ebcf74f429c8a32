package vrrp

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that only moves when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

// Set moves the clock to at and fires the timers that are due.
func (c *fakeClock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
	for _, t := range c.timers {
		t.fireLocked()
	}
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

type fakeTimer struct {
	c     *fakeClock
	ch    chan time.Time
	at    time.Time
	armed bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.drainLocked()
	t.at, t.armed = t.c.now.Add(d), true
	t.fireLocked()
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.armed = false
	t.drainLocked()
}

func (t *fakeTimer) drainLocked() {
	select {
	case <-t.ch:
	default:
	}
}

func (t *fakeTimer) fireLocked() {
	if t.armed && !t.c.now.Before(t.at) {
		t.armed = false
		t.ch <- t.c.now
	}
}

// sentAdvert is one advert a fakeConn was asked to send.
type sentAdvert struct {
	at  time.Time
	dst netip.Addr
	raw []byte
	a   Advert
}

// fakeConn records sent adverts and delivers packets queued with deliver.
type fakeConn struct {
	t     testing.TB
	clock Clock
	local netip.Addr
	rx    chan Packet
	fail  chan error

	mu      sync.Mutex
	sent    []sentAdvert
	onSend  func(payload []byte, dst netip.Addr)
	record  bool
	sendErr error
}

func newFakeConn(t testing.TB, clock Clock, local netip.Addr) *fakeConn {
	return &fakeConn{t: t, clock: clock, local: local, rx: make(chan Packet, 16), record: true, fail: make(chan error, 1)}
}

func (c *fakeConn) Send(payload []byte, dst netip.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sendErr != nil {
		return c.sendErr
	}
	if c.onSend != nil {
		c.onSend(payload, dst)
	}
	if !c.record {
		return nil
	}
	s := sentAdvert{at: c.clock.Now(), dst: dst, raw: append([]byte(nil), payload...)}
	if err := s.a.Decode(payload); err != nil {
		c.t.Errorf("instance sent an undecodable advert %x: %v", payload, err)
	}
	c.sent = append(c.sent, s)
	return nil
}

func (c *fakeConn) Receive(ctx context.Context, buf []byte) (Packet, error) {
	select {
	case p := <-c.rx:
		n := copy(buf, p.Payload)
		p.Payload = buf[:n]
		return p, nil
	case err := <-c.fail:
		return Packet{}, err
	case <-ctx.Done():
		return Packet{}, ctx.Err()
	}
}

func (c *fakeConn) LocalAddr() netip.Addr { return c.local }

func (c *fakeConn) adverts() []sentAdvert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sentAdvert(nil), c.sent...)
}

// addrEvent is one VIP change.
type addrEvent struct {
	at  time.Time
	add bool
	p   netip.Prefix
}

type fakeAddrs struct {
	clock  Clock
	mu     sync.Mutex
	events []addrEvent
	have   map[netip.Prefix]bool
}

func (f *fakeAddrs) AddAddr(ifname string, p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, addrEvent{f.clock.Now(), true, p})
	f.have[p] = true
	return nil
}

func (f *fakeAddrs) RemoveAddr(ifname string, p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, addrEvent{f.clock.Now(), false, p})
	delete(f.have, p)
	return nil
}

func (f *fakeAddrs) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.have)
}

type garpEvent struct {
	at time.Time
	ip netip.Addr
}

type fakeARP struct {
	clock Clock
	mu    sync.Mutex
	sent  []garpEvent
}

func (f *fakeARP) SendGARP(ifname string, ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, garpEvent{f.clock.Now(), ip})
	return nil
}

func (f *fakeARP) garps() []garpEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]garpEvent(nil), f.sent...)
}

// harness steps one Instance deterministically with fakes all round.
type harness struct {
	t     testing.TB
	clock *fakeClock
	conn  *fakeConn
	addrs *fakeAddrs
	arp   *fakeARP
	in    *Instance
	t0    time.Time

	mu    sync.Mutex
	trans []Transition
}

// captureConfig is the instance of the captures: VRID 51, priority 100,
// PASS "secret", VIP 10.201.0.100, advert_int 1.
func captureConfig() InstanceConfig {
	return InstanceConfig{
		Name:      "VI_1",
		Interface: "veth0",
		VRID:      51,
		Priority:  100,
		AuthType:  AuthPass,
		AuthPass:  "secret",
		VIPs:      []netip.Prefix{netip.PrefixFrom(vip, 32)},
	}
}

func newHarness(t testing.TB, cfg InstanceConfig, local netip.Addr) *harness {
	t.Helper()
	return newHarnessClock(t, cfg, local, newFakeClock())
}

func newHarnessClock(t testing.TB, cfg InstanceConfig, local netip.Addr, clock *fakeClock) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		clock: clock,
		conn:  newFakeConn(t, clock, local),
		addrs: &fakeAddrs{clock: clock, have: map[netip.Prefix]bool{}},
		arp:   &fakeARP{clock: clock},
		t0:    clock.Now(),
	}
	in, err := NewInstance(cfg, Env{
		Clock:  clock,
		Conn:   h.conn,
		Addrs:  h.addrs,
		ARP:    h.arp,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnTransition: func(tr Transition) {
			h.mu.Lock()
			h.trans = append(h.trans, tr)
			h.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.in = in
	return h
}

func (h *harness) start() { h.in.step(event{kind: evStart}) }

// since returns the time elapsed since the harness started.
func (h *harness) since(at time.Time) time.Duration { return at.Sub(h.t0) }

// now is the elapsed fake time.
func (h *harness) now() time.Duration { return h.since(h.clock.Now()) }

// advanceTo runs every timer due up to elapsed time at, in order.
func (h *harness) advanceTo(at time.Duration) {
	target := h.t0.Add(at)
	for {
		next, ok := h.in.timers.next()
		if !ok || next.After(target) {
			break
		}
		if next.After(h.clock.Now()) {
			h.clock.Set(next)
		}
		h.in.step(event{kind: evTimer})
	}
	h.clock.Set(target)
}

func (h *harness) advance(d time.Duration) { h.advanceTo(h.now() + d) }

// peerAdvert returns an advert as a correctly configured peer would send.
func (h *harness) peerAdvert(prio uint8) Advert {
	a := h.in.tx
	a.Priority = prio
	return a
}

// deliver hands a packet from src with the given advert to the instance.
func (h *harness) deliver(src netip.Addr, a Advert) {
	h.deliverTTL(src, MulticastGroup(), 255, a)
}

func (h *harness) deliverTTL(src, dst netip.Addr, ttl uint8, a Advert) {
	h.t.Helper()
	var buf [MaxAdvertLen]byte
	n, err := a.Encode(buf[:], src, dst, h.in.checksum)
	if err != nil {
		h.t.Fatal(err)
	}
	h.in.step(event{kind: evPacket, pkt: Packet{Src: src, Dst: dst, TTL: ttl, Payload: buf[:n]}})
}

func (h *harness) transitions() []Transition {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Transition(nil), h.trans...)
}

// lastTransition returns the latest transition.
func (h *harness) lastTransition() Transition {
	tr := h.transitions()
	if len(tr) == 0 {
		h.t.Fatal("no transitions")
	}
	return tr[len(tr)-1]
}

// advertTimes returns the elapsed send times of adverts with priority prio.
func (h *harness) advertTimes(prio uint8) []time.Duration {
	var ts []time.Duration
	for _, s := range h.conn.adverts() {
		if s.a.Priority == prio {
			ts = append(ts, h.since(s.at))
		}
	}
	return ts
}

func (h *harness) wantState(s State) {
	h.t.Helper()
	if got := h.in.State(); got != s {
		h.t.Fatalf("at %v: state %s, want %s", h.now(), got, s)
	}
}
