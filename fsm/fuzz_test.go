package fsm

import (
	"bytes"
	"io"
	"reflect"
	"testing"
)

// FuzzApply feeds arbitrary entries to Apply: it must never panic, and an
// entry it refuses must leave the state as it was.
func FuzzApply(f *testing.F) {
	for _, c := range []Command{
		ApplyConfig{Text: configText(1), RequestID: "r1"},
		RollbackConfig{ToVersion: 1, Author: "a"},
		ReportApplied{NodeID: "n1", Version: 2, OK: true},
		SetVerdicts{NodeID: "n1", Replace: true, Verdicts: []Verdict{{Key: "k", Up: true, Weight: 3, Reason: "r", Checker: "c", Time: t0}}},
	} {
		f.Add(encode(f, c))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{2, 1, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, Options{KeepTexts: 2})
		h.ok(ApplyConfig{Text: configText(1), RequestID: "r0"})
		h.ok(ApplyConfig{Text: configText(2)})
		h.ok(SetVerdicts{NodeID: "n2", Verdicts: []Verdict{{Key: "k", Up: true}}})
		before := viewOf(h.f)
		switch r := h.raw(data).(type) {
		case error:
			if after := viewOf(h.f); !reflect.DeepEqual(before, after) {
				t.Fatalf("refused entry (%v) changed the state", r)
			}
		case Result:
		default:
			t.Fatalf("response %T", r)
		}
		// Whatever happened, the state still snapshots and restores.
		want := viewOf(h.f)
		g := New(Options{KeepTexts: 2})
		if err := g.Restore(persist(t, h.f).reader()); err != nil {
			t.Fatal(err)
		}
		if got := viewOf(g); !reflect.DeepEqual(got, want) {
			t.Fatal("snapshot round trip differs")
		}
	})
}

// FuzzRestore feeds arbitrary snapshots to Restore: it must never panic,
// and a refused snapshot must leave the state as it was.
func FuzzRestore(f *testing.F) {
	h := newHarness(f, Options{})
	populate(h, 4)
	f.Add(persist(f, h.f).Bytes())
	f.Add(persist(f, New(Options{})).Bytes())
	f.Add([]byte(`{"format":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, Options{})
		h.ok(ApplyConfig{Text: "before"})
		before := viewOf(h.f)
		if err := h.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			if after := viewOf(h.f); !reflect.DeepEqual(before, after) {
				t.Fatal("refused snapshot changed the state")
			}
			return
		}
		// An accepted snapshot gives a usable state.
		viewOf(h.f)
		h.f.MergedVerdicts()
		persist(t, h.f)
		h.idx = h.f.Index()
		h.raw(encode(t, RollbackConfig{ToVersion: 1, RequestID: "x"}))
		h.raw(encode(t, ApplyConfig{Text: "after", RequestID: "x"}))
	})
}
