package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// measureV3 runs a VRRPv3 pair at advert_int 0.1 (master 100 on a, backup
// 90 on b; each tandem or keepalived) and returns the crash failover
// (master's last advert to the backup's first after SIGKILL) and the
// graceful one (priority 0 to the backup's first advert after SIGTERM).
func measureV3(b *testing.B, l *lab.Lab, masterTandem, backupTandem bool) (crash, graceful time.Duration) {
	a, bh := l.Host("a"), l.Host("b")
	vip := l.IP(100)
	conf := func(prio int) string {
		return strings.Replace(instConf{VRID: 72, Priority: prio, VIPs: []netip.Addr{vip}, Extra: "    version 3\n"}.String(), "advert_int 1\n", "advert_int 0.1\n", 1)
	}
	for round := range 2 {
		c, err := l.Capture(context.Background(), "", "vrrp")
		if err != nil {
			b.Fatal(err)
		}
		m := daemon(b, l, a, masterTandem, conf(100))
		back := daemon(b, l, bh, backupTandem, conf(90))
		waitFor(b, 10*time.Second, "master", func() bool {
			hs := holders(b, vip, a, bh)
			return len(hs) == 1 && hs[0] == "a"
		})
		time.Sleep(500 * time.Millisecond)
		if round == 0 {
			m.Kill()
		} else {
			m.Signal(syscall.SIGTERM)
		}
		waitFor(b, 10*time.Second, "backup to take over", func() bool { return len(holders(b, vip, bh)) == 1 })
		time.Sleep(200 * time.Millisecond)
		ws := readCapture(b, c)
		ma, ba := adverts(ws, a.IP, 72), adverts(ws, bh.IP, 72)
		if len(ma) == 0 {
			b.Fatal("no adverts from the master")
		}
		last := ma[len(ma)-1]
		first := firstAfter(ba, last.At)
		if first == nil {
			b.Fatal("the backup did not advertise")
		}
		if round == 0 {
			crash = first.At.Sub(last.At)
		} else {
			graceful = first.At.Sub(last.At)
		}
		<-m.Done()
		back.Kill()
		<-back.Done()
		for _, h := range []*lab.Host{a, bh} {
			h.Run(context.Background(), "ip", "addr", "del", vip.String()+"/32", "dev", "eth0")
		}
	}
	return crash, graceful
}

// BenchmarkV3Failover measures VRRPv3 failover at advert_int 0.1 for a
// keepalived pair, a tandem pair, and the mixed pairs, in the same run.
func BenchmarkV3Failover(b *testing.B) {
	needLab(b)
	l := lab.New(b, lab.Options{Subnet: netip.MustParsePrefix("10.203.47.0/24"), Hosts: []string{"a", "b"}})
	pairs := []struct {
		name   string
		mT, bT bool
	}{{"keepalived-keepalived", false, false}, {"tandem-tandem", true, true}, {"tandem-keepalived", true, false}, {"keepalived-tandem", false, true}}
	sums := make([][2]time.Duration, len(pairs))
	n := 0
	for b.Loop() {
		for i, p := range pairs {
			c, g := measureV3(b, l, p.mT, p.bT)
			sums[i][0] += c
			sums[i][1] += g
		}
		n++
	}
	for i, p := range pairs {
		b.ReportMetric(float64(sums[i][0])/float64(n)/1e6, p.name+"-crash-ms")
		b.ReportMetric(float64(sums[i][1])/float64(n)/1e6, p.name+"-graceful-ms")
	}
}

// jitterConf is n instances (advert_int 1, no peer: all masters) of which
// every one tracks one of scripts vrrp_scripts, each checking a web page
// every second.
func jitterConf(l *lab.Lab, n, scripts int, url string) string {
	var sb strings.Builder
	for i := range scripts {
		fmt.Fprintf(&sb, "vrrp_script chk_%d {\n    script \"/usr/bin/curl -fsS -m 1 -o /dev/null %s\"\n    interval 1\n    weight -10\n}\n", i, url)
	}
	for i := 1; i <= n; i++ {
		sb.WriteString(instConf{Name: fmt.Sprintf("VI_%d", i), VRID: i, Priority: 100, VIPs: []netip.Addr{l.IP(100 + i)},
			Extra: fmt.Sprintf("    track_script {\n        chk_%d\n    }\n", i%scripts)}.String())
	}
	return sb.String()
}

// advertJitter returns the p99 and maximum of |gap − 1 s| over the gaps
// between consecutive periodic adverts of each VRID. An advert at another
// priority than the VRID's first (a priority change) is not periodic.
func advertJitter(ws []wire) (p99, worst time.Duration, gaps int) {
	last := map[uint8]time.Time{}
	prio := map[uint8]uint8{}
	var devs []time.Duration
	for _, w := range ws {
		if w.ARP {
			continue
		}
		if p, ok := prio[w.Advert.VRID]; !ok {
			prio[w.Advert.VRID] = w.Advert.Priority
		} else if p != w.Advert.Priority {
			continue
		}
		if at, ok := last[w.Advert.VRID]; ok {
			d := w.At.Sub(at) - time.Second
			devs = append(devs, max(d, -d))
		}
		last[w.Advert.VRID] = w.At
	}
	if len(devs) == 0 {
		return 0, 0, 0
	}
	slices.Sort(devs)
	return devs[len(devs)*99/100], devs[len(devs)-1], len(devs)
}

// BenchmarkAdvertJitter100 runs 100 masters (advert_int 1) while 20
// vrrp_scripts each fetch a page every second, first on tandem, then on
// keepalived, and reports the p99 and worst deviation of the advert
// interval from 1 s over TANDEM_BENCH_WINDOW (default 15s).
func BenchmarkAdvertJitter100(b *testing.B) {
	needLab(b)
	window := 15 * time.Second
	if v := os.Getenv("TANDEM_BENCH_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		window = d
	}
	l := lab.New(b, lab.Options{Subnet: netip.MustParsePrefix("10.203.48.0/24"), Hosts: []string{"subject"}})
	h := l.Host("subject")
	startHTTP(b, h, 8080)
	conf := jitterConf(l, 100, 20, fmt.Sprintf("http://%s:8080/", h.IP))
	measure := func(tandem bool) (p99, worst time.Duration) {
		p := daemon(b, l, h, tandem, conf)
		waitFor(b, 20*time.Second, "100 masters", func() bool {
			addrs, _ := h.Addrs("eth0")
			return len(addrs) == 101
		})
		time.Sleep(6 * time.Second) // past the start-up GARP bursts
		c, err := l.Capture(context.Background(), "", "vrrp")
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(window)
		ws := readCapture(b, c)
		p.Signal(syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(15 * time.Second):
			p.Kill()
		}
		p99, worst, gaps := advertJitter(ws)
		prios := map[uint8]int{}
		for _, w := range ws {
			prios[w.Advert.Priority]++
		}
		b.Logf("adverts by priority: %v", prios)
		b.Logf("%s: %d advert gaps, p99 deviation %v, worst %v", map[bool]string{true: "tandem", false: "keepalived"}[tandem], gaps, p99, worst)
		return p99, worst
	}
	var tp, tw, kp, kw time.Duration
	for b.Loop() {
		tp, tw = measure(true)
		kp, kw = measure(false)
	}
	b.ReportMetric(float64(tp)/1e6, "tandem-p99-ms")
	b.ReportMetric(float64(tw)/1e6, "tandem-worst-ms")
	b.ReportMetric(float64(kp)/1e6, "keepalived-p99-ms")
	b.ReportMetric(float64(kw)/1e6, "keepalived-worst-ms")
}
