package fsm

import (
	"fmt"
	"maps"
	"slices"
)

// Latest returns the newest config version with its text, and false if no
// config was ever applied.
func (f *FSM) Latest() (ConfigVersion, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	v, ok := f.st.latest()
	if ok {
		v.Text = f.st.texts[v.Version] // the newest text is always kept
	}
	return v, ok
}

// Version returns config version n with its text. If the version exists but
// its text was evicted, it returns the metadata and an error wrapping
// ErrTextEvicted; an unknown version gives ErrNoSuchVersion.
func (f *FSM) Version(n uint64) (ConfigVersion, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	v, err := f.st.version(n)
	if err != nil {
		return ConfigVersion{}, err
	}
	text, ok := f.st.texts[n]
	if !ok {
		return v, fmt.Errorf("version %d: %w; this node keeps the texts of the newest %d versions",
			n, ErrTextEvicted, f.keep)
	}
	v.Text = text
	return v, nil
}

// History returns the metadata (no Text) of every config version, newest
// first.
func (f *FSM) History() []ConfigVersion {
	f.mu.RLock()
	h := slices.Clone(f.st.versions)
	f.mu.RUnlock()
	slices.Reverse(h)
	return h
}

// PrepareRollback returns c with Text filled in from this node's copy of
// version c.ToVersion, so the rollback applies on nodes that evicted it.
func (f *FSM) PrepareRollback(c RollbackConfig) (RollbackConfig, error) {
	v, err := f.Version(c.ToVersion)
	if err != nil {
		return c, fmt.Errorf("prepare rollback: %w", err)
	}
	c.Text = v.Text
	return c, nil
}

// Applied returns the last ReportApplied of every node, by node ID.
func (f *FSM) Applied() map[string]AppliedStatus {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return maps.Clone(f.st.applied)
}

// Verdicts returns every stored verdict, by reporting node ID and then by
// verdict key.
func (f *FSM) Verdicts() map[string]map[string]Verdict {
	f.mu.RLock()
	t := f.st.verdicts // immutable: walk it without the lock
	f.mu.RUnlock()
	out := map[string]map[string]Verdict{}
	t.Root().Walk(func(k []byte, v any) bool {
		node, key := splitVerdictKey(k)
		if out[node] == nil {
			out[node] = map[string]Verdict{}
		}
		out[node][key] = v.(Verdict)
		return false
	})
	return out
}

// MergedVerdicts combines every node's verdicts into one view per key.
func (f *FSM) MergedVerdicts() map[string]MergedVerdict {
	f.mu.RLock()
	t := f.st.verdicts
	f.mu.RUnlock()
	out := map[string]MergedVerdict{}
	t.Root().Walk(func(k []byte, val any) bool {
		node, key := splitVerdictKey(k)
		v := val.(Verdict)
		m := out[key]
		m.Key = key
		if v.Up {
			m.UpCount++
		} else {
			m.DownCount++
		}
		// Nodes are walked in key order, so ties in Time resolve the same
		// way every time.
		if m.LatestNode == "" || v.Time.After(m.Latest.Time) {
			m.Latest, m.LatestNode = v, node
		}
		out[key] = m
		return false
	})
	for k, m := range out {
		m.Weight = m.Latest.Weight
		m.Up = m.UpCount > m.DownCount || (m.UpCount == m.DownCount && m.Latest.Up)
		out[k] = m
	}
	return out
}

// Index returns the raft index of the last entry applied (or refused).
func (f *FSM) Index() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.index
}

// Rejections returns the most recent entries Apply refused, oldest first,
// and how many it refused in total.
func (f *FSM) Rejections() ([]Rejection, uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.Clone(f.st.rejections), f.st.rejected
}
