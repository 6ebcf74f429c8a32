package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// memberMeta is a node's gossip metadata (memberlist limits it to 512
// bytes, hence the short keys).
type memberMeta struct {
	ID      string `json:"id"`
	Raft    string `json:"raft"`
	API     string `json:"api"`
	Version string `json:"v,omitempty"`
	Expect  int    `json:"expect,omitempty"`
}

// Member states, as shown by status and members.
const (
	MemberAlive       = "alive"
	MemberFailed      = "failed"
	MemberLeft        = "left"
	MemberUnconfirmed = "unconfirmed"
)

// Member is one node seen through gossip.
type Member struct {
	// NodeID is the node's ID and Addr its gossip address.
	NodeID string `json:"node_id"`
	Addr   string `json:"addr"`
	// RaftAddr and APIAddr are where its raft and cluster API listen.
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
	// Version is its tandem version.
	Version string `json:"version,omitempty"`
	// Status is alive, failed, left or unconfirmed (gossips, but has not
	// proven cluster membership over mutual TLS: never added to raft).
	Status string `json:"status"`
	// Since is when Status last changed.
	Since time.Time `json:"since"`
	// Refusal says why an unconfirmed member was refused.
	Refusal string `json:"refusal,omitempty"`

	expect    int
	confirmed bool
	hasState  bool
	lastTry   time.Time
	lastLog   time.Time
	meta      memberMeta
}

// members tracks gossip members and which of them proved, over the
// cluster API's mutual TLS, that they hold a cluster certificate.
type members struct {
	n       *Node
	mu      sync.Mutex
	m       map[string]*Member
	missing map[string]time.Time // raft servers gossip never showed, since when
	// removed holds members removed from raft on request while gossip
	// still shows them alive (a leave in progress): not to be re-added
	// until gossip has seen them go.
	removed map[string]bool
	// gone is the state (dead or left) of members memberlist no longer
	// lists, from its leave events.
	gone map[string]memberlist.NodeStateType
}

func newMembers(n *Node) *members { return &members{n: n, m: map[string]*Member{}} }

// memberDelegate implements memberlist's Delegate and EventDelegate.
type memberDelegate members

func (d *memberDelegate) NodeMeta(limit int) []byte {
	n := d.n
	b, _ := json.Marshal(memberMeta{ID: n.id, Raft: string(n.raftAddr), API: n.apiAddr,
		Version: n.opts.Version, Expect: n.opts.BootstrapExpect})
	if len(b) > limit {
		return nil
	}
	return b
}
func (d *memberDelegate) NotifyMsg([]byte)                           {}
func (d *memberDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *memberDelegate) LocalState(join bool) []byte                { return nil }
func (d *memberDelegate) MergeRemoteState(buf []byte, join bool)     {}
func (d *memberDelegate) NotifyJoin(*memberlist.Node)                { kick(d.n.kick.confirm) }
func (d *memberDelegate) NotifyLeave(node *memberlist.Node) {
	ms := (*members)(d)
	ms.mu.Lock()
	if ms.gone == nil {
		ms.gone = map[string]memberlist.NodeStateType{}
	}
	ms.gone[node.Name] = node.State
	ms.mu.Unlock()
	kick(d.n.kick.confirm)
}
func (d *memberDelegate) NotifyUpdate(*memberlist.Node) { kick(d.n.kick.confirm) }

// confirmLoop keeps the member table in step with gossip, confirming new
// members over mutual TLS before they count.
func (ms *members) confirmLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		ms.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-ms.n.kick.confirm:
		}
	}
}

// sync reads memberlist's view and confirms alive members not yet
// confirmed (or whose metadata changed).
func (ms *members) sync(ctx context.Context) {
	n := ms.n
	now := time.Now()
	var toConfirm []*Member
	ms.mu.Lock()
	listed := map[string]bool{}
	for _, node := range n.ml.Members() {
		if node.Name == n.id {
			continue
		}
		listed[node.Name] = true
		delete(ms.gone, node.Name)
		var meta memberMeta
		_ = json.Unmarshal(node.Meta, &meta)
		m := ms.m[node.Name]
		if m == nil {
			m = &Member{NodeID: node.Name, Status: MemberUnconfirmed, Since: now}
			ms.m[node.Name] = m
		}
		m.Addr = node.Address()
		if meta != m.meta {
			m.meta, m.confirmed = meta, false
			m.RaftAddr, m.APIAddr, m.Version, m.expect = meta.Raft, meta.API, meta.Version, meta.Expect
		}
		status := MemberAlive
		switch node.State {
		case memberlist.StateDead:
			status = MemberFailed
		case memberlist.StateLeft:
			status = MemberLeft
		}
		if status == MemberAlive && !m.confirmed {
			status = MemberUnconfirmed
			if now.Sub(m.lastTry) >= 2*time.Second {
				m.lastTry = now
				toConfirm = append(toConfirm, m)
			}
		}
		if status == MemberFailed || status == MemberLeft {
			delete(ms.removed, node.Name)
		}
		if status != m.Status {
			if status != MemberUnconfirmed || m.Status != MemberAlive {
				n.log.Info("member status", "member", m.NodeID, "status", status, "was", m.Status)
			}
			m.Status, m.Since = status, now
			kick(n.kick.reconcile)
		}
	}
	for id, m := range ms.m {
		if listed[id] {
			continue
		}
		status := MemberFailed
		if ms.gone[id] == memberlist.StateLeft {
			status = MemberLeft
		}
		delete(ms.removed, id)
		if m.Status != status {
			n.log.Info("member status", "member", id, "status", status, "was", m.Status)
			m.Status, m.Since = status, now
			kick(n.kick.reconcile)
		}
	}
	ms.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range toConfirm {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms.confirm(ctx, m)
		}()
	}
	wg.Wait()
}

