package checks

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"
)

// runEngine runs a real-time engine on defs until the test ends.
func runEngine(t *testing.T, opts Options, defs []CheckDef) *Engine {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := NewEngine(opts)
	e.Update(defs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// nextEvent waits for an event of real server rs.
func nextEvent(t *testing.T, sub *Subscription, rs string, timeout time.Duration) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		evs, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("no event for %s within %v", rs, timeout)
		}
		for _, ev := range evs {
			if ev.RealServer == rs {
				return ev
			}
		}
	}
}

func TestEngineServerGoesDownAndComesBack(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	serve := func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}
	go serve(ln)
	tg := targetOf(t, addr, time.Second)
	tm := Timing{DelayLoop: 100 * time.Millisecond, Retry: 1, DelayBeforeRetry: 50 * time.Millisecond, ConnectTimeout: time.Second}
	e := runEngine(t, Options{}, nil)
	sub := e.Subscribe()
	e.Update([]CheckDef{{Key: "tcp", VirtualServer: "vs", RealServer: addr, Type: "TCP_CHECK", Timing: tm, Probe: NewTCP(TCPSpec{Target: tg})}})

	if ev := nextEvent(t, sub, addr, 5*time.Second); !ev.Up || ev.Reason != "connected to "+addr {
		t.Fatalf("first verdict: %+v", ev)
	}
	ln.Close()
	ev := nextEvent(t, sub, addr, 5*time.Second)
	if ev.Up || ev.Attempts != 2 || ev.Reason != "connect "+addr+": connection refused" {
		t.Fatalf("after the listener closed: %+v", ev)
	}
	st := e.Status()[0]
	if st.Up || st.Reason != ev.Reason || st.Checker != "tcp" {
		t.Fatalf("status: %+v", st)
	}
	ln2, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	go serve(ln2)
	if ev := nextEvent(t, sub, addr, 5*time.Second); !ev.Up || ev.Attempts != 1 {
		t.Fatalf("after the listener returned: %+v", ev)
	}
}

// counter is a Prober that counts its successful attempts.
type counter struct{ n chan struct{} }

func (c counter) Probe(context.Context) Result {
	select {
	case c.n <- struct{}{}:
	default:
	}
	return Result{OK: true, Reason: "ok"}
}

func TestEngineHangingServerAndScriptBlockNothing(t *testing.T) {
	hang := silentServer(t)
	slow := script(t, t.TempDir(), "slow.sh", "sleep 30")
	misc, err := NewMisc(MiscSpec{Path: slow, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	httpc := newHTTP(t, HTTPSpec{Target: targetOf(t, hang, 20*time.Second), URLs: []URL{{Path: "/"}}})
	tm := Timing{DelayLoop: 20 * time.Millisecond}
	c := counter{n: make(chan struct{}, 1)}
	var defs []CheckDef
	// More hanging checks than attempts may run at once: the slots they
	// hold must not starve the healthy check.
	for i := range 3 {
		defs = append(defs,
			CheckDef{Key: "http" + string(rune('a'+i)), VirtualServer: "vs", RealServer: "hang", Timing: tm, Probe: httpc},
			CheckDef{Key: "misc" + string(rune('a'+i)), VirtualServer: "vs", RealServer: "script", Timing: tm, Probe: misc})
	}
	defs = append(defs, CheckDef{Key: "ok", VirtualServer: "vs", RealServer: "healthy", Timing: tm, Probe: c})
	runEngine(t, Options{MaxInFlight: 8}, defs)
	for i := range 20 {
		select {
		case <-c.n:
		case <-time.After(5 * time.Second):
			t.Fatalf("healthy check stalled after %d attempts", i)
		}
	}
}

func TestEngineMaxInFlightQueuesRatherThanDrops(t *testing.T) {
	// With one slot, a hanging check delays the others but none is lost.
	hang := silentServer(t)
	c := counter{n: make(chan struct{}, 1)}
	tm := Timing{DelayLoop: 10 * time.Millisecond}
	httpc := newHTTP(t, HTTPSpec{Target: targetOf(t, hang, 300*time.Millisecond), URLs: []URL{{Path: "/"}}})
	runEngine(t, Options{MaxInFlight: 1}, []CheckDef{
		{Key: "hang", VirtualServer: "vs", RealServer: "hang", Timing: tm, Probe: httpc},
		{Key: "ok", VirtualServer: "vs", RealServer: "ok", Timing: tm, Probe: c},
	})
	for range 3 {
		select {
		case <-c.n:
		case <-time.After(5 * time.Second):
			t.Fatal("queued check never ran")
		}
	}
}

// slow is a Prober that takes a while.
type slow struct{ d time.Duration }

func (s slow) Probe(ctx context.Context) Result {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
	}
	return Result{OK: true, Reason: "slow ok"}
}

func TestEngineUpdateWhileAttemptsRun(t *testing.T) {
	// Run with -race: Update rewrites kept checks while their attempts run.
	tm := Timing{DelayLoop: 5 * time.Millisecond}
	var defs []CheckDef
	for i := range 20 {
		k := string(rune('a' + i))
		defs = append(defs, CheckDef{Key: k, VirtualServer: "vs", RealServer: k, Timing: tm, Probe: slow{20 * time.Millisecond}, Fingerprint: "same"})
	}
	e := runEngine(t, Options{}, defs)
	for i := range 50 {
		next := append([]CheckDef(nil), defs...)
		for j := range next {
			next[j].Pos = "k.conf:" + string(rune('0'+i%10)) // not part of the fingerprint: kept
			next[j].Probe = slow{time.Millisecond}
		}
		e.Update(next)
		time.Sleep(2 * time.Millisecond)
		_ = e.Status()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := e.Status()
		if len(st) == 20 && allCheckedUp(st) && st[0].Checkers[0].Pos == "k.conf:9" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func allCheckedUp(st []ServerStatus) bool {
	for _, s := range st {
		if !s.Checked || !s.Up {
			return false
		}
	}
	return true
}
