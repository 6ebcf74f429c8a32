package fsm

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestApplyConfigCreatesVersions(t *testing.T) {
	h := newHarness(t, Options{})
	if _, ok := h.f.Latest(); ok {
		t.Fatal("empty FSM has a latest version")
	}
	when := time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	r := h.ok(ApplyConfig{Text: configText(1), Author: "alice", Message: "first", Time: when})
	if r.Command != CmdApplyConfig || r.Index != 1 || r.Version.Version != 1 || r.Duplicate {
		t.Fatalf("result %+v", r)
	}
	if r.Version.Text != "" {
		t.Error("result carries the text")
	}
	h.ok(ApplyConfig{Text: configText(2), Author: "bob"})
	// The same text again is still a new version: "apply" is recorded.
	r = h.ok(ApplyConfig{Text: configText(2), Author: "bob", Message: "again"})
	if r.Version.Version != 3 {
		t.Fatalf("re-apply got version %d, want 3", r.Version.Version)
	}

	latest, ok := h.f.Latest()
	if !ok || latest.Version != 3 || latest.Text != configText(2) || latest.Message != "again" || latest.Index != 3 {
		t.Fatalf("latest %+v", latest)
	}
	v1, err := h.f.Version(1)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Text != configText(1) || v1.Author != "alice" || !v1.Time.Equal(when) || v1.Time.Location() != time.UTC ||
		v1.SHA256 != sha256Hex(configText(1)) || v1.Size != len(configText(1)) {
		t.Fatalf("version 1 %+v", v1)
	}
	// A zero Time becomes the leader's append time.
	if v2, _ := h.f.Version(2); !v2.Time.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("version 2 time %v, want append time", v2.Time)
	}
	hist := h.f.History()
	if len(hist) != 3 || hist[0].Version != 3 || hist[2].Version != 1 {
		t.Fatalf("history not newest first: %+v", hist)
	}
	for _, v := range hist {
		if v.Text != "" {
			t.Errorf("history version %d carries its text", v.Version)
		}
	}
	if _, err := h.f.Version(4); !errors.Is(err, ErrNoSuchVersion) {
		t.Errorf("Version(4): %v", err)
	}
	if _, err := h.f.Version(0); !errors.Is(err, ErrNoSuchVersion) {
		t.Errorf("Version(0): %v", err)
	}
}

func TestApplyConfigChecksum(t *testing.T) {
	h := newHarness(t, Options{})
	text := configText(1)
	h.ok(ApplyConfig{Text: text, SHA256: strings.ToUpper(sha256Hex(text))})
	err := h.fail(ApplyConfig{Text: text, SHA256: sha256Hex("other")}, ErrChecksumMismatch)
	if !strings.Contains(err.Error(), sha256Hex(text)) {
		t.Errorf("error does not name the real checksum: %v", err)
	}
}

func TestKeepTextsEvictsOldTexts(t *testing.T) {
	h := newHarness(t, Options{KeepTexts: 3})
	for i := 1; i <= 5; i++ {
		h.ok(ApplyConfig{Text: configText(i)})
	}
	for n := uint64(1); n <= 2; n++ {
		v, err := h.f.Version(n)
		if !errors.Is(err, ErrTextEvicted) {
			t.Fatalf("Version(%d): %v, want ErrTextEvicted", n, err)
		}
		if v.Version != n || v.SHA256 != sha256Hex(configText(int(n))) || v.Text != "" {
			t.Errorf("evicted version %d metadata %+v", n, v)
		}
		if !strings.Contains(err.Error(), "newest 3 versions") {
			t.Errorf("error does not explain retention: %v", err)
		}
	}
	for n := uint64(3); n <= 5; n++ {
		if v, err := h.f.Version(n); err != nil || v.Text != configText(int(n)) {
			t.Errorf("Version(%d) = %q, %v", n, v.Text, err)
		}
	}
	if len(h.f.History()) != 5 {
		t.Error("metadata of evicted versions lost")
	}
}

