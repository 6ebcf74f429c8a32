package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// populate gives h's FSM some of everything.
func populate(h *harness, versions int) {
	for i := 1; i <= versions; i++ {
		h.ok(ApplyConfig{Text: configText(i % 7), Author: "a", RequestID: fmt.Sprintf("req-%d", i)})
	}
	l, _ := h.f.Latest()
	h.ok(RollbackConfig{ToVersion: l.Version - 1, Message: "undo"})
	h.ok(ReportApplied{NodeID: "n1", Version: 2, OK: true})
	h.ok(ReportApplied{NodeID: "n2", Version: 1, Error: "bad"})
	for _, n := range []string{"n1", "n2", "n3"} {
		var vs []Verdict
		for k := range 5 {
			vs = append(vs, Verdict{Key: fmt.Sprintf("vs%d rs%d", k, k), Up: k%2 == 0, Weight: k, Reason: n, Checker: "TCP_CHECK"})
		}
		h.ok(SetVerdicts{NodeID: n, Verdicts: vs})
	}
	h.raw([]byte{9, 9})
}

func TestSnapshotRoundTrip(t *testing.T) {
	h := newHarness(t, Options{KeepTexts: 10})
	populate(h, 30)
	want := viewOf(h.f)
	s := persist(t, h.f)

	g := New(Options{KeepTexts: 10})
	if err := g.Restore(s.reader()); err != nil {
		t.Fatal(err)
	}
	if got := viewOf(g); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored state differs\n got %+v\nwant %+v", got, want)
	}
	if g.Index() != h.f.Index() {
		t.Fatalf("index %d, want %d", g.Index(), h.f.Index())
	}
	r1, n1 := h.f.Rejections()
	r2, n2 := g.Rejections()
	if n1 != n2 || !reflect.DeepEqual(r1, r2) {
		t.Fatalf("rejections %v %d, want %v %d", r2, n2, r1, n1)
	}
	// Equal states write equal bytes, and the request IDs survive.
	if s2 := persist(t, g); !bytes.Equal(s.Bytes(), s2.Bytes()) {
		t.Fatal("restored FSM persists different bytes")
	}
	gh := &harness{t: t, f: g, idx: h.idx}
	if r := gh.ok(ApplyConfig{Text: "x", RequestID: "req-3"}); !r.Duplicate || r.Version.Version != 3 {
		t.Fatalf("request ID lost in snapshot: %+v", r)
	}
	// Texts shared by several versions are stored once.
	if n := strings.Count(s.String(), configText(3)); n != 1 {
		t.Errorf("text stored %d times", n)
	}
}

func TestSnapshotIsPointInTime(t *testing.T) {
	h := newHarness(t, Options{})
	populate(h, 5)
	want := viewOf(h.f)
	snap, err := h.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Apply continues while the snapshot waits to be persisted.
	populate(h, 8)
	h.ok(SetVerdicts{NodeID: "n1", Replace: true})
	s := &sink{}
	if err := snap.Persist(s); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	g := New(Options{})
	if err := g.Restore(s.reader()); err != nil {
		t.Fatal(err)
	}
	if got := viewOf(g); !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot saw later applies\n got %+v\nwant %+v", got, want)
	}
}

func TestRestoreReplacesState(t *testing.T) {
	h := newHarness(t, Options{})
	h.ok(ApplyConfig{Text: "old"})
	empty := persist(t, New(Options{}))
	if err := h.f.Restore(empty.reader()); err != nil {
		t.Fatal(err)
	}
	if v := viewOf(h.f); len(v.History) != 0 || v.Latest.Version != 0 {
		t.Fatalf("restore of an empty snapshot kept state: %+v", v)
	}
	// A node keeping fewer texts evicts on restore.
	h = newHarness(t, Options{})
	populate(h, 10)
	small := New(Options{KeepTexts: 2})
	if err := small.Restore(persist(t, h.f).reader()); err != nil {
		t.Fatal(err)
	}
	if v := viewOf(small); len(v.Texts) != 2 || len(v.Evicted) != 9 {
		t.Fatalf("kept %d texts, evicted %d", len(v.Texts), len(v.Evicted))
	}
}

func TestRestoreRefusesUnknownFormat(t *testing.T) {
	h := newHarness(t, Options{})
	populate(h, 3)
	want := viewOf(h.f)
	good := persist(t, h.f).Bytes()
	future := bytes.Replace(good, []byte(`{"format":1,`), []byte(`{"format":2,`), 1)
	cases := map[string][]byte{
		"future format":  future,
		"empty":          nil,
		"garbage":        []byte("\x00\x01\x02 not a snapshot"),
		"no format":      []byte(`{"index":3}` + "\n"),
		"trailing bytes": append(bytes.Clone(good), 'x'),
	}
	for i := 1; i < len(good); i += max(1, len(good)/97) {
		cases[fmt.Sprintf("truncated at %d", i)] = good[:i]
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			err := h.f.Restore(io.NopCloser(bytes.NewReader(data)))
			if err == nil {
				t.Fatal("restore succeeded")
			}
			if got := viewOf(h.f); !reflect.DeepEqual(got, want) {
				t.Fatal("failed restore changed the state")
			}
		})
	}
	err := h.f.Restore(io.NopCloser(bytes.NewReader(future)))
	if !errors.Is(err, ErrSnapshotFormat) || !strings.Contains(err.Error(), "format 2") || !strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("unclear error for a future format: %v", err)
	}
}

func TestRestoreRefusesCorruptText(t *testing.T) {
	h := newHarness(t, Options{})
	h.ok(ApplyConfig{Text: "virtual_server 10.0.0.1 80 {\n}\n"})
	data := bytes.Replace(persist(t, h.f).Bytes(), []byte("10.0.0.1"), []byte("10.0.0.9"), 1)
	err := New(Options{}).Restore(io.NopCloser(bytes.NewReader(data)))
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("restore of a corrupt text: %v", err)
	}
}

func TestPersistCancelsOnError(t *testing.T) {
	h := newHarness(t, Options{})
	populate(h, 3)
	snap, _ := h.f.Snapshot()
	s := &sink{failAfter: 10}
	err := snap.Persist(s)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("persist: %v", err)
	}
	if !s.cancelled || s.closed {
		t.Fatalf("sink cancelled %v closed %v", s.cancelled, s.closed)
	}
}

// TestConcurrentUse reads, subscribes and persists while entries apply;
// run with -race.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, Options{KeepTexts: 5})
	populate(h, 3)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			ch, cancel := h.f.Subscribe()
			defer cancel()
			for {
				select {
				case <-stop:
					return
				case <-ch:
				default:
				}
				viewOf(h.f)
				h.f.MergedVerdicts()
				h.f.Rejections()
			}
		})
	}
	for i := range 200 {
		populate(h, 3)
		h.ok(ApplyConfig{Text: configText(i)})
		if i%50 == 0 {
			snap, _ := h.f.Snapshot()
			wg.Go(func() {
				defer snap.Release()
				if err := snap.Persist(&sink{}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	close(stop)
	wg.Wait()
}
