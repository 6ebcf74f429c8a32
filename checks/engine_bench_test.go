package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	nslab "github.com/tandem-ha/tandem/testing/lab"
)

// Benchmark figures: 5,000 real servers, one TCP_CHECK each, delay_loop 1.
const (
	benchServers  = 5000
	benchBasePort = 20000
	benchSettle   = 3 * time.Second  // warmup spreads the first round over 1 s
	benchMeasure  = 30 * time.Second // measured window
	benchChildEnv = "TANDEM_CHECKS_BENCH_CHILD"
)

// benchFigures is what the child engine measured.
type benchFigures struct {
	Checks       int     `json:"checks"`
	Seconds      float64 `json:"seconds"`
	ChecksPerSec float64 `json:"checks_per_sec"`
	Failed       int     `json:"failed"`
	CPUPerMinute float64 `json:"cpu_s_per_min"`
	UserPerMin   float64 `json:"user_s_per_min"`
	SysPerMin    float64 `json:"sys_s_per_min"`
	LateP50ms    float64 `json:"late_p50_ms"`
	LateP99ms    float64 `json:"late_p99_ms"`
	LateMaxms    float64 `json:"late_max_ms"`
	ProbeP50ms   float64 `json:"probe_p50_ms"`
	ProbeP99ms   float64 `json:"probe_p99_ms"`
	Goroutines   int     `json:"goroutines"`
	HeapMB       float64 `json:"heap_mb"`
	MaxRSSMB     float64 `json:"max_rss_mb"`
}

// BenchmarkEngine5000TCP runs one engine checking 5,000 real servers with
// TCP_CHECK at delay_loop 1 against 5,000 listeners (one address, 5,000
// ports) in a lab namespace. The engine runs in a child process inside
// the checker's namespace, so its CPU time (getrusage) is its own; the
// listeners run in this process. The goal is p99 lateness < 50 ms within
// a quarter of one core (15 CPU seconds per minute).
// TANDEM_CHECKS_BENCH_SECONDS shortens or lengthens the measured window;
// TANDEM_CHECKS_BENCH_PROFILE writes the engine's CPU profile there;
// TANDEM_CHECKS_BENCH_INFLIGHT overrides MaxInFlight.
func BenchmarkEngine5000TCP(b *testing.B) {
	l := nslab.New(b, nslab.Options{Subnet: netip.MustParsePrefix("10.79.1.0/24"), Hosts: []string{"director", "servers"}})
	dir, srv := l.Host("director"), l.Host("servers")
	var lns []net.Listener
	b.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
	})
	err := srv.Do(func() error {
		for i := range benchServers {
			ln, err := net.Listen("tcp4", netip.AddrPortFrom(srv.IP, uint16(benchBasePort+i)).String())
			if err != nil {
				return err
			}
			lns = append(lns, ln)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, ln := range lns {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), benchSettle+benchMeasure+time.Minute)
		env := []string{"env", benchChildEnv + "=" + srv.IP.String()}
		for _, k := range []string{"TANDEM_CHECKS_BENCH_SECONDS", "TANDEM_CHECKS_BENCH_PROFILE", "TANDEM_CHECKS_BENCH_INFLIGHT"} {
			if v := os.Getenv(k); v != "" {
				env = append(env, k+"="+v)
			}
		}
		p, err := dir.Start(ctx, append(env, os.Args[0],
			"-test.run=^TestEngineBenchChild$", "-test.v", "-test.count=1")...)
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		err = p.Wait()
		cancel()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, p.Log())
		}
		var f benchFigures
		for _, line := range strings.Split(p.Log(), "\n") {
			if s, ok := strings.CutPrefix(line, "BENCH "); ok {
				err = json.Unmarshal([]byte(s), &f)
			}
		}
		if err != nil || f.Checks == 0 {
			b.Fatalf("no figures (%v):\n%s", err, p.Log())
		}
		b.ReportMetric(f.ChecksPerSec, "checks/s")
		b.ReportMetric(f.CPUPerMinute, "cpu-s/min")
		b.ReportMetric(f.UserPerMin, "user-s/min")
		b.ReportMetric(f.SysPerMin, "sys-s/min")
		b.ReportMetric(f.LateP99ms, "p99-late-ms")
		b.ReportMetric(f.LateMaxms, "max-late-ms")
		b.ReportMetric(f.ProbeP99ms, "p99-probe-ms")
		b.ReportMetric(float64(f.Goroutines), "goroutines")
		b.ReportMetric(f.HeapMB, "heap-MB")
		b.ReportMetric(f.MaxRSSMB, "maxrss-MB")
		b.ReportMetric(float64(f.Failed), "failed")
		b.Logf("%+v", f)
	}
}