func TestRollbackConfig(t *testing.T) {
	h := newHarness(t, Options{KeepTexts: 3})
	for i := 1; i <= 4; i++ {
		h.ok(ApplyConfig{Text: configText(i)})
	}
	r := h.ok(RollbackConfig{ToVersion: 2, Author: "carol", Message: "v3 broke it"})
	v := r.Version
	if v.Version != 5 || v.RollbackTo != 2 || v.RolledBackFrom != 4 || v.SHA256 != sha256Hex(configText(2)) || v.Author != "carol" {
		t.Fatalf("rollback version %+v", v)
	}
	if l, _ := h.f.Latest(); l.Text != configText(2) {
		t.Fatalf("latest text after rollback %q", l.Text)
	}
	// Rolling back to the current version is allowed and recorded.
	if r := h.ok(RollbackConfig{ToVersion: 5}); r.Version.Version != 6 || r.Version.RolledBackFrom != 5 {
		t.Fatalf("rollback to latest %+v", r.Version)
	}

	h.fail(RollbackConfig{ToVersion: 99}, ErrNoSuchVersion)
	raw := append([]byte{EncodingV1, byte(CmdRollbackConfig), 16}, `{"to_version":0}`...)
	h.failRaw(raw, ErrInvalid)
	// Version 1's text is evicted (keep 3 of 6): the rollback needs the text.
	h.fail(RollbackConfig{ToVersion: 1}, ErrTextEvicted)
	h.fail(RollbackConfig{ToVersion: 1, Text: configText(9)}, ErrChecksumMismatch)
	r = h.ok(RollbackConfig{ToVersion: 1, Text: configText(1)})
	if l, _ := h.f.Latest(); r.Version.Version != 7 || l.Text != configText(1) {
		t.Fatalf("carried-text rollback: %+v latest %q", r.Version, l.Text)
	}
}

func TestPrepareRollback(t *testing.T) {
	h := newHarness(t, Options{})
	h.ok(ApplyConfig{Text: configText(1)})
	h.ok(ApplyConfig{Text: configText(2)})
	c, err := h.f.PrepareRollback(RollbackConfig{ToVersion: 1, Author: "a"})
	if err != nil || c.Text != configText(1) || c.Author != "a" {
		t.Fatalf("PrepareRollback = %+v, %v", c, err)
	}
	// A node keeping fewer texts applies the prepared rollback.
	small := newHarness(t, Options{KeepTexts: 1})
	small.ok(ApplyConfig{Text: configText(1)})
	small.ok(ApplyConfig{Text: configText(2)})
	if r := small.ok(c); r.Version.RollbackTo != 1 {
		t.Fatalf("%+v", r)
	}
	if _, err := h.f.PrepareRollback(RollbackConfig{ToVersion: 7}); !errors.Is(err, ErrNoSuchVersion) {
		t.Fatal(err)
	}
}

func TestRequestIDMakesRetriesIdempotent(t *testing.T) {
	h := newHarness(t, Options{})
	first := h.ok(ApplyConfig{Text: configText(1), RequestID: "req-1"})
	h.ok(ApplyConfig{Text: configText(2)})
	again := h.ok(ApplyConfig{Text: configText(1), RequestID: "req-1"})
	if !again.Duplicate || again.Version != first.Version {
		t.Fatalf("retry %+v, want duplicate of %+v", again, first.Version)
	}
	if l, _ := h.f.Latest(); l.Version != 2 {
		t.Fatalf("retry created a version: latest %d", l.Version)
	}
	rb := h.ok(RollbackConfig{ToVersion: 1, RequestID: "req-2"})
	if r := h.ok(RollbackConfig{ToVersion: 1, RequestID: "req-2"}); !r.Duplicate || r.Version != rb.Version {
		t.Fatalf("rollback retry %+v", r)
	}
	h.fail(RollbackConfig{ToVersion: 1, RequestID: "req-1"}, ErrRequestIDReused)

	// Only the last MaxRequestIDs are remembered.
	for i := range MaxRequestIDs {
		h.ok(ApplyConfig{Text: "x", RequestID: fmt.Sprintf("fill-%d", i)})
	}
	if r := h.ok(ApplyConfig{Text: configText(1), RequestID: "req-1"}); r.Duplicate {
		t.Fatal("request ID older than the window still remembered")
	}
	if r := h.ok(ApplyConfig{Text: "x", RequestID: fmt.Sprintf("fill-%d", MaxRequestIDs-1)}); !r.Duplicate {
		t.Fatal("recent request ID forgotten")
	}
}

