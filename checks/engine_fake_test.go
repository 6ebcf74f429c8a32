package checks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"
)

// scripted is a Prober whose results are given in advance; the last one
// repeats. It records when it was called.
type scripted struct {
	clock   Clock
	mu      sync.Mutex
	results []Result
	calls   []time.Time
}

func (s *scripted) Probe(context.Context) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, s.clock.Now())
	r := s.results[0]
	if len(s.results) > 1 {
		s.results = s.results[1:]
	}
	return r
}

func (s *scripted) set(rs ...Result) {
	s.mu.Lock()
	s.results = rs
	s.mu.Unlock()
}

func (s *scripted) offsets(start time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]time.Duration, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.Sub(start)
	}
	return out
}

var (
	okR   = Result{OK: true, Reason: "connected"}
	failR = Result{Reason: "connect: connection refused"}
)

func def(key, rs string, tm Timing, p Prober) CheckDef {
	return CheckDef{Key: key, VirtualServer: "[10.0.0.1]:tcp:80", RealServer: rs, Weight: 1, Type: "TCP_CHECK",
		Pos: "k.conf:1", Timing: tm, Probe: p, Fingerprint: key + fmt.Sprint(tm)}
}

func secs(ss ...float64) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = time.Duration(s * float64(time.Second))
	}
	return out
}

func TestEngineRetryThenDown(t *testing.T) {
	p := &scripted{results: []Result{okR, okR, failR, failR, failR, okR}}
	tm := Timing{DelayLoop: 10 * time.Second, Retry: 2, DelayBeforeRetry: 3 * time.Second}
	r := startFake(t, Options{}, nil)
	p.clock = r.clock
	sub := r.e.Subscribe()
	r.e.Update([]CheckDef{def("a", "[10.0.0.2]:80", tm, p)})
	r.settle()

	var evs []Event
	r.until(time.Second)
	evs = append(evs, sub.Take()...)
	r.until(25 * time.Second)
	if st := r.e.Status()[0]; !st.Up || st.Checkers[0].Retrying != failR.Reason {
		t.Fatalf("during retries the server stays up, retrying: %+v", st)
	}
	r.until(30 * time.Second)
	evs = append(evs, sub.Take()...)
	r.until(60 * time.Second)
	evs = append(evs, sub.Take()...)
	// delay_loop between rounds, delay_before_retry between attempts, a
	// new round delay_loop after the round that failed.
	if got, want := p.offsets(r.start), secs(0, 10, 20, 23, 26, 36, 46, 56); !reflect.DeepEqual(got, want) {
		t.Fatalf("attempts at %v, want %v", got, want)
	}
	if len(evs) != 3 {
		t.Fatalf("want first verdict, down, up; got %+v", evs)
	}
	down := evs[1]
	if down.Up || down.Attempts != 3 || down.Reason != failR.Reason || r.at(down.Time) != 26*time.Second || down.Checker != "a" {
		t.Fatalf("down event: %+v", down)
	}
	if up := evs[2]; !up.Up || up.Attempts != 1 || r.at(up.Time) != 36*time.Second {
		t.Fatalf("up event: %+v", up)
	}
}

func TestEngineDownServerStillRetries(t *testing.T) {
	// keepalived 2.2.7 retries every round, also while the checker is down.
	p := &scripted{results: []Result{failR}}
	tm := Timing{DelayLoop: 5 * time.Second, Retry: 1, DelayBeforeRetry: time.Second}
	r := startFake(t, Options{}, nil)
	p.clock = r.clock
	r.e.Update([]CheckDef{def("a", "rs", tm, p)})
	r.settle()
	r.until(13 * time.Second)
	if got, want := p.offsets(r.start), secs(0, 1, 6, 7, 12, 13); !reflect.DeepEqual(got, want) {
		t.Fatalf("attempts at %v, want %v", got, want)
	}
}

