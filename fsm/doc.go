// Package fsm is tandem's Raft finite state machine: the replicated state
// every cluster node agrees on, applied through hashicorp/raft.
//
// It holds two things: the history of keepalived.conf versions (with which
// version each node applied and whether that worked) and the cluster's view
// of real-server health (verdicts reported by each node's checkers).
//
// # Log entries
//
// Every raft log entry this package applies is
//
//	[1 byte encoding version][1 byte command type][payload]
//
// built by the Encode* functions. Encoding version 1 encodes the config
// commands' metadata as JSON: they are rare, JSON stays readable in a raft
// log dump, and optional fields can be added. The keepalived.conf text itself
// follows the JSON raw, because JSON-escaping megabytes costs ten times more
// to decode than the rest of Apply. SetVerdicts is frequent and made of many
// small records, so it has a compact binary payload (varint lengths,
// unix-nano times), about a third of its JSON size.
//
// An entry with an unknown encoding version, an unknown command type or a
// corrupt payload never panics: Apply returns an error value (raft hands it
// to the submitter through ApplyFuture.Response), logs it, counts it in
// Rejections, and leaves the replicated state unchanged.
//
// Apply must be deterministic on every node, so a change to the meaning of an
// entry needs a new encoding version, and a new encoding version must only be
// submitted once every node runs a binary that decodes it: an older node
// would reject the entry that newer nodes apply, and their states diverge.
// Newer binaries keep decoding every older encoding version explicitly.
//
// # Determinism
//
// Apply never reads the local clock: a command's zero Time is replaced with
// the leader's raft.Log.AppendedAt. The number of retained config texts
// (Options.KeepTexts) is local, so a RollbackConfig to a version whose text a
// node may have evicted should carry the text (see FSM.PrepareRollback); the
// FSM verifies it against the replicated SHA-256.
package fsm
