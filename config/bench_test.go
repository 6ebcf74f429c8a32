package config

import (
	"testing"

	"github.com/tandem-ha/tandem/config/configtest"
)

// BenchmarkParseLarge parses 1,000 virtual servers × 10 real servers with
// HTTP_GET checks and 50 VRRP instances.
func BenchmarkParseLarge(b *testing.B) {
	src := []byte(configtest.Generate(configtest.Large))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		_, diags := Parse("large.conf", src, Options{NodeID: "n1", RandomSeed: 1})
		if diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}

// BenchmarkRenderLarge renders the same configuration.
func BenchmarkRenderLarge(b *testing.B) {
	c, diags := Parse("large.conf", []byte(configtest.Generate(configtest.Large)), Options{NodeID: "n1", RandomSeed: 1})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Render(c)
	}
}
