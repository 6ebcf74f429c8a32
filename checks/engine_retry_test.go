package checks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder notes when each attempt of a real prober starts.
type recorder struct {
	p      Prober
	mu     sync.Mutex
	starts []time.Time
	run    func(func()) // runs the probe, e.g. inside a namespace
}

func (r *recorder) Probe(ctx context.Context) Result {
	r.mu.Lock()
	r.starts = append(r.starts, time.Now())
	r.mu.Unlock()
	if r.run == nil {
		return r.p.Probe(ctx)
	}
	var res Result
	r.run(func() { res = r.p.Probe(ctx) })
	return res
}

// TestEngineRetryTimingPerChecker runs each checker type against a real
// failing server with retry 2 and delay_before_retry 150ms: the real
// server goes down only after three attempts, each started at least
// delay_before_retry after the previous one ended, with the checker's
// own reason.
func TestEngineRetryTimingPerChecker(t *testing.T) {
	const dbr = 150 * time.Millisecond
	timeout := 300 * time.Millisecond
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	t.Cleanup(web.Close) // the parallel subtests run after this function returns
	tlsWeb := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	t.Cleanup(tlsWeb.Close)
	smtpTg, _ := smtpServer(t, "554 no service\r\n", "", "")
	smtpTg.Timeout = timeout
	dnsTg, _ := dnsServer(t)
	dnsTg.Timeout = timeout
	udpAddr, _ := udpServer(t, func([]byte) []byte { return nil })
	misc := script(t, t.TempDir(), "fail.sh", "echo backend unhealthy; exit 1")

	cases := []struct {
		name   string
		probe  Prober
		reason string
		run    func(func())
	}{
		{"TCP_CHECK", NewTCP(TCPSpec{Target: targetOf(t, closedPort(t), timeout)}), "connection refused", nil},
		{"HTTP_GET", newHTTP(t, HTTPSpec{Target: serverTarget(t, web, timeout), URLs: []URL{{Path: "/health"}}}), "HTTP 503 from", nil},
		{"SSL_GET", newHTTP(t, HTTPSpec{TLS: true, Target: serverTarget(t, tlsWeb, timeout), URLs: []URL{{Path: "/"}}}), "HTTP 500 from", nil},
		{"SMTP_CHECK", NewSMTP(SMTPSpec{Target: smtpTg}), `bad greeting, want 220: server replied "554 no service"`, nil},
		{"DNS_CHECK", newDNS(t, DNSSpec{Target: dnsTg, Type: "A", Name: "fail"}), "SERVFAIL for A fail", nil},
		{"UDP_CHECK", newUDP(t, UDPSpec{Target: targetOf(t, udpAddr, timeout), RequireReply: true}), "no reply: timeout after 300ms", nil},
		{"MISC_CHECK", mustMisc(t, MiscSpec{Path: misc, Timeout: time.Second}), "exited 1: backend unhealthy", nil},
	}
	if l := maybeLab(t); l != nil {
		ping := NewPing(PingSpec{Target: Target{ConnectIP: l.none, Timeout: timeout}})
		cases = append(cases, struct {
			name   string
			probe  Prober
			reason string
			run    func(func())
		}{"PING_CHECK", ping, "no echo reply: timeout after 300ms", func(fn func()) { l.in(t, l.a, fn) }})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{p: tc.probe, run: tc.run}
			e := runEngine(t, Options{}, nil)
			sub := e.Subscribe()
			e.Update([]CheckDef{{Key: tc.name, VirtualServer: "vs", RealServer: "rs", Type: tc.name,
				Timing: Timing{DelayLoop: time.Minute, Retry: 2, DelayBeforeRetry: dbr}, Probe: rec}})
			ev := nextEvent(t, sub, "rs", 10*time.Second)
			rec.mu.Lock()
			starts := append([]time.Time(nil), rec.starts...)
			rec.mu.Unlock()
			if ev.Up || ev.Attempts != 3 || len(starts) != 3 || !strings.Contains(ev.Reason, tc.reason) {
				t.Fatalf("want down after 3 attempts with %q; got %d attempts, %+v", tc.reason, len(starts), ev)
			}
			for i := 1; i < 3; i++ {
				if gap := starts[i].Sub(starts[i-1]); gap < dbr {
					t.Errorf("attempt %d started %v after the previous one, want ≥ delay_before_retry %v", i+1, gap, dbr)
				}
			}
			if st := e.Status()[0]; st.Up || st.Reason != ev.Reason || st.Checkers[0].Attempts != 3 {
				t.Errorf("status %+v", st)
			}
		})
	}
}

func mustMisc(t *testing.T, spec MiscSpec) *Misc {
	t.Helper()
	m, err := NewMisc(spec)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// maybeLab returns a namespace lab when running as root, else nil.
func maybeLab(t *testing.T) *lab {
	if os.Geteuid() != 0 {
		t.Log("not root: PING_CHECK needs a namespace lab; skipped")
		return nil
	}
	return newLab(t)
}
