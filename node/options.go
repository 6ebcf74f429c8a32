package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Default ports, all on the one --bind address.
const (
	// DefaultGossipPort carries memberlist gossip (UDP and TCP).
	DefaultGossipPort = 7946
	// DefaultRaftPort carries Raft RPCs (TCP, mutual TLS).
	DefaultRaftPort = 7947
	// DefaultAPIPort serves the cluster API (HTTPS, mutual TLS).
	DefaultAPIPort = 7948
)

// SocketName is the local API's unix socket, in the data dir.
const SocketName = "tandem.sock"

// Options configure a Node.
type Options struct {
	// NodeID names the node: its raft server ID, memberlist name and the
	// @NAME of conditional config lines. Required.
	NodeID string
	// DataDir holds raft's log, stable and snapshot stores, the running
	// config and the local API socket. Required.
	DataDir string
	// Bind is the one address the node listens on. The zero value means
	// local-only: a single-node cluster with no network listeners, only the
	// unix socket (the keepalived drop-in mode).
	Bind netip.Addr
	// GossipPort, RaftPort and APIPort default to the Default*Port constants.
	GossipPort, RaftPort, APIPort int
	// Join lists gossip addresses (IP or IP:port) of existing members.
	Join []string
	// BootstrapExpect, if non-zero, bootstraps raft once this many servers
	// without raft state see each other. With neither Join nor
	// BootstrapExpect, the node bootstraps a single-node cluster.
	BootstrapExpect int
	// EncryptKey is memberlist's gossip key (16, 24 or 32 bytes).
	EncryptKey []byte
	// TLS secures raft and the cluster API with mutual TLS.
	TLS *TLS
	// Insecure allows a non-loopback Bind without TLS or EncryptKey.
	Insecure bool
	// Seed, if set, becomes the cluster's first config when it has none.
	Seed *Seed
	// ConfigName names texts in diagnostics when a request names none;
	// default "keepalived.conf".
	ConfigName string
	// Subsystems run each committed config; nil runs nothing.
	Subsystems Subsystems
	// Logger receives the node's logs (raft's and memberlist's included).
	Logger *slog.Logger
	// Version is reported in the node's gossip metadata.
	Version string
	// Timing tunes raft, memberlist and autopilot; zero fields take the
	// defaults of DefaultTiming.
	Timing Timing
}

// Seed is a config text offered as the cluster's first version.
type Seed struct {
	// Name is used in diagnostics (usually the file's path).
	Name string
	// Text is the keepalived.conf text, self-contained (config.Bundle).
	Text string
	// Authoritative makes the seed a new version whenever it differs from
	// the latest (local-only mode: the file is the source of truth).
	Authoritative bool
}

// Timing holds the durations that trade failover speed against churn.
type Timing struct {
	// HeartbeatTimeout and ElectionTimeout are raft's; LeaderLeaseTimeout
	// is derived as half the heartbeat timeout.
	HeartbeatTimeout, ElectionTimeout time.Duration
	// ServerStabilization is how long a new server must be healthy before
	// autopilot promotes it to voter.
	ServerStabilization time.Duration
	// DeadServerGrace is how long a member must be gone from gossip before
	// autopilot removes it from raft.
	DeadServerGrace time.Duration
	// ApplyTimeout bounds a write (apply, rollback, report) end to end.
	ApplyTimeout time.Duration
	// GossipProbeInterval is memberlist's; shorter detects failures sooner.
	GossipProbeInterval time.Duration
}

// DefaultTiming returns the durations used for zero Timing fields.
func DefaultTiming() Timing {
	return Timing{
		HeartbeatTimeout:    1000 * time.Millisecond,
		ElectionTimeout:     1000 * time.Millisecond,
		ServerStabilization: 3 * time.Second,
		DeadServerGrace:     30 * time.Second,
		ApplyTimeout:        10 * time.Second,
		GossipProbeInterval: 1 * time.Second,
	}
}

func (t Timing) withDefaults() Timing {
	d := DefaultTiming()
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&t.HeartbeatTimeout, d.HeartbeatTimeout)
	set(&t.ElectionTimeout, d.ElectionTimeout)
	set(&t.ServerStabilization, d.ServerStabilization)
	set(&t.DeadServerGrace, d.DeadServerGrace)
	set(&t.ApplyTimeout, d.ApplyTimeout)
	set(&t.GossipProbeInterval, d.GossipProbeInterval)
	return t
}

// ErrInsecureBind is returned for a non-loopback bind without TLS and a
// gossip key, unless Options.Insecure is set.
var ErrInsecureBind = errors.New("refusing to run a cluster node without TLS and gossip encryption")

// LocalOnly reports whether the options describe a local-only node.
func (o *Options) LocalOnly() bool { return !o.Bind.IsValid() }

func (o *Options) check() error {
	if o.NodeID == "" {
		return errors.New("node: NodeID is required")
	}
	if o.DataDir == "" {
		return errors.New("node: DataDir is required")
	}
	if o.BootstrapExpect < 0 {
		return fmt.Errorf("node: BootstrapExpect %d: must not be negative", o.BootstrapExpect)
	}
	if o.LocalOnly() {
		if len(o.Join) > 0 || o.BootstrapExpect > 0 {
			return errors.New("node: Join and BootstrapExpect need a Bind address")
		}
		return nil
	}
	if !o.Bind.IsLoopback() && !o.Insecure && (o.TLS == nil || len(o.EncryptKey) == 0) {
		var missing []string
		if o.TLS == nil {
			missing = append(missing, "TLS certificates (--tls-ca, --tls-cert, --tls-key) for raft and the cluster API")
		}
		if len(o.EncryptKey) == 0 {
			missing = append(missing, "a gossip key (--encrypt)")
		}
		return fmt.Errorf("%w on %s: anyone who can reach it could join the cluster and rewrite its configuration; missing %v (or pass --insecure to run unprotected)",
			ErrInsecureBind, o.Bind, joinAnd(missing))
	}
	return nil
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return s[0] + " and " + joinAnd(s[1:])
}

func (o *Options) port(p *int, def int) int {
	if *p == 0 {
		*p = def
	}
	return *p
}
