package fsm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// update runs fn on the state under the write lock and, if fn succeeds,
// advances the applied index. fn must validate before it mutates.
func (f *FSM) update(l *raft.Log, fn func(s *state) (Result, error)) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	res, err := fn(&f.st)
	if err != nil {
		return Result{}, err
	}
	f.st.index = max(f.st.index, l.Index)
	return res, nil
}

func (f *FSM) applyConfig(l *raft.Log, c ApplyConfig) (Result, error) {
	// Hash outside the lock: texts are megabytes.
	sum := sha256Hex(c.Text)
	if c.SHA256 != "" && !strings.EqualFold(c.SHA256, sum) {
		return Result{}, fmt.Errorf("%v: %w: text hashes to %s, command says %s", CmdApplyConfig, ErrChecksumMismatch, sum, c.SHA256)
	}
	res, err := f.update(l, func(s *state) (Result, error) {
		if r, dup, err := s.duplicate(c.RequestID, CmdApplyConfig, l.Index); dup {
			return r, err
		}
		v := s.addVersion(ConfigVersion{
			SHA256:  sum,
			Author:  c.Author,
			Message: c.Message,
			Time:    stamp(c.Time, l),
			Index:   l.Index,
		}, c.Text, c.RequestID, CmdApplyConfig, f.keep)
		return Result{Command: CmdApplyConfig, Index: l.Index, Version: v}, nil
	})
	f.configApplied(res, err)
	return res, err
}

func (f *FSM) rollbackConfig(l *raft.Log, c RollbackConfig) (Result, error) {
	var sum string
	if c.Text != "" {
		sum = sha256Hex(c.Text)
	}
	res, err := f.update(l, func(s *state) (Result, error) {
		if c.ToVersion == 0 {
			return Result{}, fmt.Errorf("%v: %w: ToVersion is required", CmdRollbackConfig, ErrInvalid)
		}
		if r, dup, err := s.duplicate(c.RequestID, CmdRollbackConfig, l.Index); dup {
			return r, err
		}
		target, err := s.version(c.ToVersion)
		if err != nil {
			return Result{}, fmt.Errorf("%v: %w", CmdRollbackConfig, err)
		}
		text, kept := s.texts[c.ToVersion]
		switch {
		case c.Text != "" && sum != target.SHA256:
			return Result{}, fmt.Errorf("%v to %d: %w: carried text hashes to %s, version has %s",
				CmdRollbackConfig, c.ToVersion, ErrChecksumMismatch, sum, target.SHA256)
		case c.Text != "":
			text = c.Text
		case !kept:
			return Result{}, fmt.Errorf("%v: version %d: %w", CmdRollbackConfig, c.ToVersion, ErrTextEvicted)
		}
		from, _ := s.latest()
		v := s.addVersion(ConfigVersion{
			SHA256:         target.SHA256,
			Author:         c.Author,
			Message:        c.Message,
			Time:           stamp(c.Time, l),
			Index:          l.Index,
			RollbackTo:     c.ToVersion,
			RolledBackFrom: from.Version,
		}, text, c.RequestID, CmdRollbackConfig, f.keep)
		return Result{Command: CmdRollbackConfig, Index: l.Index, Version: v}, nil
	})
	f.configApplied(res, err)
	return res, err
}

// configApplied logs and announces a config command's outcome, outside the lock.
func (f *FSM) configApplied(res Result, err error) {
	switch {
	case err != nil:
	case res.Duplicate:
		f.log.Info("retried config request, returning earlier version",
			"command", res.Command, "index", res.Index, "version", res.Version.Version)
	default:
		v := res.Version
		f.log.Info("config version created", "command", res.Command, "version", v.Version,
			"sha256", v.SHA256, "size", v.Size, "author", v.Author, "index", v.Index)
		f.configWatch.notify(v.Version)
	}
}

func (f *FSM) reportApplied(l *raft.Log, c ReportApplied) (Result, error) {
	res, err := f.update(l, func(s *state) (Result, error) {
		if c.NodeID == "" {
			return Result{}, fmt.Errorf("%v: %w: NodeID is required", CmdReportApplied, ErrInvalid)
		}
		if _, err := s.version(c.Version); err != nil {
			return Result{}, fmt.Errorf("%v from %s: %w", CmdReportApplied, c.NodeID, err)
		}
		s.applied[c.NodeID] = AppliedStatus{
			NodeID:  c.NodeID,
			Version: c.Version,
			OK:      c.OK,
			Error:   c.Error,
			Time:    stamp(c.Time, l),
			Index:   l.Index,
		}
		return Result{Command: CmdReportApplied, Index: l.Index}, nil
	})
	if err == nil {
		f.log.Debug("config apply reported", "node", c.NodeID, "version", c.Version, "ok", c.OK, "error", c.Error)
	}
	return res, err
}

func (f *FSM) setVerdicts(l *raft.Log, c SetVerdicts) (Result, error) {
	res, err := f.update(l, func(s *state) (Result, error) {
		if c.NodeID == "" || strings.Contains(c.NodeID, "\x00") {
			return Result{}, fmt.Errorf("%v: %w: NodeID %q", CmdSetVerdicts, ErrInvalid, c.NodeID)
		}
		for _, v := range c.Verdicts {
			if v.Key == "" {
				return Result{}, fmt.Errorf("%v from %s: %w: empty verdict key", CmdSetVerdicts, c.NodeID, ErrInvalid)
			}
		}
		txn := s.verdicts.Txn()
		if c.Replace {
			txn.DeletePrefix([]byte(c.NodeID + "\x00"))
		}
		for _, v := range c.Verdicts {
			v.Time = stamp(v.Time, l)
			k := verdictKey(c.NodeID, v.Key)
			if old, ok := txn.Get(k); ok && old.(Verdict).Time.After(v.Time) {
				continue // a late retry of an older observation
			}
			txn.Insert(k, v)
		}
		s.verdicts = txn.Commit()
		return Result{Command: CmdSetVerdicts, Index: l.Index}, nil
	})
	if err == nil {
		f.log.Debug("verdicts set", "node", c.NodeID, "count", len(c.Verdicts), "replace", c.Replace)
		f.verdictWatch.notify(l.Index)
	}
	return res, err
}

// stamp returns t, or the leader's append time if t is zero, in UTC so every
// node stores the same value.
func stamp(t time.Time, l *raft.Log) time.Time {
	if t.IsZero() {
		t = l.AppendedAt
	}
	return norm(t)
}

// norm strips the location and monotonic reading, which do not survive
// encoding.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
