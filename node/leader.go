package node

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"
)

// leaderLoop runs autopilot and membership reconciliation while this node
// leads.
func (n *Node) leaderLoop(ctx context.Context) {
	var stop context.CancelFunc
	var wg sync.WaitGroup
	end := func() {
		if stop != nil {
			stop()
			wg.Wait()
			if !n.opts.LocalOnly() {
				<-n.pilot.Stop()
			}
			stop = nil
		}
	}
	defer end()
	for {
		select {
		case <-ctx.Done():
			return
		case leader := <-n.raft.LeaderCh():
			end()
			if !leader {
				n.log.Info("lost leadership")
				continue
			}
			n.log.Info("became leader", "term", n.raft.CurrentTerm())
			lctx, cancel := context.WithCancel(ctx)
			stop = cancel
			// A local-only node has no peers to promote or remove: no
			// autopilot, whose timers would only cost CPU.
			if !n.opts.LocalOnly() {
				n.pilot.Start(lctx)
				wg.Add(1)
				go func() {
					defer wg.Done()
					n.reconcileLoop(lctx)
				}()
			}
		}
	}
}

// reconcileLoop adds confirmed members to raft as non-voters (autopilot
// promotes them once stable) and removes members that left gracefully.
func (n *Node) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		n.reconcile()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.kick.reconcile:
		}
	}
}

func (n *Node) reconcile() {
	if n.raft.State() != raft.Leader {
		return
	}
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return
	}
	inRaft := map[string]raft.Server{}
	for _, s := range cf.Configuration().Servers {
		inRaft[string(s.ID)] = s
	}
	for _, m := range n.members.list() {
		s, in := inRaft[m.NodeID]
		switch {
		case m.Status == MemberAlive && m.confirmed && (!in || s.Address != raft.ServerAddress(m.RaftAddr)) && !n.members.wasRemoved(m.NodeID):
			n.log.Info("adding member to raft as non-voter", "member", m.NodeID, "raft", m.RaftAddr)
			if err := n.raft.AddNonvoter(raft.ServerID(m.NodeID), raft.ServerAddress(m.RaftAddr), 0, 5*time.Second).Error(); err != nil {
				n.log.Warn("add non-voter", "member", m.NodeID, "err", err)
			}
		case m.Status == MemberLeft && in && m.NodeID != n.id:
			n.log.Info("removing member that left", "member", m.NodeID)
			if err := n.raft.RemoveServer(raft.ServerID(m.NodeID), 0, 5*time.Second).Error(); err != nil {
				n.log.Warn("remove server", "member", m.NodeID, "err", err)
			}
		}
	}
}

// pilotDelegate is autopilot's view of the application.
type pilotDelegate struct{ n *Node }

var _ autopilot.ApplicationIntegration = pilotDelegate{}

func (d pilotDelegate) AutopilotConfig() *autopilot.Config {
	return &autopilot.Config{
		CleanupDeadServers:      true,
		LastContactThreshold:    5 * d.n.timing.HeartbeatTimeout,
		MaxTrailingLogs:         500,
		ServerStabilizationTime: d.n.timing.ServerStabilization,
	}
}

func (d pilotDelegate) NotifyState(*autopilot.State) {}

// KnownServers is every server in the raft configuration plus every
// confirmed member. A server gossip does not (or no longer) know is
// reported failed, and RemoveFailedServer applies the grace period, so a
// node that restarts slowly is not removed at once.
func (d pilotDelegate) KnownServers() map[raft.ServerID]*autopilot.Server {
	n := d.n
	out := map[raft.ServerID]*autopilot.Server{}
	leaderAddr, leaderID := n.raft.LeaderWithID()
	if cf := n.raft.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			out[s.ID] = &autopilot.Server{ID: s.ID, Name: string(s.ID), Address: s.Address,
				NodeStatus: autopilot.NodeFailed, NodeType: autopilot.NodeVoter, Version: "", RaftVersion: raft.ProtocolVersionMax}
		}
	}
	for _, m := range n.members.list() {
		if !m.confirmed {
			continue
		}
		st := autopilot.NodeFailed
		switch m.Status {
		case MemberAlive:
			st = autopilot.NodeAlive
		case MemberLeft:
			st = autopilot.NodeLeft
		}
		out[raft.ServerID(m.NodeID)] = &autopilot.Server{ID: raft.ServerID(m.NodeID), Name: m.NodeID,
			Address: raft.ServerAddress(m.RaftAddr), NodeStatus: st, NodeType: autopilot.NodeVoter,
			Version: m.Version, RaftVersion: raft.ProtocolVersionMax}
	}
	out[raft.ServerID(n.id)] = &autopilot.Server{ID: raft.ServerID(n.id), Name: n.id, Address: n.raftAddr,
		NodeStatus: autopilot.NodeAlive, NodeType: autopilot.NodeVoter, Version: n.opts.Version,
		RaftVersion: raft.ProtocolVersionMax, IsLeader: leaderID == raft.ServerID(n.id) && leaderAddr != ""}
	return out
}