func TestEngineWarmupSpreadsFirstChecks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := startFake(t, Options{Rand: rng.Int64N}, nil)
	tm := Timing{DelayLoop: 5 * time.Second, Warmup: 5 * time.Second}
	var probes []*scripted
	var defs []CheckDef
	for i := range 200 {
		p := &scripted{clock: r.clock, results: []Result{okR}}
		probes = append(probes, p)
		defs = append(defs, def(fmt.Sprint("c", i), fmt.Sprint("rs", i), tm, p))
	}
	r.e.Update(defs)
	r.settle()
	r.until(5*time.Second - 1)
	buckets := map[time.Duration]int{}
	for _, p := range probes {
		offs := p.offsets(r.start)
		if len(offs) != 1 || offs[0] < 0 || offs[0] >= 5*time.Second {
			t.Fatalf("first attempt must fall in [0, warmup): %v", offs)
		}
		buckets[offs[0].Truncate(time.Second)]++
	}
	for b := time.Duration(0); b < 5*time.Second; b += time.Second {
		if n := buckets[b]; n < 20 {
			t.Errorf("only %d of 200 first checks in [%v, %v): not spread", n, b, b+time.Second)
		}
	}
	// Then each keeps its own phase, delay_loop apart.
	r.until(10*time.Second - 1)
	for _, p := range probes {
		if offs := p.offsets(r.start); len(offs) != 2 || offs[1]-offs[0] != 5*time.Second {
			t.Fatalf("second attempt %v", offs)
		}
	}
}

func TestEngineAlpha(t *testing.T) {
	r := startFake(t, Options{Rand: func(n int64) int64 { return n / 2 }}, nil)
	pa := &scripted{clock: r.clock, results: []Result{okR}}
	pb := &scripted{clock: r.clock, results: []Result{okR}}
	alpha := Timing{DelayLoop: 10 * time.Second, Warmup: 4 * time.Second, Alpha: true}
	plain := Timing{DelayLoop: 10 * time.Second, Warmup: 4 * time.Second}
	r.e.Update([]CheckDef{def("a", "alpha", alpha, pa), def("b", "plain", plain, pb)})
	r.settle()
	st := r.e.Status()
	if st[0].Up || st[0].Checked || st[0].Reason != "alpha: down until the first success" {
		t.Fatalf("alpha server must start down: %+v", st[0])
	}
	if !st[1].Up || st[1].Checked {
		t.Fatalf("server without alpha must start up: %+v", st[1])
	}
	r.until(3 * time.Second)
	st = r.e.Status()
	if !st[0].Up || !st[0].Checked || r.at(st[0].Since) != 2*time.Second {
		t.Fatalf("alpha server up after its first success: %+v", st[0])
	}
}

func TestEngineServerUpOnlyWhileAllCheckersPass(t *testing.T) {
	r := startFake(t, Options{}, nil)
	tcp := &scripted{clock: r.clock, results: []Result{okR}}
	http := &scripted{clock: r.clock, results: []Result{okR}}
	tm := Timing{DelayLoop: time.Second}
	d1 := def("tcp", "rs", tm, tcp)
	d2 := def("http", "rs", tm, http)
	d2.Type = "HTTP_GET"
	r.e.Update([]CheckDef{d1, d2})
	r.settle()
	sub := r.e.Subscribe()
	if st := r.e.Status(); len(st) != 1 || !st[0].Up || !st[0].Checked || len(st[0].Checkers) != 2 {
		t.Fatalf("%+v", st)
	}
	http.set(Result{Reason: "HTTP 503 from 10.0.0.2:80/health, want 200-299"})
	r.until(1500 * time.Millisecond)
	st := r.e.Status()[0]
	if st.Up || st.Checker != "http" || st.Reason != "HTTP 503 from 10.0.0.2:80/health, want 200-299" {
		t.Fatalf("one failing checker takes the server down: %+v", st)
	}
	if !st.Checkers[0].Up || st.Checkers[1].Up {
		t.Fatalf("checker verdicts: %+v", st.Checkers)
	}
	evs := sub.Take()
	if len(evs) != 1 || evs[0].Up || evs[0].CheckerType != "HTTP_GET" || evs[0].CheckerUp {
		t.Fatalf("events %+v", evs)
	}
	http.set(okR)
	r.until(2500 * time.Millisecond)
	if st := r.e.Status()[0]; !st.Up {
		t.Fatalf("%+v", st)
	}
}

