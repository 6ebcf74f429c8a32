package fsm

import (
	"errors"
	"fmt"
	"strings"
	"time"

	iradix "github.com/hashicorp/go-immutable-radix"
)

// Errors wrapped by Apply when a well-formed command cannot be applied, and
// by the query methods.
var (
	// ErrNoSuchVersion means the config version was never created.
	ErrNoSuchVersion = errors.New("no such config version")
	// ErrTextEvicted means the version exists but this node no longer keeps
	// its text (only the last Options.KeepTexts texts are kept).
	ErrTextEvicted = errors.New("config text evicted (only metadata is kept)")
	// ErrChecksumMismatch means a command's SHA-256 does not match its text.
	ErrChecksumMismatch = errors.New("SHA-256 mismatch")
	// ErrRequestIDReused means a RequestID was first used by another kind of command.
	ErrRequestIDReused = errors.New("request ID reused by a different command")
	// ErrInvalid means a command misses a required field.
	ErrInvalid = errors.New("invalid command")
)

// MaxRequestIDs is how many of the most recent request IDs the state keeps to
// recognise retries. It is part of the replicated semantics, so it is a
// constant rather than an option.
const MaxRequestIDs = 1000

// maxRejections is how many rejected entries Rejections reports.
const maxRejections = 16

// ConfigVersion is one version of the cluster's keepalived.conf.
type ConfigVersion struct {
	// Version numbers are 1, 2, 3, … in the order versions were created.
	Version uint64 `json:"version"`
	// Text is the whole keepalived.conf; empty in History.
	Text string `json:"text,omitempty"`
	// SHA256 is the hex SHA-256 of Text, and Size its length in bytes.
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
	// Author, Message and Time are those of the command that created it.
	Author  string    `json:"author,omitempty"`
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time,omitzero"`
	// Index is the raft log index of the entry that created the version.
	Index uint64 `json:"index"`
	// RollbackTo is, for a version created by RollbackConfig, the version
	// whose text it restored, and RolledBackFrom the version that was the
	// latest when the rollback was applied. Both are 0 otherwise.
	RollbackTo     uint64 `json:"rollback_to,omitempty"`
	RolledBackFrom uint64 `json:"rolled_back_from,omitempty"`
}

// AppliedStatus is the last ReportApplied from one node.
type AppliedStatus struct {
	// NodeID, Version, OK, Error and Time are the report's.
	NodeID  string    `json:"node_id"`
	Version uint64    `json:"version"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time,omitzero"`
	// Index is the raft log index of the report.
	Index uint64 `json:"index"`
}

// Rejection records a log entry Apply refused.
type Rejection struct {
	// Index is the entry's raft index and Time the leader's append time.
	Index uint64    `json:"index"`
	Time  time.Time `json:"time,omitzero"`
	// Error is why Apply refused it.
	Error string `json:"error"`
}

// Result is the response Apply returns for an entry it applied. For an
// entry it refused, Apply returns an error instead.
type Result struct {
	// Command is the entry's command type.
	Command CommandType
	// Index is the raft log index of the entry.
	Index uint64
	// Version is, for ApplyConfig and RollbackConfig, the version created
	// (without its Text), or for a retried RequestID the one created first.
	Version ConfigVersion
	// Duplicate is true if RequestID was seen before and nothing changed.
	Duplicate bool
}

// MergedVerdict is the cluster's combined view of one real server.
type MergedVerdict struct {
	// Key is the verdicts' key.
	Key string
	// Up is what most reporting nodes say; a tie goes to the newest report.
	Up bool
	// Weight is the newest report's weight.
	Weight int
	// UpCount and DownCount count the nodes reporting up and down.
	UpCount, DownCount int
	// Latest is the newest report, from node LatestNode.
	Latest     Verdict
	LatestNode string
}

// requestRecord remembers which version a RequestID created.
type requestRecord struct {
	ID      string      `json:"id"`
	Command CommandType `json:"command"`
	Version uint64      `json:"version"`
}