// FetchServerStats asks each alive server's cluster API for its raft stats.
func (d pilotDelegate) FetchServerStats(ctx context.Context, servers map[raft.ServerID]*autopilot.Server) map[raft.ServerID]*autopilot.ServerStats {
	n := d.n
	out := map[raft.ServerID]*autopilot.ServerStats{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id, s := range servers {
		if s.NodeStatus != autopilot.NodeAlive {
			continue
		}
		if string(id) == n.id {
			mu.Lock()
			out[id] = statsFrom(n.raftStats())
			mu.Unlock()
			continue
		}
		m, ok := n.members.get(string(id))
		if !ok || m.APIAddr == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := n.fetchStats(ctx, m.APIAddr)
			if err != nil {
				n.log.Debug("fetch raft stats", "member", id, "err", err)
				return
			}
			mu.Lock()
			out[id] = statsFrom(st)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// RemoveFailedServer removes a failed server from raft once it has been
// gone for the grace period; autopilot already checked that quorum
// survives the removal.
func (d pilotDelegate) RemoveFailedServer(s *autopilot.Server) {
	n := d.n
	if string(s.ID) == n.id {
		return
	}
	if s.NodeStatus != autopilot.NodeLeft {
		since := n.members.goneSince(string(s.ID))
		if time.Since(since) < n.timing.DeadServerGrace {
			return
		}
	}
	n.log.Warn("removing failed server from raft", "server", s.ID, "status", s.NodeStatus)
	if err := n.raft.RemoveServer(s.ID, 0, 5*time.Second).Error(); err != nil {
		n.log.Warn("remove failed server", "server", s.ID, "err", err)
	}
}

// raftStats is the part of raft.Stats autopilot needs.
type raftStats struct {
	LastContact string `json:"last_contact"`
	LastTerm    uint64 `json:"last_log_term,string"`
	LastIndex   uint64 `json:"last_log_index,string"`
}

func (n *Node) raftStats() raftStats {
	s := n.raft.Stats()
	lt, _ := strconv.ParseUint(s["last_log_term"], 10, 64)
	li, _ := strconv.ParseUint(s["last_log_index"], 10, 64)
	return raftStats{LastContact: s["last_contact"], LastTerm: lt, LastIndex: li}
}

func statsFrom(s raftStats) *autopilot.ServerStats {
	out := &autopilot.ServerStats{LastTerm: s.LastTerm, LastIndex: s.LastIndex}
	switch s.LastContact {
	case "0", "":
	case "never":
		out.LastContact = -1
	default:
		if d, err := time.ParseDuration(s.LastContact); err == nil {
			out.LastContact = d
		}
	}
	return out
}

func (n *Node) fetchStats(ctx context.Context, api string) (raftStats, error) {
	var st raftStats
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.scheme()+"://"+api+"/v1/internal/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := n.peers.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// bootstrapLoop waits for BootstrapExpect servers without raft state to
// see each other, then bootstraps raft with all of them, as Consul does.
// Every one of them computes the same configuration, so bootstrapping on
// each is safe.
func (n *Node) bootstrapLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.raft.LastIndex() > 0 {
			return // added to a cluster meanwhile
		}
		var peers []Member
		for _, m := range n.members.confirmedAlive() {
			if m.expect > 0 {
				peers = append(peers, m)
			}
		}
		if len(peers)+1 < n.opts.BootstrapExpect {
			continue
		}
		for i, m := range peers {
			h, err := n.hello(ctx, m.NodeID, m.APIAddr)
			if err != nil {
				n.log.Warn("bootstrap: cannot reach peer", "member", m.NodeID, "err", err)
				peers = nil
				break
			}
			if h.HasState {
				n.log.Info("bootstrap: a peer already has raft state; waiting to be added to its cluster", "member", m.NodeID)
				return
			}
			peers[i].hasState = h.HasState
		}
		if peers == nil {
			continue
		}
		servers := []raft.Server{{ID: raft.ServerID(n.id), Address: n.raftAddr, Suffrage: raft.Voter}}
		for _, m := range peers {
			servers = append(servers, raft.Server{ID: raft.ServerID(m.NodeID), Address: raft.ServerAddress(m.RaftAddr), Suffrage: raft.Voter})
		}
		slices.SortFunc(servers, func(a, b raft.Server) int {
			if a.ID < b.ID {
				return -1
			}
			if a.ID > b.ID {
				return 1
			}
			return 0
		})
		ids := make([]string, len(servers))
		for i, s := range servers {
			ids[i] = string(s.ID)
		}
		n.log.Info("bootstrapping raft", "servers", ids, "bootstrap_expect", n.opts.BootstrapExpect)
		if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
			n.log.Warn("bootstrap", "err", err)
		}
		return
	}
}