func TestEngineWeights(t *testing.T) {
	r := startFake(t, Options{}, nil)
	w, off := 7, 3
	misc := &scripted{clock: r.clock, results: []Result{{OK: true, Weight: &w}}}
	file := &scripted{clock: r.clock, results: []Result{{OK: true, WeightOffset: &off}}}
	tm := Timing{DelayLoop: time.Second}
	d1, d2 := def("misc", "rs", tm, misc), def("file", "rs", tm, file)
	d1.Weight, d2.Weight = 100, 100
	r.e.Update([]CheckDef{d1, d2})
	r.settle()
	if st := r.e.Status()[0]; st.Weight != 10 {
		t.Fatalf("misc_dynamic weight 7 + file offset 3: %+v", st)
	}
	sub := r.e.Subscribe()
	misc.set(Result{OK: true})
	r.until(1500 * time.Millisecond)
	if st := r.e.Status()[0]; st.Weight != 103 {
		t.Fatalf("exit 0 restores the configured weight: %+v", st)
	}
	if evs := sub.Take(); len(evs) != 1 || evs[0].Weight != 103 || !evs[0].Up {
		t.Fatalf("a weight change is an event: %+v", evs)
	}
}

func TestEngineUpdateKeepsUnchangedChecks(t *testing.T) {
	r := startFake(t, Options{Rand: func(n int64) int64 { return n - 1 }}, nil)
	tm := Timing{DelayLoop: 10 * time.Second}
	keep := &scripted{clock: r.clock, results: []Result{okR, failR}}
	gone := &scripted{clock: r.clock, results: []Result{okR}}
	changed := &scripted{clock: r.clock, results: []Result{okR}}
	dChanged := def("changed", "rs3", tm, changed)
	r.e.Update([]CheckDef{def("keep", "rs1", tm, keep), def("gone", "rs2", tm, gone), dChanged})
	r.settle()
	r.until(5 * time.Second)

	added := &scripted{clock: r.clock, results: []Result{okR}}
	changed2 := &scripted{clock: r.clock, results: []Result{okR}}
	dChanged2 := def("changed", "rs3", Timing{DelayLoop: 20 * time.Second, Warmup: 4 * time.Second}, changed2)
	keepAgain := def("keep", "rs1", tm, &scripted{clock: r.clock, results: []Result{okR}}) // same settings, new prober
	r.e.Update([]CheckDef{keepAgain, dChanged2, def("added", "rs4", tm, added)})
	r.settle()
	r.until(30 * time.Second)

	if got, want := keep.offsets(r.start), secs(0, 10, 20, 30); !reflect.DeepEqual(got, want) {
		t.Fatalf("unchanged check keeps its prober and schedule: %v want %v", got, want)
	}
	if st := r.e.Status(); len(st) != 3 || st[0].RealServer != "rs1" || st[0].Up || st[0].Checkers[0].Attempts != 1 {
		t.Fatalf("unchanged check keeps its state: %+v", st)
	}
	if got := gone.offsets(r.start); !reflect.DeepEqual(got, secs(0)) {
		t.Fatalf("removed check still runs: %v", got)
	}
	if got, want := changed2.offsets(r.start), []time.Duration{9*time.Second - 1, 29*time.Second - 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("changed check restarts with its new settings: %v", got)
	}
	if got := changed.offsets(r.start); len(got) != 1 {
		t.Fatalf("old settings still run: %v", got)
	}
	if got := added.offsets(r.start); len(got) == 0 {
		t.Fatal("added check never ran")
	}
}

func TestSubscriptionCoalesces(t *testing.T) {
	r := startFake(t, Options{}, nil)
	p := &scripted{clock: r.clock, results: []Result{okR, failR, okR, failR, okR}}
	r.e.Update([]CheckDef{def("a", "rs", Timing{DelayLoop: time.Second}, p)})
	sub := r.e.Subscribe()
	defer sub.Close()
	r.settle()
	r.until(4 * time.Second) // 5 rounds, 5 events, nobody reading
	evs := sub.Take()
	if len(evs) != 1 || !evs[0].Up || evs[0].Coalesced != 4 || r.at(evs[0].Time) != 4*time.Second {
		t.Fatalf("a slow reader sees the latest event with a count of the missed ones: %+v", evs)
	}
}
