package fsm

import (
	"testing"
)

// next returns what ch holds, or 0 if it is empty.
func next(t *testing.T, ch <-chan uint64) uint64 {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return v
	default:
		return 0
	}
}

func TestSubscribe(t *testing.T) {
	h := newHarness(t, Options{})
	ch, cancel := h.f.Subscribe()
	if v := next(t, ch); v != 0 {
		t.Fatalf("empty FSM notified %d", v)
	}
	h.ok(ApplyConfig{Text: "a"})
	if v := next(t, ch); v != 1 {
		t.Fatalf("got %d, want 1", v)
	}
	// Notifications coalesce to the newest; other commands do not notify.
	h.ok(ApplyConfig{Text: "b"})
	h.ok(ApplyConfig{Text: "c"})
	h.ok(RollbackConfig{ToVersion: 1})
	h.ok(ReportApplied{NodeID: "n", Version: 1, OK: true})
	h.ok(SetVerdicts{NodeID: "n"})
	h.fail(ApplyConfig{Text: "x", SHA256: "00"}, ErrChecksumMismatch)
	if v := next(t, ch); v != 4 {
		t.Fatalf("got %d, want 4", v)
	}
	if v := next(t, ch); v != 0 {
		t.Fatalf("extra notification %d", v)
	}
	// A new subscriber learns the current version at once.
	ch2, cancel2 := h.f.Subscribe()
	if v := next(t, ch2); v != 4 {
		t.Fatalf("new subscriber got %d, want 4", v)
	}
	cancel()
	cancel() // idempotent
	if _, ok := <-ch; ok {
		t.Fatal("cancelled channel not closed")
	}
	h.ok(ApplyConfig{Text: "d"})
	if v := next(t, ch2); v != 5 {
		t.Fatalf("got %d, want 5", v)
	}
	cancel2()

	// Restore notifies when the latest version changes.
	ch3, cancel3 := h.f.Subscribe()
	defer cancel3()
	next(t, ch3)
	g := newHarness(t, Options{})
	g.ok(ApplyConfig{Text: "other"})
	if err := h.f.Restore(persist(t, g.f).reader()); err != nil {
		t.Fatal(err)
	}
	if v := next(t, ch3); v != 1 {
		t.Fatalf("restore notified %d, want 1", v)
	}
}

func TestSubscribeVerdicts(t *testing.T) {
	h := newHarness(t, Options{})
	ch, cancel := h.f.SubscribeVerdicts()
	defer cancel()
	h.ok(ApplyConfig{Text: "a"})
	if v := next(t, ch); v != 0 {
		t.Fatalf("config change notified verdict watchers: %d", v)
	}
	h.ok(SetVerdicts{NodeID: "n", Verdicts: []Verdict{{Key: "k", Up: true}}})
	if v := next(t, ch); v != 2 {
		t.Fatalf("got %d, want index 2", v)
	}
	ch2, cancel2 := h.f.SubscribeVerdicts()
	defer cancel2()
	if v := next(t, ch2); v != 2 {
		t.Fatalf("new subscriber got %d, want 2", v)
	}
}