func TestReportApplied(t *testing.T) {
	h := newHarness(t, Options{})
	h.fail(ReportApplied{NodeID: "n1", Version: 1, OK: true}, ErrNoSuchVersion)
	h.ok(ApplyConfig{Text: configText(1)})
	h.ok(ApplyConfig{Text: configText(2)})
	h.ok(ReportApplied{NodeID: "n1", Version: 1, OK: true})
	h.ok(ReportApplied{NodeID: "n2", Version: 2, OK: false, Error: "line 3: unknown keyword"})
	h.ok(ReportApplied{NodeID: "n1", Version: 2, OK: true, Time: t0})
	got := h.f.Applied()
	want := map[string]AppliedStatus{
		"n1": {NodeID: "n1", Version: 2, OK: true, Time: t0, Index: 6},
		"n2": {NodeID: "n2", Version: 2, Error: "line 3: unknown keyword", Time: t0.Add(5 * time.Second), Index: 5},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("applied\n got %+v\nwant %+v", got, want)
	}
	raw := append([]byte{EncodingV1, byte(CmdReportApplied)}, `{"version":1}`...)
	h.failRaw(raw, ErrInvalid)
}

func TestSetVerdicts(t *testing.T) {
	h := newHarness(t, Options{})
	vs := func(node string, replace bool, v ...Verdict) SetVerdicts {
		return SetVerdicts{NodeID: node, Replace: replace, Verdicts: v}
	}
	a := Verdict{Key: "10.0.0.1:80 10.0.1.1:80", Up: true, Weight: 1, Checker: "HTTP_GET", Time: t0}
	b := Verdict{Key: "10.0.0.1:80 10.0.1.2:80", Up: false, Weight: 0, Reason: "connect refused", Checker: "TCP_CHECK", Time: t0}
	h.ok(vs("n1", false, a, b))
	h.ok(vs("n2", false, Verdict{Key: a.Key, Up: false, Reason: "timeout", Time: t0.Add(time.Second)}))
	// An older observation does not overwrite a newer one.
	h.ok(vs("n1", false, Verdict{Key: a.Key, Up: false, Time: t0.Add(-time.Second)}))
	got := h.f.Verdicts()
	if len(got) != 2 || got["n1"][a.Key] != a || got["n1"][b.Key] != b || got["n2"][a.Key].Up {
		t.Fatalf("verdicts %+v", got)
	}

	m := h.f.MergedVerdicts()
	// One up, one down: the tie goes to the newest report (n2, down).
	if ma := m[a.Key]; ma.Up || ma.UpCount != 1 || ma.DownCount != 1 || ma.LatestNode != "n2" {
		t.Fatalf("merged a %+v", ma)
	}
	h.ok(vs("n3", false, Verdict{Key: a.Key, Up: true, Weight: 7}))
	if ma := h.f.MergedVerdicts()[a.Key]; !ma.Up || ma.UpCount != 2 || ma.Weight != 7 || ma.LatestNode != "n3" {
		t.Fatalf("merged a with majority up %+v", ma)
	}

	// Replace drops what the node reported before.
	h.ok(vs("n1", true, Verdict{Key: "other", Up: true, Time: t0}))
	got = h.f.Verdicts()
	if len(got["n1"]) != 1 || got["n1"]["other"].Key != "other" || len(got["n2"]) != 1 {
		t.Fatalf("after replace %+v", got)
	}
	h.ok(vs("n1", true))
	if _, ok := h.f.Verdicts()["n1"]; ok {
		t.Fatal("empty replace kept verdicts")
	}

	h.fail(vs("n1", false, Verdict{Key: ""}), ErrInvalid)
	h.fail(vs("bad\x00node", false, a), ErrInvalid)
}

