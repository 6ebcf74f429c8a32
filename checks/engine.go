package checks

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// DefaultMaxInFlight bounds how many attempts run at once when
// Options.MaxInFlight is zero. At 5,000 checks a second a stall of a few
// tens of milliseconds (a busy CPU delaying the kernel's TCP work) puts
// hundreds of attempts in flight at once; with 256 slots the checks due
// meanwhile queued and started 100+ ms late (BenchmarkEngine5000TCP), with
// 1024 they start on time. An idle worker costs a few KiB.
const DefaultMaxInFlight = 1024

// DefaultResolution is the engine's tick when Options.Resolution is zero.
const DefaultResolution = 5 * time.Millisecond

// Options configure an Engine.
type Options struct {
	// Clock is the source of time; nil means SystemClock().
	Clock Clock
	// MaxInFlight bounds concurrent attempts; 0 means DefaultMaxInFlight.
	// A check due while all slots are busy waits for one (and is late),
	// so a hanging server or script delays no more than its own checks.
	MaxInFlight int
	// Resolution is the engine's tick: due checks start on tick
	// boundaries (at most this late) and finished attempts are collected
	// once a tick, so thousands of checks cost hundreds of wake-ups a
	// second, not thousands. 0 means DefaultResolution.
	Resolution time.Duration
	// Logger receives transitions; nil means slog.Default().
	Logger *slog.Logger
	// Rand returns a random number in [0, n), for warmup; nil means
	// math/rand/v2.
	Rand func(n int64) int64
	// OnStart, if set, is called from the engine's loop as each attempt
	// starts, with how late it is against its schedule.
	OnStart func(key string, late time.Duration)
}

// Engine runs every checker on its own schedule and keeps the verdict of
// every real server. One goroutine owns all schedules (a heap of due
// times and one timer, woken at most once a Resolution tick); attempts
// run on a pool of at most MaxInFlight workers.
type Engine struct {
	clock   Clock
	max     int
	res     time.Duration
	log     *slog.Logger
	onStart func(string, time.Duration)

	mu    sync.Mutex // guards sched; the loop holds it while changing state
	sched *scheduler

	upMu    sync.Mutex
	pending *[]CheckDef // latest Update not yet applied
	updated chan struct{}

	doneMu  sync.Mutex // guards done
	done    []outcome  // finished attempts not yet applied
	syncReq chan chan int

	subMu sync.Mutex
	subs  map[*Subscription]struct{}

	running sync.Mutex // one Run at a time
}

type outcome struct {
	c  *check
	r  Result
	at time.Time // when the attempt ended
}

