package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/fsm"
)

// bigConfig returns a keepalived.conf with nVS virtual servers of nRS real
// servers each, every real server health-checked with HTTP_GET.
func bigConfig(tag string, nVS, nRS int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n\trouter_id %s\n}\n", tag)
	for v := range nVS {
		fmt.Fprintf(&b, "virtual_server 10.100.%d.%d 80 {\n\tdelay_loop 6\n\tlb_algo wrr\n\tlb_kind NAT\n\tprotocol TCP\n", v/250, v%250+1)
		for r := range nRS {
			n := v*nRS + r
			fmt.Fprintf(&b, "\treal_server 10.%d.%d.%d 8080 {\n\t\tweight 1\n\t\tHTTP_GET {\n\t\t\turl {\n\t\t\t\tpath /health\n\t\t\t\tstatus_code 200\n\t\t\t}\n\t\t\tconnect_timeout 3\n\t\t}\n\t}\n",
				200+n/65000, n/250%260%256, n%250+1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func TestBigConfigParses(t *testing.T) {
	cfg, diags := config.Parse("big.conf", []byte(bigConfig("x", 1000, 10)), config.Options{NodeID: "n1"})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if len(cfg.VirtualServers) != 1000 || len(cfg.VirtualServers[999].RealServers) != 10 {
		t.Fatalf("%d virtual servers", len(cfg.VirtualServers))
	}
}

// newBenchCluster starts three nodes with the default timing on loopback.
func newBenchCluster(b *testing.B) (*testCluster, *Node) {
	c := newTestCluster(b)
	l := threeNodes(b, c, func(o *Options) { o.Timing = Timing{} })
	// Let the first reports and promotions settle before measuring.
	time.Sleep(time.Second)
	return c, l
}

// appliedEverywhere waits until every node runs version v and returns when.
func appliedEverywhere(c *testCluster, v uint64) time.Time {
	for {
		done := true
		for _, n := range c.nodes {
			if n.Running().Version < v {
				done = false
			}
		}
		if done {
			return time.Now()
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// benchApply applies perOp texts per benchmark iteration, so the
// percentiles have samples enough even with make bench's -benchtime 5x.
func benchApply(b *testing.B, perOp int, text func(i int) string) {
	c, l := newBenchCluster(b)
	ctx := context.Background()
	var lat, all []time.Duration
	texts := make([]string, b.N*perOp)
	for i := range texts {
		texts[i] = text(i)
	}
	b.ResetTimer()
	for i := range b.N * perOp {
		start := time.Now()
		res, err := l.Apply(ctx, ApplyRequest{Text: texts[i]})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		all = append(all, appliedEverywhere(c, res.Version.Version).Sub(start))
	}
	b.StopTimer()
	report(b, "apply", lat)
	report(b, "all-applied", all)
}

func report(b *testing.B, name string, d []time.Duration) {
	slices.Sort(d)
	p := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), name+"-p50-ms")
	b.ReportMetric(p(0.99), name+"-p99-ms")
}

// BenchmarkApplySmall measures committing a small config in a 3-node
// cluster over mutual TLS, and the time until all three nodes run it.
func BenchmarkApplySmall(b *testing.B) {
	benchApply(b, 20, func(i int) string { return smallConf(fmt.Sprintf("v%d", i)) })
}

// BenchmarkApply1000VS does the same with 1,000 virtual servers of 10
// HTTP_GET-checked real servers each (~1.9 MB).
func BenchmarkApply1000VS(b *testing.B) {
	base := bigConfig("big", 1000, 10)
	benchApply(b, 3, func(i int) string {
		return strings.Replace(base, "router_id big", fmt.Sprintf("router_id big%d", i), 1)
	})
}

// BenchmarkCommitVerdicts measures the commit rate of small,
// verdict-sized commands submitted concurrently (64 at a time) to the
// leader; one iteration is 1,000 commands.
func BenchmarkCommitVerdicts(b *testing.B) {
	_, l := newBenchCluster(b)
	data, err := fsm.EncodeSetVerdicts(fsm.SetVerdicts{NodeID: "n1", Verdicts: []fsm.Verdict{{
		Key: "10.0.0.1:80/tcp 10.0.1.5:8080", Up: true, Weight: 1, Reason: "HTTP 200", Checker: "HTTP_GET", Time: time.Now()}}})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan struct{}, b.N*1000)
	for range b.N * 1000 {
		work <- struct{}{}
	}
	close(work)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := l.raft.Apply(data, 5*time.Second).Error(); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "commits/s")
}