func TestBadEntriesAreRefused(t *testing.T) {
	h := newHarness(t, Options{})
	h.ok(ApplyConfig{Text: configText(1)})
	h.ok(SetVerdicts{NodeID: "n1", Verdicts: []Verdict{{Key: "k", Up: true}}})
	good := encode(t, ApplyConfig{Text: configText(2), Author: "alice"})
	goodV := encode(t, SetVerdicts{NodeID: "n1", Verdicts: []Verdict{{Key: "k", Up: true, Reason: "ok", Time: t0}}})
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"nil", nil, ErrCorrupt},
		{"one byte", []byte{1}, ErrCorrupt},
		{"encoding 0", append([]byte{0}, good[1:]...), ErrUnknownEncoding},
		{"future encoding", append([]byte{2}, good[1:]...), ErrUnknownEncoding},
		{"encoding 255", append([]byte{255}, good[1:]...), ErrUnknownEncoding},
		{"command 0", append([]byte{1, 0}, good[2:]...), ErrUnknownCommand},
		{"future command", append([]byte{1, 5}, good[2:]...), ErrUnknownCommand},
		{"truncated metadata", good[:5], ErrCorrupt},
		{"no metadata length", good[:2], ErrCorrupt},
		{"metadata not json", append([]byte{1, 1, 3}, "abcdef"...), ErrCorrupt},
		{"metadata wrong type", append([]byte{1, 1, 17}, `{"author":7}text`...), ErrCorrupt},
		{"report wrong type", append([]byte{1, 3}, `{"version":"x"}`...), ErrCorrupt},
		{"verdicts as json", append([]byte{1, 4}, `{"NodeID":"n1"}`...), ErrCorrupt},
		{"verdicts trailing byte", append(goodV[:len(goodV):len(goodV)], 0), ErrCorrupt},
		{"verdicts huge count", append([]byte{1, 4, 2, 'n', '1', 0}, 0xff, 0xff, 0xff, 0xff, 0x0f), ErrCorrupt},
		{"verdicts bad flag", []byte{1, 4, 2, 'n', '1', 7, 0}, ErrCorrupt},
	}
	for i := 2; i < len(goodV); i++ {
		cases = append(cases, struct {
			name string
			data []byte
			want error
		}{fmt.Sprintf("verdicts cut at %d", i), goodV[:i], ErrCorrupt})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			h.failRaw(c.data, c.want)
		})
	}
	h.t = t
	rej, n := h.f.Rejections()
	if n != uint64(len(cases)) || len(rej) != maxRejections {
		t.Fatalf("rejections: %d total, %d kept", n, len(rej))
	}
	if last := rej[len(rej)-1]; last.Index != h.idx || !strings.Contains(last.Error, "corrupt") {
		t.Fatalf("last rejection %+v", last)
	}
	if h.f.Index() != h.idx {
		t.Fatalf("Index %d, want %d: refused entries are applied indexes too", h.f.Index(), h.idx)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	cmds := []Command{
		ApplyConfig{Text: "vrrp_instance VI_1 {\n state MASTER\n}\n", SHA256: "ab", Author: "a", Message: "m", Time: t0, RequestID: "r"},
		RollbackConfig{ToVersion: 3, Text: "t", Author: "a", Message: "m", Time: t0, RequestID: "r"},
		ReportApplied{NodeID: "n1", Version: 3, OK: false, Error: "e", Time: t0},
		SetVerdicts{NodeID: "n1", Replace: true, Verdicts: []Verdict{
			{Key: "k1", Up: true, Weight: -3, Reason: "r", Checker: "MISC_CHECK", Time: t0},
			{Key: "k2", Weight: 65535},
		}},
		SetVerdicts{NodeID: "n2"},
	}
	for _, c := range cmds {
		b := encode(t, c)
		if b[0] != CurrentEncoding || CommandType(b[1]) != c.Type() {
			t.Fatalf("%v: header % x", c.Type(), b[:2])
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%v: %v", c.Type(), err)
		}
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", c) {
			t.Fatalf("round trip\n got %#v\nwant %#v", got, c)
		}
	}
	if _, err := EncodeSetVerdicts(SetVerdicts{}); err == nil {
		t.Error("EncodeSetVerdicts without NodeID")
	}
	if _, err := EncodeSetVerdicts(SetVerdicts{NodeID: "n", Verdicts: []Verdict{{Key: "k", Weight: 1 << 40}}}); err == nil {
		t.Error("EncodeSetVerdicts with a weight out of range")
	}
	if _, err := EncodeReportApplied(ReportApplied{}); err == nil {
		t.Error("EncodeReportApplied without NodeID")
	}
	if _, err := EncodeRollbackConfig(RollbackConfig{}); err == nil {
		t.Error("EncodeRollbackConfig without ToVersion")
	}
	// A verdict is compact: far smaller than its JSON.
	b := encode(t, SetVerdicts{NodeID: "node-1", Verdicts: []Verdict{{Key: "10.0.0.1:80/tcp 10.0.1.5:8080", Up: true, Weight: 1, Checker: "HTTP_GET", Time: t0}}})
	if len(b) > 64 {
		t.Errorf("one verdict encodes to %d bytes", len(b))
	}
}