// NewEngine returns an engine with no checks; call Update and Run.
func NewEngine(opts Options) *Engine {
	if opts.Clock == nil {
		opts.Clock = SystemClock()
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Resolution <= 0 {
		opts.Resolution = DefaultResolution
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Rand == nil {
		opts.Rand = rand.Int64N
	}
	return &Engine{
		clock:   opts.Clock,
		max:     opts.MaxInFlight,
		res:     opts.Resolution,
		log:     opts.Logger,
		onStart: opts.OnStart,
		sched:   newScheduler(opts.Rand),
		updated: make(chan struct{}, 1),
		syncReq: make(chan chan int),
		subs:    map[*Subscription]struct{}{},
	}
}

// Update replaces the set of checks. Checks with the same key and
// fingerprint keep running undisturbed; new or changed ones start (after
// a random warmup), removed ones stop. It never blocks: Run applies the
// latest set.
func (e *Engine) Update(defs []CheckDef) {
	defs = append([]CheckDef(nil), defs...)
	e.upMu.Lock()
	e.pending = &defs
	e.upMu.Unlock()
	select {
	case e.updated <- struct{}{}:
	default:
	}
}

// Status returns the current verdict on every real server, in
// configuration order.
func (e *Engine) Status() []ServerStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sched.status()
}

// Run checks until ctx ends, then cancels the attempts still running and
// waits for them.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.TryLock() {
		return errors.New("checks: engine is already running")
	}
	defer e.running.Unlock()
	probeCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	timer := e.clock.NewTimer(time.Hour)
	timer.Stop()
	var armed time.Time // when the timer fires; zero when stopped
	var waiting []*check
	inFlight := 0
	// Attempts run on a pool of long-lived workers, grown up to
	// MaxInFlight: a fresh goroutine per attempt would grow its stack
	// anew every time.
	jobs := make(chan job, e.max)
	workers := 0
	due := make([]*check, 0, 64)

	launch := func(now time.Time) {
		e.mu.Lock()
		due = e.sched.popDue(now, due[:0])
		e.mu.Unlock()
		waiting = append(waiting, due...)
		for len(waiting) > 0 && inFlight < e.max {
			c := waiting[0]
			waiting[0] = nil
			waiting = waiting[1:]
			if c.gone {
				continue
			}
			if e.onStart != nil {
				e.onStart(c.def.Key, now.Sub(c.due))
			}
			inFlight++
			if workers < inFlight {
				workers++
				wg.Add(1)
				go e.worker(probeCtx, &wg, jobs)
			}
			// The worker gets what it needs by value: Update may rewrite
			// c.def of a kept check while the attempt runs.
			jobs <- job{c: c, p: c.def.Probe, limit: c.def.Timing.AttemptLimit}
		}
	}

	collect := func() {
		e.doneMu.Lock()
		done := e.done
		e.done = nil
		e.doneMu.Unlock()
		for _, o := range done {
			inFlight--
			e.finish(o)
		}
	}

	e.applyUpdate()
	for {
		collect()
		now := e.clock.Now()
		launch(now)
		// Sleep until the next due check, rounded up to a tick, or the
		// next tick while attempts are running (to collect them).
		var wake time.Time
		if next, ok := e.sched.next(); ok && len(waiting) == 0 {
			wake = e.ceil(next)
		}
		if inFlight > 0 {
			if tick := e.ceil(now.Add(e.res)); wake.IsZero() || tick.Before(wake) {
				wake = tick
			}
		}
		switch {
		case wake.IsZero() && !armed.IsZero():
			timer.Stop()
			armed = time.Time{}
		case !wake.IsZero() && !wake.Equal(armed):
			timer.Reset(max(wake.Sub(now), 0))
			armed = wake
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C():
			armed = time.Time{}
		case <-e.updated:
			e.applyUpdate()
		case reply := <-e.syncReq:
			collect()
			launch(e.clock.Now())
			e.doneMu.Lock()
			n := len(e.done)
			e.doneMu.Unlock()
			reply <- inFlight + len(waiting) + n
		}
	}
}

// ceil rounds t up to the engine's tick.
func (e *Engine) ceil(t time.Time) time.Time {
	if r := t.Truncate(e.res); r.Before(t) {
		return r.Add(e.res)
	}
	return t
}

// job is one attempt handed to a worker.
type job struct {
	c     *check
	p     Prober
	limit time.Duration
}

// worker runs attempts until ctx ends.
func (e *Engine) worker(ctx context.Context, wg *sync.WaitGroup, jobs <-chan job) {
	defer wg.Done()
	for {
		select {
		case j := <-jobs:
			e.attempt(ctx, j.c, j.p, j.limit)
		case <-ctx.Done():
			return
		}
	}
}

func (e *Engine) attempt(ctx context.Context, c *check, p Prober, limit time.Duration) {
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	r := p.Probe(ctx)
	o := outcome{c: c, r: r, at: e.clock.Now()}
	e.doneMu.Lock()
	e.done = append(e.done, o)
	e.doneMu.Unlock()
}

func (e *Engine) finish(o outcome) {
	e.mu.Lock()
	ev, ok := e.sched.complete(o.c, o.r, o.at)
	e.mu.Unlock()
	if ok {
		e.publish(ev)
	}
}

func (e *Engine) applyUpdate() {
	e.upMu.Lock()
	p := e.pending
	e.pending = nil
	e.upMu.Unlock()
	if p == nil {
		return
	}
	e.mu.Lock()
	evs := e.sched.update(e.clock.Now(), *p)
	e.mu.Unlock()
	for _, ev := range evs {
		e.publish(ev)
	}
}

func (e *Engine) publish(ev Event) {
	state := "down"
	if ev.Up {
		state = "up"
	}
	e.log.Info("real server "+state, "vs", ev.VirtualServer, "rs", ev.RealServer, "weight", ev.Weight,
		"checker", ev.Checker, "checker_up", ev.CheckerUp, "attempts", ev.Attempts, "reason", ev.Reason)
	e.subMu.Lock()
	for s := range e.subs {
		s.post(ev)
	}
	e.subMu.Unlock()
}

// settle is for tests with a fake clock: it makes the loop launch what is
// due now and reports how many attempts are running or waiting.
func (e *Engine) settle(ctx context.Context) (int, error) {
	reply := make(chan int, 1)
	select {
	case e.syncReq <- reply:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return <-reply, nil
}
