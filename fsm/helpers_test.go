package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// t0 is the leader append time the unit tests put on entries.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)

// harness applies entries to an FSM with increasing raft indexes.
type harness struct {
	t   testing.TB
	f   *FSM
	idx uint64
}

func newHarness(t testing.TB, opts Options) *harness {
	return &harness{t: t, f: New(opts)}
}

// raw applies data as the next log entry and returns Apply's response.
func (h *harness) raw(data []byte) any {
	h.idx++
	return h.f.Apply(&raft.Log{Index: h.idx, Term: 1, Type: raft.LogCommand, Data: data,
		AppendedAt: t0.Add(time.Duration(h.idx) * time.Second)})
}

func encode(t testing.TB, c Command) []byte {
	t.Helper()
	var b []byte
	var err error
	switch c := c.(type) {
	case ApplyConfig:
		b, err = EncodeApplyConfig(c)
	case RollbackConfig:
		b, err = EncodeRollbackConfig(c)
	case ReportApplied:
		b, err = EncodeReportApplied(c)
	case SetVerdicts:
		b, err = EncodeSetVerdicts(c)
	default:
		t.Fatalf("encode %T", c)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ok applies c and fails the test unless it is applied.
func (h *harness) ok(c Command) Result {
	h.t.Helper()
	switch r := h.raw(encode(h.t, c)).(type) {
	case Result:
		return r
	case error:
		h.t.Fatalf("apply %v: %v", c.Type(), r)
	default:
		h.t.Fatalf("apply %v: response %T", c.Type(), r)
	}
	return Result{}
}

// fail applies c, expects a refusal wrapping want, and checks the
// replicated state did not change.
func (h *harness) fail(c Command, want error) error {
	h.t.Helper()
	return h.failRaw(encode(h.t, c), want)
}

func (h *harness) failRaw(data []byte, want error) error {
	h.t.Helper()
	before := viewOf(h.f)
	_, rejected := h.f.Rejections()
	resp := h.raw(data)
	err, isErr := resp.(error)
	if !isErr {
		h.t.Fatalf("apply %x: got %#v, want error %v", head(data), resp, want)
	}
	if want != nil && !errors.Is(err, want) {
		h.t.Fatalf("apply %x: error %v, want %v", head(data), err, want)
	}
	if after := viewOf(h.f); !reflect.DeepEqual(before, after) {
		h.t.Fatalf("refused entry changed the state:\nbefore %+v\nafter  %+v", before, after)
	}
	if _, n := h.f.Rejections(); n != rejected+1 {
		h.t.Fatalf("rejections %d, want %d", n, rejected+1)
	}
	return err
}

func head(b []byte) []byte { return b[:min(len(b), 16)] }

// view is everything a user can query, for equality checks.
type view struct {
	History  []ConfigVersion
	Latest   ConfigVersion
	Texts    map[uint64]string
	Evicted  []uint64
	Applied  map[string]AppliedStatus
	Verdicts map[string]map[string]Verdict
}

func viewOf(f *FSM) view {
	v := view{History: f.History(), Texts: map[uint64]string{}, Applied: f.Applied(), Verdicts: f.Verdicts()}
	v.Latest, _ = f.Latest()
	for _, cv := range v.History {
		full, err := f.Version(cv.Version)
		switch {
		case err == nil:
			v.Texts[cv.Version] = full.Text
		case errors.Is(err, ErrTextEvicted):
			v.Evicted = append(v.Evicted, cv.Version)
		default:
			panic(err)
		}
	}
	return v
}

// sink is an in-memory raft.SnapshotSink.
type sink struct {
	bytes.Buffer
	failAfter int // fail writes once this many bytes are written; 0: never
	closed    bool
	cancelled bool
}

func (s *sink) Write(p []byte) (int, error) {
	if s.failAfter > 0 && s.Len()+len(p) > s.failAfter {
		return 0, errors.New("disk full")
	}
	return s.Buffer.Write(p)
}
func (s *sink) ID() string            { return "test-snap" }
func (s *sink) Close() error          { s.closed = true; return nil }
func (s *sink) Cancel() error         { s.cancelled = true; return nil }
func (s *sink) reader() io.ReadCloser { return io.NopCloser(bytes.NewReader(s.Bytes())) }

// persist snapshots f and returns the bytes.
func persist(t testing.TB, f *FSM) *sink {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	s := &sink{}
	if err := snap.Persist(s); err != nil {
		t.Fatal(err)
	}
	if !s.closed || s.cancelled {
		t.Fatalf("sink closed %v cancelled %v", s.closed, s.cancelled)
	}
	return s
}

func configText(i int) string {
	return fmt.Sprintf("global_defs {\n  router_id node%d\n}\n", i)
}
