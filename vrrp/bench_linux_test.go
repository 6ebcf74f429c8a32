package vrrp_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// daemon starts tandem or keepalived with conf on h.
func daemon(t testing.TB, l *lab.Lab, h *lab.Host, tandem bool, conf string) *lab.Proc {
	t.Helper()
	if tandem {
		return startTandem(t, l, h, conf, "").Proc
	}
	return lab.StartKeepalived(t, h, conf)
}

// failoverTimes are one round of measurements, on the wire.
type failoverTimes struct {
	startup  time.Duration // process start to first advert as master
	crash    time.Duration // master's last advert to the backup's first, after SIGKILL
	graceful time.Duration // master's priority 0 to the backup's first advert, after SIGTERM
}

// measureFailover runs a pair of the same implementation (master 100,
// backup 90) on hosts a and b of l.
func measureFailover(b *testing.B, l *lab.Lab, tandem bool) failoverTimes {
	a, bh := l.Host("a"), l.Host("b")
	vip := l.IP(100)
	mc := instConf{VRID: 71, Priority: 100, Pass: "secret", VIPs: []netip.Addr{vip}}
	bc := mc
	bc.Priority = 90
	var ft failoverTimes
	c, err := l.Capture(context.Background(), "", "vrrp")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	m := daemon(b, l, a, tandem, mc.String())
	back := daemon(b, l, bh, tandem, bc.String())
	waitFor(b, 10*time.Second, "master", func() bool { return len(holders(b, vip, a)) == 1 })
	time.Sleep(1500 * time.Millisecond)
	if err := m.Kill(); err != nil {
		b.Fatal(err)
	}
	waitFor(b, 10*time.Second, "backup to take over", func() bool { return len(holders(b, vip, bh)) == 1 })
	time.Sleep(200 * time.Millisecond)
	ws := readCapture(b, c)
	ma, ba := adverts(ws, a.IP, 71), adverts(ws, bh.IP, 71)
	if len(ma) == 0 || len(ba) == 0 {
		b.Fatalf("no adverts: %d %d", len(ma), len(ba))
	}
	ft.startup = ma[0].At.Sub(start)
	if b.Failed() {
		return ft
	}
	last := ma[len(ma)-1]
	firstB := firstAfter(ba, last.At)
	if firstB == nil || ba[0].At.Before(last.At) {
		b.Fatalf("the backup advertised while the master was up")
	}
	ft.crash = firstB.At.Sub(last.At)

	// Graceful: restart the master, let it preempt, then SIGTERM it.
	c, err = l.Capture(context.Background(), "", "vrrp")
	if err != nil {
		b.Fatal(err)
	}
	m = daemon(b, l, a, tandem, mc.String())
	waitFor(b, 10*time.Second, "master again", func() bool {
		hs := holders(b, vip, a, bh)
		return len(hs) == 1 && hs[0] == "a"
	})
	time.Sleep(1200 * time.Millisecond)
	m.Signal(syscall.SIGTERM)
	waitFor(b, 10*time.Second, "backup to take over", func() bool {
		hs := holders(b, vip, a, bh)
		return len(hs) == 1 && hs[0] == "b"
	})
	time.Sleep(200 * time.Millisecond)
	ws = readCapture(b, c)
	ma = adverts(ws, a.IP, 71)
	if len(ma) == 0 || ma[len(ma)-1].Advert.Priority != 0 {
		b.Fatal("no priority 0 advert")
	}
	first := firstAfter(adverts(ws, bh.IP, 71), ma[len(ma)-1].At)
	if first == nil {
		b.Fatal("backup did not advertise")
	}
	ft.graceful = first.At.Sub(ma[len(ma)-1].At)
	<-m.Done()
	back.Kill()
	// Remove what a crashed daemon may have left.
	for _, h := range []*lab.Host{a, bh} {
		h.Run(context.Background(), "ip", "addr", "del", vip.String()+"/32", "dev", "eth0")
	}
	return ft
}