// TestEngineBenchChild is BenchmarkEngine5000TCP's engine, run in the
// director's namespace; it does nothing in a normal test run.
func TestEngineBenchChild(t *testing.T) {
	target := os.Getenv(benchChildEnv)
	if target == "" {
		t.Skip("only run by BenchmarkEngine5000TCP")
	}
	ip := netip.MustParseAddr(target)
	var measuring atomic.Bool
	var durMu sync.Mutex
	var durs []time.Duration
	tm := Timing{DelayLoop: time.Second, ConnectTimeout: 3 * time.Second, Retry: 1, DelayBeforeRetry: time.Second,
		Warmup: time.Second}
	defs := make([]CheckDef, benchServers)
	for i := range defs {
		tg := Target{ConnectIP: ip, ConnectPort: uint16(benchBasePort + i), Timeout: tm.ConnectTimeout}
		rs := netip.AddrPortFrom(ip, tg.ConnectPort).String()
		defs[i] = CheckDef{Key: "vs/" + rs + "/TCP_CHECK#1", VirtualServer: "[10.79.1.100]:tcp:80", RealServer: rs,
			Weight: 1, Type: "TCP_CHECK", Timing: tm, Probe: &timed{p: NewTCP(TCPSpec{Target: tg}), on: &measuring, mu: &durMu, d: &durs}}
	}
	late := make([]time.Duration, 0, benchServers*int(benchMeasure/time.Second)*2)
	maxInFlight, _ := strconv.Atoi(os.Getenv("TANDEM_CHECKS_BENCH_INFLIGHT"))
	e := NewEngine(Options{
		MaxInFlight: maxInFlight,
		Logger:      slog.New(slog.DiscardHandler),
		OnStart: func(_ string, d time.Duration) { // on the engine's loop
			if measuring.Load() {
				late = append(late, d)
			}
		},
	})
	e.Update(defs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()

	time.Sleep(benchSettle)
	measure := benchMeasure
	if v, err := strconv.Atoi(os.Getenv("TANDEM_CHECKS_BENCH_SECONDS")); err == nil && v > 0 {
		measure = time.Duration(v) * time.Second
	}
	if path := os.Getenv("TANDEM_CHECKS_BENCH_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t0 := time.Now()
	measuring.Store(true)
	time.Sleep(measure)
	measuring.Store(false)
	elapsed := time.Since(t0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	goroutines := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	failed := 0
	for _, s := range e.Status() {
		if !s.Up {
			failed++
		}
	}
	cancel()
	<-done
	starts := len(late)
	slices.Sort(durs)
	pq := func(p float64) float64 {
		if len(durs) == 0 {
			return 0
		}
		return float64(durs[min(len(durs)-1, int(p*float64(len(durs))))]) / 1e6
	}

	cpu := tvDur(ru1.Utime) + tvDur(ru1.Stime) - tvDur(ru0.Utime) - tvDur(ru0.Stime)
	slices.Sort(late)
	q := func(p float64) float64 {
		if len(late) == 0 {
			return 0
		}
		return float64(late[min(len(late)-1, int(p*float64(len(late))))]) / 1e6
	}
	f := benchFigures{
		Checks: starts, Seconds: elapsed.Seconds(), ChecksPerSec: float64(starts) / elapsed.Seconds(),
		Failed: failed, CPUPerMinute: cpu.Seconds() / elapsed.Minutes(),
		UserPerMin: (tvDur(ru1.Utime) - tvDur(ru0.Utime)).Seconds() / elapsed.Minutes(),
		SysPerMin:  (tvDur(ru1.Stime) - tvDur(ru0.Stime)).Seconds() / elapsed.Minutes(),
		LateP50ms:  q(0.5), LateP99ms: q(0.99), LateMaxms: q(1), ProbeP50ms: pq(0.5), ProbeP99ms: pq(0.99),
		Goroutines: goroutines, HeapMB: float64(ms.HeapInuse) / (1 << 20), MaxRSSMB: float64(ru1.Maxrss) / 1024,
	}
	out, _ := json.Marshal(f)
	fmt.Println("BENCH " + string(out))
}

func tvDur(tv syscall.Timeval) time.Duration {
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
}

// timed records how long each attempt takes while on is set.
type timed struct {
	p  Prober
	on *atomic.Bool
	mu *sync.Mutex
	d  *[]time.Duration
}

func (t *timed) Probe(ctx context.Context) Result {
	start := time.Now()
	r := t.p.Probe(ctx)
	if t.on.Load() {
		d := time.Since(start)
		t.mu.Lock()
		*t.d = append(*t.d, d)
		t.mu.Unlock()
	}
	return r
}

// BenchmarkEngine5000Noop is the engine's own cost: the same 5,000
// checks at delay_loop 1 with a prober that returns at once, so that what
// BenchmarkEngine5000TCP measures beyond this is the probes (mostly the
// kernel's TCP handshakes).
func BenchmarkEngine5000Noop(b *testing.B) {
	tm := Timing{DelayLoop: time.Second, Retry: 1, DelayBeforeRetry: time.Second, Warmup: time.Second}
	defs := make([]CheckDef, benchServers)
	for i := range defs {
		rs := fmt.Sprintf("[10.79.2.%d]:%d", i%250+1, 1000+i)
		defs[i] = CheckDef{Key: rs, VirtualServer: "[10.79.1.100]:tcp:80", RealServer: rs, Weight: 1, Type: "TCP_CHECK",
			Timing: tm, Probe: noop{}}
	}
	measure := 10 * time.Second
	for range b.N {
		var late []time.Duration
		var on atomic.Bool
		e := NewEngine(Options{Logger: slog.New(slog.DiscardHandler), OnStart: func(_ string, d time.Duration) {
			if on.Load() {
				late = append(late, d)
			}
		}})
		e.Update(defs)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); e.Run(ctx) }()
		time.Sleep(benchSettle)
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		t0 := time.Now()
		on.Store(true)
		time.Sleep(measure)
		on.Store(false)
		elapsed := time.Since(t0)
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cancel()
		<-done
		cpu := tvDur(ru1.Utime) + tvDur(ru1.Stime) - tvDur(ru0.Utime) - tvDur(ru0.Stime)
		slices.Sort(late)
		b.ReportMetric(float64(len(late))/elapsed.Seconds(), "checks/s")
		b.ReportMetric(cpu.Seconds()/elapsed.Minutes(), "cpu-s/min")
		if len(late) > 0 {
			b.ReportMetric(float64(late[len(late)*99/100])/1e6, "p99-late-ms")
		}
	}
}

type noop struct{}

func (noop) Probe(context.Context) Result { return Result{OK: true, Reason: "ok"} }
