package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary text to the whole loader: it must never panic,
// and whatever it accepts must render to text that parses back without
// errors.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.conf")
	samples, _ := filepath.Glob(filepath.Join(samplesDir, "keepalived.conf.*"))
	for _, p := range append(seeds, samples...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("$A=$A x\n$A\n"))
	f.Add([]byte("~SEQ(X, 1, 0, 5) a\n~LST({a,b}, {1}) x\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<16 {
			return
		}
		noFiles := func(string) ([]byte, error) { return nil, os.ErrNotExist }
		c, diags := Parse("fuzz.conf", src, Options{NodeID: "n1", RandomSeed: 1, ReadFile: noFiles})
		if diags.HasErrors() {
			return
		}
		out := Render(c)
		if _, d2 := Parse("rendered.conf", []byte(out), Options{NodeID: "n1", RandomSeed: 1, ReadFile: noFiles}); d2.HasErrors() {
			t.Fatalf("accepted input renders to text with errors:\n%s\ninput:\n%q\nrendered:\n%s", d2, src, out)
		}
	})
}
