package fsm

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// bigConfig returns a keepalived.conf with n virtual servers of 8 real
// servers each (about 1.5 kB per virtual server, so 1.5 MB for 1,000);
// seed makes texts distinct.
func bigConfig(n, seed int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# generated %d\nglobal_defs {\n  router_id bench\n}\n", seed)
	for i := range n {
		fmt.Fprintf(&b, "virtual_server 10.%d.%d.%d 80 {\n  delay_loop 6\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n  persistence_timeout 50\n",
			100+i/65536, i/256%256, i%256)
		for r := range 8 {
			fmt.Fprintf(&b, "  real_server 10.200.%d.%d 8080 {\n    weight %d\n    HTTP_GET {\n      url {\n        path /health\n        status_code 200\n      }\n      connect_timeout 3\n      retry 3\n    }\n  }\n",
				i%256, r+1, r+1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func BenchmarkApplySetVerdicts(b *testing.B) {
	for _, size := range []int{1, 20} {
		b.Run(fmt.Sprintf("verdicts=%d", size), func(b *testing.B) {
			h := newHarness(b, Options{})
			// A cluster view of 3 nodes × 6,000 real servers.
			for _, n := range []string{"n1", "n2", "n3"} {
				var vs []Verdict
				for k := range 6000 {
					vs = append(vs, Verdict{Key: fmt.Sprintf("10.0.%d.%d:80/tcp 10.200.%d.%d:8080", k/256, k%256, k/256, k%6), Up: true, Weight: 1})
				}
				h.ok(SetVerdicts{NodeID: n, Replace: true, Verdicts: vs})
			}
			var cmd SetVerdicts
			cmd.NodeID = "n2"
			for k := range size {
				cmd.Verdicts = append(cmd.Verdicts, Verdict{Key: fmt.Sprintf("10.0.%d.%d:80/tcp 10.200.%d.%d:8080", k/256, k%256, k/256, k%6),
					Up: false, Reason: "connect refused", Checker: "TCP_CHECK", Time: t0})
			}
			data := encode(b, cmd)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := h.raw(data).(Result); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}

func BenchmarkApplyConfig1000VS(b *testing.B) {
	text := bigConfig(1000, 0)
	data := encode(b, ApplyConfig{Text: text, Author: "bench", Time: t0})
	h := newHarness(b, Options{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := h.raw(data).(Result); !ok {
			b.Fatal("refused")
		}
	}
}

// fiftyVersions returns an FSM holding 50 distinct 1,000-virtual-server texts.
func fiftyVersions(b *testing.B) *FSM {
	h := newHarness(b, Options{})
	for i := range 50 {
		h.ok(ApplyConfig{Text: bigConfig(1000, i)})
	}
	return h.f
}

func BenchmarkSnapshot50(b *testing.B) {
	f := fiftyVersions(b)
	b.ReportAllocs()
	for b.Loop() {
		s, _ := f.Snapshot()
		s.Release()
	}
}

func BenchmarkPersist50(b *testing.B) {
	f := fiftyVersions(b)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		snap, _ := f.Snapshot()
		s := &discardSink{}
		if err := snap.Persist(s); err != nil {
			b.Fatal(err)
		}
		snap.Release()
		size = s.n
	}
	b.SetBytes(int64(size))
}

func BenchmarkRestore50(b *testing.B) {
	data := persist(b, fiftyVersions(b))
	g := New(Options{})
	b.SetBytes(int64(data.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := g.Restore(data.reader()); err != nil {
			b.Fatal(err)
		}
	}
}

// discardSink counts and drops what a snapshot writes.
type discardSink struct{ n int }

var _ raft.SnapshotSink = (*discardSink)(nil)

func (d *discardSink) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discardSink) Close() error                { return nil }
func (d *discardSink) Cancel() error               { return nil }
func (d *discardSink) ID() string                  { return "bench" }
