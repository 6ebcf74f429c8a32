package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/node"
)

// labBenchConfig is bigConfig's twin for the external test package.
func labBenchConfig(tag string, nVS, nRS int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n\trouter_id %s\n}\n", tag)
	for v := range nVS {
		fmt.Fprintf(&b, "virtual_server 10.100.%d.%d 80 {\n\tdelay_loop 6\n\tlb_algo wrr\n\tlb_kind NAT\n\tprotocol TCP\n", v/250, v%250+1)
		for r := range nRS {
			n := v*nRS + r
			fmt.Fprintf(&b, "\treal_server 10.%d.%d.%d 8080 {\n\t\tweight 1\n\t\tHTTP_GET {\n\t\t\turl {\n\t\t\t\tpath /health\n\t\t\t\tstatus_code 200\n\t\t\t}\n\t\t\tconnect_timeout 3\n\t\t}\n\t}\n",
				200+n/65000, n/250%256, n%250+1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// benchLab applies texts to the leader of a 3-agent lab cluster (real
// processes, mutual TLS, one namespace each) through its unix socket, and
// reports the apply latency and the time until all three run the version.
func benchLab(b *testing.B, perOp int, text func(i int) string) {
	c := newLabCluster(b, "n1", "n2", "n3")
	first := c.nodes["n1"].host.IP.String()
	for _, id := range []string{"n1", "n2", "n3"} {
		args := c.agentArgs(id, "--bootstrap-expect", "3", "--log-level", "info")
		if id != "n1" {
			args = append(args, "--join", first)
		}
		c.start(id, args)
	}
	leader := c.leader("n1")
	clients := map[string]*node.Client{}
	for _, id := range []string{"n1", "n2", "n3"} {
		clients[id] = node.NewClient(filepath.Join(c.nodes[id].dir, node.SocketName))
	}
	ctx := context.Background()
	texts := make([]string, b.N*perOp)
	for i := range texts {
		texts[i] = text(i)
	}
	var lat, all []time.Duration
	b.ResetTimer()
	for i := range b.N * perOp {
		start := time.Now()
		res, err := clients[leader].Apply(ctx, node.ApplyRequest{Text: texts[i]})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		v := res.Version.Version
		for id, cl := range clients {
			for {
				st, err := cl.Status(ctx)
				if err != nil {
					b.Fatalf("%s: %v", id, err)
				}
				if st.Running.Version >= v {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		all = append(all, time.Since(start))
	}
	b.StopTimer()
	labReport(b, "apply", lat)
	labReport(b, "all-applied", all)
}

func labReport(b *testing.B, name string, d []time.Duration) {
	slices.Sort(d)
	p := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), name+"-p50-ms")
	b.ReportMetric(p(0.99), name+"-p99-ms")
}

// BenchmarkLabApplySmall: a one-instance keepalived.conf.
func BenchmarkLabApplySmall(b *testing.B) {
	benchLab(b, 20, func(i int) string {
		return fmt.Sprintf("global_defs {\n\trouter_id v%d\n}\nvrrp_instance VI_1 {\n\tstate BACKUP\n\tinterface eth0\n\tvirtual_router_id 51\n\tpriority 100\n\tvirtual_ipaddress {\n\t\t10.205.1.100/24\n\t}\n}\n", i)
	})
}

// BenchmarkLabApply1000VS: 1,000 virtual servers × 10 HTTP_GET real servers.
func BenchmarkLabApply1000VS(b *testing.B) {
	base := labBenchConfig("big", 1000, 10)
	benchLab(b, 3, func(i int) string {
		return strings.Replace(base, "router_id big", fmt.Sprintf("router_id big%d", i), 1)
	})
}
