// Package node wires a tandem director into a cluster: hashicorp/raft
// replicates the configuration (the fsm package is its state machine),
// hashicorp/memberlist finds the other directors, raft-autopilot promotes
// and removes servers, and two APIs let operators (`tandem ctl`) and peers
// talk to it.
//
// # Addresses and ports
//
// A node listens on one address, Options.Bind, with fixed default ports:
//
//	7946  gossip (memberlist, UDP and TCP), encrypted with --encrypt's key
//	7947  raft (TCP, mutual TLS)
//	7948  cluster API (HTTPS, mutual TLS): forwarded writes, membership checks
//
// plus the local API on the unix socket DATA_DIR/tandem.sock (mode 0600),
// which `tandem ctl` uses. A socket left by a killed agent is removed at
// start if nothing answers on it. Without a Bind address the node is
// local-only: a single-node cluster with only the unix socket (the
// keepalived drop-in, `tandem agent -f keepalived.conf`).
//
// Binding a non-loopback address without TLS and a gossip key is refused
// unless Options.Insecure is set: anyone reaching the ports could otherwise
// join and rewrite the configuration.
//
// # Forming a cluster
//
// With neither Join nor BootstrapExpect a node bootstraps a single-node
// cluster in its data dir (the same code path as a bigger cluster; others
// can join it later). With BootstrapExpect N, nodes gossip until N servers
// that have no raft state see each other and then each bootstraps raft
// with the same N voters, as Consul does; a node that finds a peer with
// raft state waits to be added instead. The leader adds every confirmed
// member that is not in raft as a non-voter, and autopilot promotes it to
// voter once it has been healthy for Timing.ServerStabilization. A member
// gone from gossip for Timing.DeadServerGrace is removed from raft by
// autopilot, which never removes so many that quorum is lost; a member
// that leaves (Node.Leave, `tandem ctl leave`) is removed at once.
//
// Gossip alone proves nothing: a member is confirmed — listed alive, used
// for bootstrap, added to raft — only after its cluster API answered over
// mutual TLS with a certificate of the cluster CA whose common name is the
// member's node ID. A host with the gossip key but no such certificate is
// refused, and both sides log it ("refusing member" on each side's
// membership check; a failed TLS handshake on the API and raft ports).
//
// # Writes
//
// Apply, Rollback, peer removal and apply reports go to the leader; a
// follower forwards them over the cluster API. The leader validates a
// config by parsing and rendering it for every known node ID (raft servers
// and confirmed members), so an @node conditional line that breaks one node
// is refused; problems come back as FILE:LINE: message in APIError and
// nothing is committed. A RequestID makes a retry safe. Every write is
// bounded by Timing.ApplyTimeout; a node that cannot reach a leader backed
// by a majority fails it with ErrNoQuorum at once.
//
// # Running configs
//
// On each new version every node parses the text for its own node ID and
// calls Subsystems.Apply, then records the outcome through raft
// (ReportApplied), so `tandem ctl status` on any node shows which version
// each node runs. The running text is also written to DATA_DIR/running.conf,
// so a restarted node runs it again at once, even before raft has a leader.
// Losing quorum never calls the Subsystems: what runs keeps running
// (fail-static). Config texts are self-contained: senders inline includes
// with config.Bundle, and a text that still includes a file is refused.
package node