// state is the replicated state; FSM guards it with its lock. Fields are
// replaced or appended to in a way that lets a snapshot share them: versions
// is append-only and the verdict tree is immutable.
type state struct {
	index      uint64
	versions   []ConfigVersion   // versions[i].Version == i+1, Text empty
	texts      map[uint64]string // kept texts by version
	applied    map[string]AppliedStatus
	verdicts   *iradix.Tree // verdictKey(node, key) -> Verdict
	requests   []requestRecord
	requestIDs map[string]requestRecord
	rejections []Rejection
	rejected   uint64
}

func newState() state {
	return state{
		texts:      map[uint64]string{},
		applied:    map[string]AppliedStatus{},
		verdicts:   iradix.New(),
		requestIDs: map[string]requestRecord{},
	}
}

// verdictKey keys the verdict tree so that one node's verdicts share a prefix.
func verdictKey(node, key string) []byte {
	return []byte(node + "\x00" + key)
}

func splitVerdictKey(k []byte) (node, key string) {
	node, key, _ = strings.Cut(string(k), "\x00")
	return node, key
}

// latest returns the newest version's metadata.
func (s *state) latest() (ConfigVersion, bool) {
	if len(s.versions) == 0 {
		return ConfigVersion{}, false
	}
	return s.versions[len(s.versions)-1], true
}

// version returns version n's metadata.
func (s *state) version(n uint64) (ConfigVersion, error) {
	if n == 0 || n > uint64(len(s.versions)) {
		return ConfigVersion{}, fmt.Errorf("version %d: %w (latest is %d)", n, ErrNoSuchVersion, len(s.versions))
	}
	return s.versions[n-1], nil
}

// duplicate returns the earlier result for a retried request ID.
func (s *state) duplicate(id string, typ CommandType, index uint64) (Result, bool, error) {
	if id == "" {
		return Result{}, false, nil
	}
	r, ok := s.requestIDs[id]
	if !ok {
		return Result{}, false, nil
	}
	if r.Command != typ {
		return Result{}, true, fmt.Errorf("request ID %q: %w (%v, now %v)", id, ErrRequestIDReused, r.Command, typ)
	}
	return Result{Command: typ, Index: index, Version: s.versions[r.Version-1], Duplicate: true}, true, nil
}

// addVersion appends v with text and remembers requestID. The caller has
// validated everything.
func (s *state) addVersion(v ConfigVersion, text string, requestID string, typ CommandType, keep int) ConfigVersion {
	v.Version = uint64(len(s.versions)) + 1
	v.Size = len(text)
	// Share the string with a kept version of the same text: re-applies
	// and rollbacks then cost no memory.
	for n, t := range s.texts {
		if s.versions[n-1].SHA256 == v.SHA256 {
			text = t
			break
		}
	}
	s.versions = append(s.versions, v)
	s.texts[v.Version] = text
	s.evictTexts(keep)
	if requestID != "" {
		s.remember(requestRecord{ID: requestID, Command: typ, Version: v.Version})
	}
	return v
}

// evictTexts drops all texts but those of the newest keep versions.
func (s *state) evictTexts(keep int) {
	newest := uint64(len(s.versions))
	for n := range s.texts {
		if n+uint64(keep) <= newest {
			delete(s.texts, n)
		}
	}
}

// remember records a request ID, forgetting the oldest beyond MaxRequestIDs.
func (s *state) remember(r requestRecord) {
	s.requests = append(s.requests, r)
	s.requestIDs[r.ID] = r
	if len(s.requests) > MaxRequestIDs {
		delete(s.requestIDs, s.requests[0].ID)
		s.requests = s.requests[1:]
	}
}

// reject records a refused entry.
func (s *state) reject(r Rejection) {
	s.rejected++
	s.rejections = append(s.rejections, r)
	if len(s.rejections) > maxRejections {
		s.rejections = s.rejections[1:]
	}
}
