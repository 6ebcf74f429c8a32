package fsm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	iradix "github.com/hashicorp/go-immutable-radix"
	"github.com/hashicorp/raft"
)

// SnapshotFormat is the snapshot format Persist writes and Restore reads:
//
//	one line of JSON (snapshotHeader, "format" first),
//	the distinct config texts, raw, in the order and sizes the header lists,
//	per reporting node: uvarint length + SetVerdicts payload of encoding 1,
//	uvarint 0.
//
// Texts are raw rather than JSON strings so that 50 megabyte-sized versions
// persist and restore at disk speed.
const SnapshotFormat = 1

// ErrSnapshotFormat means Restore was given a snapshot format this node does
// not read, or something that is not a tandem FSM snapshot.
var ErrSnapshotFormat = errors.New("unsupported snapshot format")

// maxSnapshotChunk bounds one text or verdict group in a snapshot.
const maxSnapshotChunk = 1 << 30

type snapshotHeader struct {
	Format     int             `json:"format"`
	Index      uint64          `json:"index"`
	Versions   []ConfigVersion `json:"versions"`
	Texts      []snapshotText  `json:"texts"`
	Applied    []AppliedStatus `json:"applied"`
	Requests   []requestRecord `json:"requests"`
	Rejections []Rejection     `json:"rejections"`
	Rejected   uint64          `json:"rejected"`
}

// snapshotText describes one distinct text and the versions that have it.
type snapshotText struct {
	SHA256   string   `json:"sha256"`
	Size     int      `json:"size"`
	Versions []uint64 `json:"versions"`
}

// fsmSnapshot is a point-in-time copy of the state, sharing its immutable
// parts with the live FSM.
type fsmSnapshot struct {
	st state
}

// Snapshot implements raft.FSM. It copies only the small maps; versions
// (append-only) and the verdict tree (immutable) are shared.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := f.st
	s.versions = s.versions[:len(s.versions):len(s.versions)]
	s.texts = maps.Clone(s.texts)
	s.applied = maps.Clone(s.applied)
	s.requests = slices.Clone(s.requests)
	s.requestIDs = nil // rebuilt from requests on restore
	s.rejections = slices.Clone(s.rejections)
	return &fsmSnapshot{st: s}, nil
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriterSize(sink, 64<<10)
	err := s.st.writeSnapshot(w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("fsm: persist snapshot %s: %w", sink.ID(), err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("fsm: persist snapshot %s: close: %w", sink.ID(), err)
	}
	return nil
}

// Release implements raft.FSMSnapshot; there is nothing to release.
func (s *fsmSnapshot) Release() {}

// Restore implements raft.FSM: it replaces the whole state with the
// snapshot's, or leaves it untouched if the snapshot cannot be read.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := readSnapshot(rc)
	if err != nil {
		return fmt.Errorf("fsm: restore snapshot: %w", err)
	}
	st.evictTexts(f.keep)

	f.mu.Lock()
	before, _ := f.st.latest()
	hadVerdicts := f.st.verdicts.Len() > 0
	f.st = st
	after, _ := st.latest()
	f.mu.Unlock()

	f.log.Info("restored snapshot", "index", st.index, "versions", len(st.versions),
		"latest", after.Version, "verdicts", st.verdicts.Len())
	if after.Version != before.Version || after.SHA256 != before.SHA256 {
		f.configWatch.notify(after.Version)
	}
	if hadVerdicts || st.verdicts.Len() > 0 {
		f.verdictWatch.notify(st.index)
	}
	return nil
}

func (s *state) writeSnapshot(w io.Writer) error {
	h := snapshotHeader{
		Format:     SnapshotFormat,
		Index:      s.index,
		Versions:   s.versions,
		Requests:   s.requests,
		Rejections: s.rejections,
		Rejected:   s.rejected,
	}
	// Distinct texts, in version order so equal states write equal bytes.
	kept := slices.Sorted(maps.Keys(s.texts))
	bySum := map[string]int{}
	var texts []string
	for _, n := range kept {
		sum := s.versions[n-1].SHA256
		i, ok := bySum[sum]
		if !ok {
			i = len(h.Texts)
			bySum[sum] = i
			h.Texts = append(h.Texts, snapshotText{SHA256: sum, Size: len(s.texts[n])})
			texts = append(texts, s.texts[n])
		}
		h.Texts[i].Versions = append(h.Texts[i].Versions, n)
	}
	for _, node := range slices.Sorted(maps.Keys(s.applied)) {
		h.Applied = append(h.Applied, s.applied[node])
	}
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode header: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return err
	}
	for _, t := range texts {
		if _, err := io.WriteString(w, t); err != nil {
			return err
		}
	}
	return writeVerdicts(w, s.verdicts)
}

