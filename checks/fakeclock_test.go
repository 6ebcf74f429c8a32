package checks

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c      *fakeClock
	ch     chan time.Time
	at     time.Time
	active bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{c: f, ch: make(chan time.Time, 1), at: f.now.Add(d), active: true}
	f.timers = append(f.timers, t)
	return t
}

// set moves the clock to at and fires the timers due by then.
func (f *fakeClock) set(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = at
	for _, t := range f.timers {
		if t.active && !t.at.After(at) {
			t.active = false
			select {
			case t.ch <- at:
			default:
			}
		}
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	select { // drop a stale tick, as Go 1.23 timers do
	case <-t.ch:
	default:
	}
	t.at, t.active = t.c.now.Add(d), true
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.active = false
}

// fakeRun drives an engine on a fake clock: every attempt returns at
// once, and time jumps from one due check to the next.
type fakeRun struct {
	t     *testing.T
	clock *fakeClock
	e     *Engine
	start time.Time
}

func startFake(t *testing.T, opts Options, defs []CheckDef) *fakeRun {
	t.Helper()
	fc := newFakeClock()
	opts.Clock = fc
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := NewEngine(opts)
	e.Update(defs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	r := &fakeRun{t: t, clock: fc, e: e, start: fc.Now()}
	r.settle()
	return r
}

// settle waits until every attempt due now has finished and been applied.
func (r *fakeRun) settle() {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := r.e.settle(context.Background())
		if err != nil {
			r.t.Fatal(err)
		}
		if n == 0 {
			// The update may still be pending the first time.
			r.e.upMu.Lock()
			p := r.e.pending
			r.e.upMu.Unlock()
			if p == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("engine never settled (%d attempts running)", n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// until runs the engine up to offset d from the start.
func (r *fakeRun) until(d time.Duration) {
	r.t.Helper()
	end := r.start.Add(d)
	for {
		r.e.mu.Lock()
		next, ok := r.e.sched.next()
		r.e.mu.Unlock()
		if !ok || next.After(end) {
			r.clock.set(end)
			r.settle()
			return
		}
		r.clock.set(next)
		r.settle()
	}
}

// at returns the offset of tm from the start.
func (r *fakeRun) at(tm time.Time) time.Duration { return tm.Sub(r.start) }