// BenchmarkFailover measures, on the wire, start-up to master, crash
// failover and graceful failover for a tandem pair and a keepalived pair
// in the same run, and reports tandem/keepalived ratios.
func BenchmarkFailover(b *testing.B) {
	needLab(b)
	l := lab.New(b, lab.Options{Subnet: netip.MustParsePrefix("10.203.30.0/24"), Hosts: []string{"a", "b"}})
	var tt, kt failoverTimes
	n := 0
	for b.Loop() {
		t1 := measureFailover(b, l, true)
		k1 := measureFailover(b, l, false)
		tt.startup += t1.startup
		tt.crash += t1.crash
		tt.graceful += t1.graceful
		kt.startup += k1.startup
		kt.crash += k1.crash
		kt.graceful += k1.graceful
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(n) / 1e6 }
	b.ReportMetric(ms(tt.startup), "tandem-startup-ms")
	b.ReportMetric(ms(kt.startup), "keepalived-startup-ms")
	b.ReportMetric(ms(tt.crash), "tandem-crash-ms")
	b.ReportMetric(ms(kt.crash), "keepalived-crash-ms")
	b.ReportMetric(ms(tt.graceful), "tandem-graceful-ms")
	b.ReportMetric(ms(kt.graceful), "keepalived-graceful-ms")
	b.ReportMetric(float64(tt.startup)/float64(kt.startup), "startup-ratio")
	b.ReportMetric(float64(tt.crash)/float64(kt.crash), "crash-ratio")
	b.ReportMetric(float64(tt.graceful)/float64(kt.graceful), "graceful-ratio")
}

// manyInstances is a configuration of n instances (VRIDs 1..n, one VIP
// each from l.IP(101)), advert_int 1, at priority prio.
func manyInstances(l *lab.Lab, n, prio int) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		sb.WriteString(instConf{Name: fmt.Sprintf("VI_%d", i), VRID: i, Priority: prio, Pass: "secret", VIPs: []netip.Addr{l.IP(100 + i)}}.String())
	}
	return sb.String()
}

// groupUsage returns the CPU time and the summed peak RSS (VmHWM) of the
// processes in process group pgid.
func groupUsage(b *testing.B, pgid int) (cpu time.Duration, hwm int64, pids []int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+2:]))
		// Fields from the state on: state(0) ppid(1) pgrp(2) ... utime(11) stime(12).
		if len(f) < 13 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		cpu += time.Duration(ut+st) * time.Second / 100 // USER_HZ
		status, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		for _, ln := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(ln, "VmHWM:") {
				kb, _ := strconv.ParseInt(strings.Fields(ln)[1], 10, 64)
				hwm += kb * 1024
			}
		}
		pids = append(pids, pid)
	}
	return cpu, hwm, pids
}

// BenchmarkResources100 runs 100 instances (advert_int 1) as master against
// a keepalived peer holding the same 100 instances as backup, first with
// tandem, then with keepalived, and reports each one's CPU seconds per
// minute and peak RSS over the window (TANDEM_BENCH_WINDOW, default 30s).
func BenchmarkResources100(b *testing.B) {
	needLab(b)
	window := 30 * time.Second
	if v := os.Getenv("TANDEM_BENCH_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		window = d
	}
	l := lab.New(b, lab.Options{Subnet: netip.MustParsePrefix("10.203.31.0/24"), Hosts: []string{"subject", "peer"}})
	sh, ph := l.Host("subject"), l.Host("peer")
	lab.StartKeepalived(b, ph, manyInstances(l, 100, 50))
	type usage struct {
		cpuPerMin float64
		rssMB     float64
	}
	measure := func(tandem bool) usage {
		p := daemon(b, l, sh, tandem, manyInstances(l, 100, 100))
		waitFor(b, 15*time.Second, "100 masters", func() bool {
			addrs, _ := sh.Addrs("eth0")
			return len(addrs) == 101
		})
		time.Sleep(2 * time.Second) // past the start-up burst
		cpu0, _, _ := groupUsage(b, p.Pid())
		time.Sleep(window)
		cpu1, hwm, pids := groupUsage(b, p.Pid())
		p.Signal(syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(15 * time.Second):
			p.Kill()
		}
		b.Logf("%s (pids %v): %.3f CPU-s over %v, peak RSS %.1f MB",
			map[bool]string{true: "tandem", false: "keepalived"}[tandem], pids, (cpu1 - cpu0).Seconds(), window, float64(hwm)/1e6)
		return usage{cpuPerMin: (cpu1 - cpu0).Seconds() * float64(time.Minute) / float64(window), rssMB: float64(hwm) / 1e6}
	}
	var tu, ku usage
	for b.Loop() {
		tu = measure(true)
		ku = measure(false)
	}
	b.ReportMetric(tu.cpuPerMin, "tandem-cpu-s/min")
	b.ReportMetric(ku.cpuPerMin, "keepalived-cpu-s/min")
	b.ReportMetric(tu.rssMB, "tandem-peak-rss-MB")
	b.ReportMetric(ku.rssMB, "keepalived-peak-rss-MB")
	if ku.cpuPerMin > 0 {
		b.ReportMetric(tu.cpuPerMin/ku.cpuPerMin, "cpu-ratio")
	}
	b.ReportMetric(tu.rssMB/ku.rssMB, "rss-ratio")
}