// writeVerdicts writes one group per node (the tree is sorted, so a node's
// verdicts are adjacent) and the terminating zero length.
func writeVerdicts(w io.Writer, t *iradix.Tree) error {
	var group SetVerdicts
	var buf []byte
	flush := func() error {
		if group.NodeID == "" {
			return nil
		}
		buf = appendVerdictsV1(buf[:0], group)
		_, err := w.Write(append(binary.AppendUvarint(nil, uint64(len(buf))), buf...))
		group = SetVerdicts{}
		return err
	}
	var err error
	t.Root().Walk(func(k []byte, v any) bool {
		node, _ := splitVerdictKey(k)
		if node != group.NodeID {
			if err = flush(); err != nil {
				return true
			}
			group = SetVerdicts{NodeID: node, Replace: true}
		}
		group.Verdicts = append(group.Verdicts, v.(Verdict))
		return false
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	_, err = w.Write([]byte{0})
	return err
}

func readSnapshot(r io.Reader) (state, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	line, err := br.ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return state{}, fmt.Errorf("read header: %w", err)
	}
	var probe struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(line, &probe); err != nil || probe.Format == nil {
		return state{}, fmt.Errorf("%w: not a tandem FSM snapshot (no JSON header with a format)", ErrSnapshotFormat)
	}
	if *probe.Format != SnapshotFormat {
		return state{}, fmt.Errorf("%w %d: this node reads format %d; upgrade it to restore this snapshot",
			ErrSnapshotFormat, *probe.Format, SnapshotFormat)
	}
	var h snapshotHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return state{}, fmt.Errorf("decode header: %w", err)
	}

	st := newState()
	st.index, st.rejections, st.rejected = h.Index, h.Rejections, h.Rejected
	for i, v := range h.Versions {
		if v.Version != uint64(i)+1 || v.Text != "" {
			return state{}, fmt.Errorf("header: version %d at position %d", v.Version, i)
		}
	}
	st.versions = h.Versions
	for _, t := range h.Texts {
		text, sum, err := readText(br, t.Size)
		if err != nil {
			return state{}, fmt.Errorf("read text %s: %w", t.SHA256, err)
		}
		if sum != t.SHA256 {
			return state{}, fmt.Errorf("text %s: %w: read %s", t.SHA256, ErrChecksumMismatch, sum)
		}
		for _, n := range t.Versions {
			v, err := st.version(n)
			if err != nil || v.SHA256 != t.SHA256 {
				return state{}, fmt.Errorf("text %s: does not belong to version %d", t.SHA256, n)
			}
			st.texts[n] = text
		}
	}
	if v, ok := st.latest(); ok && st.texts[v.Version] == "" && v.Size > 0 {
		return state{}, fmt.Errorf("latest version %d has no text", v.Version)
	}
	for _, a := range h.Applied {
		st.applied[a.NodeID] = a
	}
	for _, r := range h.Requests {
		if _, err := st.version(r.Version); err != nil || r.ID == "" {
			return state{}, fmt.Errorf("request %q: %v", r.ID, err)
		}
		st.remember(r)
	}
	if st.verdicts, err = readVerdicts(br); err != nil {
		return state{}, err
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return state{}, errors.New("trailing data after snapshot")
	}
	return st, nil
}

func readVerdicts(br *bufio.Reader) (*iradix.Tree, error) {
	txn := iradix.New().Txn()
	for {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, fmt.Errorf("read verdicts: %w", err)
		}
		if n == 0 {
			return txn.Commit(), nil
		}
		if n > maxSnapshotChunk {
			return nil, fmt.Errorf("read verdicts: group of %d bytes", n)
		}
		var b bytes.Buffer
		if _, err := io.CopyN(&b, br, int64(n)); err != nil {
			return nil, fmt.Errorf("read verdicts: %w", err)
		}
		g, err := decodeVerdictsV1(b.Bytes())
		if err != nil {
			return nil, fmt.Errorf("read verdicts: %w", err)
		}
		for _, v := range g.Verdicts {
			txn.Insert(verdictKey(g.NodeID, v.Key), v)
		}
	}
}

// readText reads a size-byte text and its hex SHA-256. Beyond 16 MiB the
// buffer grows as data arrives, so a corrupt size fails before it allocates.
func readText(r io.Reader, size int) (text, sum string, err error) {
	if size < 0 || size > maxSnapshotChunk {
		return "", "", fmt.Errorf("bad size %d", size)
	}
	var b strings.Builder
	b.Grow(min(size, 16<<20))
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(&b, h), r, int64(size)); err != nil {
		return "", "", err
	}
	return b.String(), hex.EncodeToString(h.Sum(nil)), nil
}
