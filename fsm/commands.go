package fsm

import (
	"fmt"
	"time"
)

// CommandType identifies the command carried by a log entry (its second byte).
type CommandType uint8

// Command types. Their values are part of the log format: never renumber.
const (
	// CmdApplyConfig creates a new config version from a keepalived.conf text.
	CmdApplyConfig CommandType = 1
	// CmdRollbackConfig creates a new config version from an older version's text.
	CmdRollbackConfig CommandType = 2
	// CmdReportApplied records the result of a node applying a config version.
	CmdReportApplied CommandType = 3
	// CmdSetVerdicts records a node's real-server health verdicts.
	CmdSetVerdicts CommandType = 4
)

// String returns the command's name, for logs.
func (c CommandType) String() string {
	switch c {
	case CmdApplyConfig:
		return "ApplyConfig"
	case CmdRollbackConfig:
		return "RollbackConfig"
	case CmdReportApplied:
		return "ReportApplied"
	case CmdSetVerdicts:
		return "SetVerdicts"
	}
	return fmt.Sprintf("CommandType(%d)", uint8(c))
}

// Command is one decoded log entry: ApplyConfig, RollbackConfig,
// ReportApplied or SetVerdicts.
type Command interface {
	// Type returns the command's type byte.
	Type() CommandType
}

// ApplyConfig makes Text the cluster's newest config version. Applying a text
// equal to the current one still creates a new version: "apply" is recorded.
type ApplyConfig struct {
	// Text is the whole keepalived.conf, includes already inlined.
	Text string `json:"text,omitempty"`
	// SHA256 is the hex SHA-256 of Text. Optional; if set, the FSM rejects
	// the command when it does not match.
	SHA256 string `json:"sha256,omitempty"`
	// Author and Message describe the change, like a commit.
	Author  string `json:"author,omitempty"`
	Message string `json:"message,omitempty"`
	// Time is when the change was submitted; zero means the leader's append time.
	Time time.Time `json:"time,omitzero"`
	// RequestID, if set, makes a client retry safe: a second entry with the
	// same RequestID returns the first one's result instead of a new version.
	RequestID string `json:"request_id,omitempty"`
}

// Type implements Command.
func (ApplyConfig) Type() CommandType { return CmdApplyConfig }

// RollbackConfig creates a new config version whose text is that of
// ToVersion.
type RollbackConfig struct {
	// ToVersion is the version whose text becomes current again.
	ToVersion uint64 `json:"to_version"`
	// Text optionally carries ToVersion's text, so that nodes which evicted
	// it can still apply the rollback. It must match ToVersion's SHA-256.
	Text string `json:"text,omitempty"`
	// Author and Message describe the rollback.
	Author  string `json:"author,omitempty"`
	Message string `json:"message,omitempty"`
	// Time is when the rollback was submitted; zero means the leader's append time.
	Time time.Time `json:"time,omitzero"`
	// RequestID has the same meaning as in ApplyConfig.
	RequestID string `json:"request_id,omitempty"`
}

// Type implements Command.
func (RollbackConfig) Type() CommandType { return CmdRollbackConfig }

// ReportApplied records that NodeID tried to apply config Version locally.
type ReportApplied struct {
	// NodeID is the reporting node's raft server ID.
	NodeID string `json:"node_id"`
	// Version is the config version the node tried to apply.
	Version uint64 `json:"version"`
	// OK is true if the node runs the version; Error says why not.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Time is when the node applied it; zero means the leader's append time.
	Time time.Time `json:"time,omitzero"`
}

// Type implements Command.
func (ReportApplied) Type() CommandType { return CmdReportApplied }

// SetVerdicts records real-server health verdicts observed by NodeID.
type SetVerdicts struct {
	// NodeID is the reporting node's raft server ID.
	NodeID string
	// Replace drops every verdict NodeID reported before (a full resync,
	// e.g. after a config change removed real servers); otherwise the
	// verdicts are merged in by Key.
	Replace  bool
	Verdicts []Verdict
}

// Type implements Command.
func (SetVerdicts) Type() CommandType { return CmdSetVerdicts }

// Verdict is one checker's opinion of one real server.
type Verdict struct {
	// Key identifies the real server within its virtual server, e.g.
	// "10.0.0.1:80/tcp 10.0.1.5:8080"; the FSM treats it as opaque.
	Key string `json:"key"`
	// Up is the checker's verdict, and Weight the weight it gives the real
	// server (keepalived's weight, changed by MISC_CHECK and friends).
	Up     bool `json:"up"`
	Weight int  `json:"weight"`
	// Reason explains the verdict ("connect refused", "HTTP 503").
	Reason string `json:"reason,omitempty"`
	// Checker names the check that decided (e.g. "HTTP_GET").
	Checker string `json:"checker,omitempty"`
	// Time is when the verdict was reached. A verdict older than the one
	// already stored for the same node and key is ignored. Zero means the
	// leader's append time.
	Time time.Time `json:"time,omitzero"`
}
