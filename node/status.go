package node

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// Status is a node's view of the cluster.
type Status struct {
	// NodeID is the answering node, State its raft state (Leader,
	// Follower, Candidate).
	NodeID string `json:"node_id"`
	State  string `json:"state"`
	// Leader is the leader's node ID ("" if none is known) and Term the
	// current raft term.
	Leader string `json:"leader"`
	Term   uint64 `json:"term"`
	// Quorum is true when this node is in contact with a leader backed by
	// a majority; without it applies are refused and the running config
	// stays.
	Quorum bool `json:"quorum"`
	// LatestVersion is the newest config version this node knows.
	LatestVersion uint64 `json:"latest_version"`
	// CommitIndex and AppliedIndex are raft's.
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// Running is what this node runs.
	Running Running `json:"running"`
	// Nodes lists every raft server and gossip member.
	Nodes []NodeStatus `json:"nodes"`
}

// NodeStatus is one node as seen from the answering node.
type NodeStatus struct {
	NodeID string `json:"node_id"`
	// RaftAddr is its raft address.
	RaftAddr string `json:"raft_addr,omitempty"`
	// Suffrage is voter, nonvoter or none (not in the raft configuration);
	// Voter is Suffrage == "voter".
	Suffrage string `json:"suffrage"`
	Voter    bool   `json:"voter"`
	Leader   bool   `json:"leader"`
	// Member is the gossip status (alive, failed, left, unconfirmed);
	// Alive is Member == "alive".
	Member string `json:"member"`
	Alive  bool   `json:"alive"`
	// AppliedVersion is the last version the node reported applying,
	// AppliedOK whether that worked and AppliedError why not.
	AppliedVersion uint64 `json:"applied_version"`
	AppliedOK      bool   `json:"applied_ok"`
	AppliedError   string `json:"applied_error,omitempty"`
	// Version is its tandem version.
	Version string `json:"version,omitempty"`
	// Healthy is autopilot's verdict (in touch with the leader, log
	// caught up); only the leader knows it, so it is absent elsewhere.
	Healthy *bool `json:"healthy,omitempty"`
}

// Status returns this node's view of the cluster.
func (n *Node) Status() Status {
	st := Status{
		NodeID:       n.id,
		State:        n.raft.State().String(),
		Term:         n.raft.CurrentTerm(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(),
		Running:      n.running.get(),
		Quorum:       n.quorum(),
	}
	_, leaderID := n.raft.LeaderWithID()
	st.Leader = string(leaderID)
	if v, ok := n.fsm.Latest(); ok {
		st.LatestVersion = v.Version
	}
	nodes := map[string]*NodeStatus{}
	get := func(id string) *NodeStatus {
		if ns := nodes[id]; ns != nil {
			return ns
		}
		ns := &NodeStatus{NodeID: id, Suffrage: "none", Member: MemberFailed}
		nodes[id] = ns
		return ns
	}
	if cf := n.raft.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			ns := get(string(s.ID))
			ns.RaftAddr = string(s.Address)
			ns.Suffrage = suffrage(s.Suffrage)
		}
	}
	for _, m := range n.members.list() {
		if !m.confirmed && nodes[m.NodeID] == nil {
			continue // never proved membership: not part of the cluster
		}
		ns := get(m.NodeID)
		ns.Member, ns.Version = m.Status, m.Version
		if ns.RaftAddr == "" {
			ns.RaftAddr = m.RaftAddr
		}
	}
	self := get(n.id)
	self.Member, self.Version = MemberAlive, n.opts.Version
	if self.RaftAddr == "" {
		self.RaftAddr = string(n.raftAddr)
	}
	applied := n.fsm.Applied()
	for id, ns := range nodes {
		ns.Voter = ns.Suffrage == "voter"
		ns.Alive = ns.Member == MemberAlive
		ns.Leader = id == st.Leader
		if a, ok := applied[id]; ok {
			ns.AppliedVersion, ns.AppliedOK, ns.AppliedError = a.Version, a.OK, a.Error
		}
	}
	if st.State == raft.Leader.String() {
		if ps := n.pilot.GetState(); ps != nil {
			for id, ss := range ps.Servers {
				if ns := nodes[string(id)]; ns != nil {
					h := ss.Health.Healthy
					ns.Healthy = &h
				}
			}
		}
	}
	// This node knows its own outcome before the cluster does.
	if r := st.Running; r.Attempted > 0 {
		self.AppliedVersion, self.AppliedOK, self.AppliedError = r.Attempted, r.OK && r.Version == r.Attempted, r.Error
	}
	for _, ns := range nodes {
		st.Nodes = append(st.Nodes, *ns)
	}
	slices.SortFunc(st.Nodes, func(a, b NodeStatus) int { return strings.Compare(a.NodeID, b.NodeID) })
	return st
}

// quorum reports whether this node is in touch with a leader backed by a
// majority: it leads, or heard from the leader recently.
func (n *Node) quorum() bool {
	switch n.raft.State() {
	case raft.Leader:
		return true
	case raft.Follower:
		addr, _ := n.raft.LeaderWithID()
		return addr != "" && time.Since(n.raft.LastContact()) < 2*n.timing.HeartbeatTimeout
	}
	return false
}

func suffrage(s raft.ServerSuffrage) string {
	switch s {
	case raft.Voter:
		return "voter"
	case raft.Nonvoter, raft.Staging:
		return "nonvoter"
	}
	return "none"
}

// Peer is one server of the raft configuration.
type Peer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

// Peers returns the raft configuration as this node knows it.
func (n *Node) Peers() ([]Peer, error) {
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return nil, err
	}
	_, leader := n.raft.LeaderWithID()
	var out []Peer
	for _, s := range cf.Configuration().Servers {
		out = append(out, Peer{ID: string(s.ID), Address: string(s.Address), Suffrage: suffrage(s.Suffrage), Leader: s.ID == leader})
	}
	return out, nil
}

// Members returns the gossip members, this node included.
func (n *Node) Members() []Member {
	self := Member{NodeID: n.id, RaftAddr: string(n.raftAddr), APIAddr: n.apiAddr,
		Version: n.opts.Version, Status: MemberAlive, confirmed: true}
	if n.ml != nil {
		self.Addr = n.ml.LocalNode().Address()
	}
	out := append(n.members.list(), self)
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.NodeID, b.NodeID) })
	return out
}

func sha256Hex[T string | []byte](b T) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}
