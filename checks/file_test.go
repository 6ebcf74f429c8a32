package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "track")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	probe := func(spec FileSpec) Result {
		spec.Path = path
		return NewFile(spec).Probe(context.Background())
	}

	// weight 0: non-zero is down, zero is up; reverse swaps.
	write("0\n")
	if r := probe(FileSpec{}); !r.OK || r.WeightOffset != nil {
		t.Errorf("value 0 weight 0: %+v", r)
	}
	if r := probe(FileSpec{Reverse: true}); r.OK {
		t.Errorf("value 0 weight 0 reverse should be down: %+v", r)
	}
	write("  7 junk")
	if r := probe(FileSpec{}); r.OK || !strings.Contains(r.Reason, "value 7") {
		t.Errorf("value 7 weight 0: %+v", r)
	}
	if r := probe(FileSpec{Reverse: true}); !r.OK {
		t.Errorf("value 7 weight 0 reverse: %+v", r)
	}

	// weight multiplies, reverse negates, hex and octal like strtol.
	for _, tc := range []struct {
		content string
		spec    FileSpec
		off     int
	}{
		{"3", FileSpec{Weight: 10}, 30},
		{"3", FileSpec{Weight: 10, Reverse: true}, -30},
		{"0x10", FileSpec{Weight: 1}, 16},
		{"010", FileSpec{Weight: 1}, 8},
		{"-4", FileSpec{Weight: 2}, -8},
		{"2147483647", FileSpec{Weight: 2}, 2147483647},
	} {
		write(tc.content)
		r := probe(tc.spec)
		if !r.OK || r.WeightOffset == nil || *r.WeightOffset != tc.off {
			t.Errorf("%q %+v: got %+v, want offset %d", tc.content, tc.spec, r, tc.off)
		}
	}

	// A product at or below -2^31 is a fault.
	write("-2147483648")
	if r := probe(FileSpec{Weight: 1}); r.OK {
		t.Errorf("INT_MIN should be down: %+v", r)
	}

	// Missing file reads as 0.
	os.Remove(path)
	if r := probe(FileSpec{Weight: 5}); !r.OK || *r.WeightOffset != 0 {
		t.Errorf("missing file: %+v", r)
	}

	// Out-of-range values are ignored: the last value stays.
	f := NewFile(FileSpec{Path: path, Weight: 1})
	write("5")
	f.Probe(context.Background())
	write("99999999999")
	r := f.Probe(context.Background())
	if !r.OK || *r.WeightOffset != 5 || !strings.Contains(r.Reason, "ignored") {
		t.Errorf("out-of-range value: %+v", r)
	}
}

func TestStrtol(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "abc": 0, " +12x": 12, "-0x1F": -31, "0": 0, "08": 0, "0x": 0, "\n42\n": 42} {
		if got, ok := strtol(in); !ok || got != want {
			t.Errorf("strtol(%q) = %d,%v want %d", in, got, ok, want)
		}
	}
	if _, ok := strtol("99999999999999999999999"); ok {
		t.Error("overflow not reported")
	}
}
