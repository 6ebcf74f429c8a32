package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/fsm"
)

// Subsystems run a committed configuration on this node: VRRP, checkers,
// IPVS. Apply is called with the config rendered for this node's ID, one
// call at a time, and must reload like SIGHUP does (unchanged instances
// keep their state). Losing quorum never calls anything: what runs keeps
// running.
type Subsystems interface {
	Apply(ctx context.Context, cfg *config.Config) error
}

// SubsystemsFunc adapts a function to Subsystems.
type SubsystemsFunc func(ctx context.Context, cfg *config.Config) error

// Apply calls f.
func (f SubsystemsFunc) Apply(ctx context.Context, cfg *config.Config) error { return f(ctx, cfg) }

// Running is what this node runs: the last config version it applied.
type Running struct {
	// Version is the config version applied (0: none yet), and SHA256 its hash.
	Version uint64 `json:"version"`
	SHA256  string `json:"sha256,omitempty"`
	// OK says whether the last attempt worked; Error says why not. A failed
	// attempt leaves the previous config running.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Attempted is the last version tried, and Time when.
	Attempted uint64    `json:"attempted"`
	Time      time.Time `json:"time,omitzero"`
}

// runningState is the Running record, guarded.
type runningState struct {
	mu sync.Mutex
	r  Running
}

func (s *runningState) get() Running {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r
}

func (s *runningState) set(r Running) {
	s.mu.Lock()
	s.r = r
	s.mu.Unlock()
}

// Running returns what this node runs.
func (n *Node) Running() Running { return n.running.get() }

// Files in the data dir holding the running config, so a restarted node
// runs it again before raft has caught up (or without quorum at all).
const (
	runningConfFile = "running.conf"
	runningMetaFile = "running.json"
)

// restoreRunning applies the config the node ran before it stopped.
func (n *Node) restoreRunning() {
	meta, err := os.ReadFile(filepath.Join(n.opts.DataDir, runningMetaFile))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var r Running
	if err == nil {
		err = json.Unmarshal(meta, &r)
	}
	var text []byte
	if err == nil {
		text, err = os.ReadFile(filepath.Join(n.opts.DataDir, runningConfFile))
	}
	if err != nil {
		n.log.Error("cannot read the running config; waiting for raft", "err", err)
		return
	}
	if sha256Hex(text) != r.SHA256 {
		n.log.Error("running config does not match its checksum; waiting for raft", "version", r.Version)
		return
	}
	if seed := n.opts.Seed; seed != nil && seed.Authoritative && sha256Hex(seed.Text) != r.SHA256 {
		n.log.Info("the config file changed since the last run: applying it rather than the running config", "file", seed.Name, "running", r.Version)
		return
	}
	n.log.Info("restoring the running config from the data dir", "version", r.Version)
	n.run(r.Version, r.SHA256, string(text))
}

// applyLoop runs each new committed version through the Subsystems.
// Versions coalesce: after a burst only the newest is applied.
func (n *Node) applyLoop(ctx context.Context) {
	ch, stop := n.fsm.Subscribe()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
		latest, ok := n.fsm.Latest()
		if !ok {
			continue
		}
		cur := n.running.get()
		if cur.Attempted == latest.Version {
			continue
		}
		if cur.OK && cur.SHA256 == latest.SHA256 {
			// Same text under a newer number (re-apply, rollback to it):
			// nothing to reload, but it is now the running version.
			cur.Version, cur.Attempted, cur.Time = latest.Version, latest.Version, time.Now()
			n.running.set(cur)
			n.saveRunning(cur, latest.Text)
			kick(n.kick.report)
			continue
		}
		n.run(latest.Version, latest.SHA256, latest.Text)
	}
}

// run applies one version and records the outcome.
func (n *Node) run(version uint64, sum, text string) {
	start := time.Now()
	var err error
	cfg := n.parsed.take(sum)
	if cfg == nil {
		var diags config.Diagnostics
		cfg, diags = n.parse(n.configName(version), text, n.id)
		err = diags.Err()
	}
	if err == nil {
		err = n.opts.Subsystems.Apply(n.ctx, cfg)
	}
	r := n.running.get()
	r.Attempted, r.Time = version, time.Now()
	if err != nil {
		r.OK, r.Error = false, err.Error()
		n.log.Error("config version not applied; the previous one keeps running", "version", version, "err", err)
	} else {
		r.Version, r.SHA256, r.OK, r.Error = version, sum, true, ""
		n.log.Info("config version applied", "version", version, "took", time.Since(start).Round(time.Microsecond))
		n.saveRunning(r, text)
	}
	n.running.set(r)
	kick(n.kick.report)
}

func (n *Node) configName(version uint64) string {
	return fmt.Sprintf("version-%d.conf", version)
}

// saveRunning writes the running config to the data dir, atomically.
func (n *Node) saveRunning(r Running, text string) {
	meta, _ := json.Marshal(Running{Version: r.Version, SHA256: r.SHA256, OK: true})
	if err := writeAtomic(filepath.Join(n.opts.DataDir, runningConfFile), []byte(text)); err != nil {
		n.log.Error("save running config", "err", err)
		return
	}
	if err := writeAtomic(filepath.Join(n.opts.DataDir, runningMetaFile), meta); err != nil {
		n.log.Error("save running config", "err", err)
	}
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// reportLoop records this node's apply results in the replicated state,
// retrying while there is no quorum.
func (n *Node) reportLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.kick.report:
		}
		r := n.running.get()
		if r.Attempted == 0 {
			continue
		}
		rep := fsm.ReportApplied{NodeID: n.id, Version: r.Attempted, OK: r.OK && r.Version == r.Attempted, Error: r.Error}
		if cur, ok := n.fsm.Applied()[n.id]; ok && cur.Version == rep.Version && cur.OK == rep.OK && cur.Error == rep.Error {
			continue
		}
		if _, ok := n.fsm.Latest(); !ok {
			continue // restored from disk, raft not caught up yet
		}
		if err := n.report(ctx, rep); err != nil {
			n.log.Debug("report applied version", "version", rep.Version, "err", err)
		}
	}
}

// seedLoop offers the -f config until the cluster answers: committed,
// ignored because the cluster has a config, or refused.
func (n *Node) seedLoop(ctx context.Context) {
	s := n.opts.Seed
	req := ApplyRequest{Name: s.Name, Text: s.Text, Author: n.id, Message: "seed from " + s.Name,
		IfNone: !s.Authoritative, IfDifferent: s.Authoritative}
	for {
		res, err := n.Apply(ctx, req)
		switch {
		case err == nil && res.Ignored && s.Authoritative:
			n.log.Info("config file unchanged since the running version", "file", s.Name, "version", res.Version.Version)
			return
		case err == nil && res.Ignored:
			n.log.Info("ignoring -f: the cluster already has a configuration", "file", s.Name, "version", res.Version.Version)
			return
		case err == nil:
			n.log.Info("config file committed", "file", s.Name, "version", res.Version.Version)
			return
		case errors.Is(err, ErrNoQuorum), isNotLeader(err):
		default:
			var ae *APIError
			if errors.As(err, &ae) && ae.Code == CodeInvalidConfig {
				n.log.Error("config file refused", "file", s.Name, "err", err)
				return
			}
			n.log.Debug("seed config", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func isNotLeader(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == CodeNotLeader
}