// hello is the cluster API's answer to a membership check.
type hello struct {
	NodeID   string `json:"node_id"`
	RaftAddr string `json:"raft_addr"`
	HasState bool   `json:"has_state"`
	Version  string `json:"version"`
}

// confirm asks the member's cluster API who it is. With TLS the handshake
// proves the member holds a certificate of the cluster CA, and the
// certificate must name the node ID it gossips under.
func (ms *members) confirm(ctx context.Context, m *Member) {
	n := ms.n
	ms.mu.Lock()
	api, id := m.APIAddr, m.NodeID
	ms.mu.Unlock()
	h, err := n.hello(ctx, id, api)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if err != nil {
		m.Refusal = err.Error()
		if time.Since(m.lastLog) > 10*time.Second {
			m.lastLog = time.Now()
			n.log.Warn("refusing member: cannot confirm it over the cluster API's mutual TLS (no cluster certificate?)",
				"member", id, "api", api, "gossip", m.Addr, "err", err)
		}
		return
	}
	m.confirmed, m.Refusal, m.hasState = true, "", h.HasState
	if m.Status == MemberUnconfirmed {
		m.Status, m.Since = MemberAlive, time.Now()
	}
	n.log.Info("member confirmed", "member", id, "raft", h.RaftAddr, "api", api)
	kick(n.kick.reconcile)
}

// hello calls a peer's /v1/internal/hello and checks its identity.
func (n *Node) hello(ctx context.Context, id, api string) (hello, error) {
	var h hello
	if api == "" {
		return h, fmt.Errorf("member %s gossips no API address", id)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.scheme()+"://"+api+"/v1/internal/hello", nil)
	if err != nil {
		return h, err
	}
	resp, err := n.peers.Do(req)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("hello: HTTP %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return h, fmt.Errorf("hello: %w", err)
	}
	if h.NodeID != id {
		return h, fmt.Errorf("member gossips as %q but its API answers as %q", id, h.NodeID)
	}
	if resp.TLS != nil {
		if len(resp.TLS.PeerCertificates) == 0 {
			return h, fmt.Errorf("no peer certificate")
		}
		if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != id {
			return h, fmt.Errorf("member %q presents the certificate of %q", id, cn)
		}
	}
	return h, nil
}

// list returns a copy of every member other than this node.
func (ms *members) list() []Member {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	out := make([]Member, 0, len(ms.m))
	for _, m := range ms.m {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Member) int {
		if a.NodeID < b.NodeID {
			return -1
		}
		if a.NodeID > b.NodeID {
			return 1
		}
		return 0
	})
	return out
}

// get returns the member named id.
func (ms *members) get(id string) (Member, bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m, ok := ms.m[id]
	if !ok {
		return Member{}, false
	}
	return *m, true
}

// confirmedAlive returns the confirmed, alive members by ID.
func (ms *members) confirmedAlive() map[string]Member {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	out := map[string]Member{}
	for id, m := range ms.m {
		if m.confirmed && m.Status == MemberAlive {
			out[id] = *m
		}
	}
	return out
}

// ids returns the IDs of confirmed members (alive or not).
func (ms *members) ids() []string {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	var out []string
	for id, m := range ms.m {
		if m.confirmed {
			out = append(out, id)
		}
	}
	return slices.Sorted(slices.Values(out))
}

// goneSince returns when the server id stopped being an alive member, or
// now if it is alive. A server gossip never showed counts from the first
// time it was asked about.
func (ms *members) goneSince(id string) time.Time {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	now := time.Now()
	if m, ok := ms.m[id]; ok {
		if m.Status == MemberAlive {
			return now
		}
		return m.Since
	}
	if ms.missing == nil {
		ms.missing = map[string]time.Time{}
	}
	if t, ok := ms.missing[id]; ok {
		return t
	}
	ms.missing[id] = now
	return now
}

// markRemoved records that id was removed from raft on request.
func (ms *members) markRemoved(id string) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.removed == nil {
		ms.removed = map[string]bool{}
	}
	ms.removed[id] = true
}

// wasRemoved reports whether id was removed on request and has not left
// gossip since.
func (ms *members) wasRemoved(id string) bool {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.removed[id]
}
