package lvs

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/tandem-ha/tandem/config"
)

// RealServerKey identifies a real server of a virtual server. The same
// address and port under two virtual servers are two real servers, each
// with its own checkers, as in keepalived.
type RealServerKey struct {
	VS   string // config.VirtualServer.String()
	Addr netip.Addr
	Port int
}

// String formats the key as "VS [ADDR]:PORT".
func (k RealServerKey) String() string {
	return k.VS + " " + netip.AddrPortFrom(k.Addr, uint16(k.Port)).String()
}

// KeyOf returns the key of real server rs of virtual server vs.
func KeyOf(vs *config.VirtualServer, rs *config.RealServer) RealServerKey {
	return RealServerKey{VS: vs.String(), Addr: rs.Addr, Port: rs.Port}
}

// State is the combined verdict of a real server's checkers: up when every
// checker is up. Weight, when set, replaces the configured weight (the
// weight a misc_dynamic MISC_CHECK or a dynamic FILE_CHECK reports).
type State struct {
	Up     bool
	Weight *int
}

// Health holds the verdicts of real servers that have checkers. A real
// server with no verdict yet is in its initial state: down when one of its
// checkers has alpha set, up otherwise. A real server without checkers is
// always up, whatever Health says.
type Health map[RealServerKey]State

// EventKind is the kind of an Event.
type EventKind int

// Event kinds.
const (
	RealServerUp   EventKind = iota + 1 // run notify_up
	RealServerDown                      // run notify_down
	QuorumUp                            // run quorum_up
	QuorumDown                          // run quorum_down
)

// String names the kind after the keepalived keyword it triggers.
func (k EventKind) String() string {
	switch k {
	case RealServerUp:
		return "notify_up"
	case RealServerDown:
		return "notify_down"
	case QuorumUp:
		return "quorum_up"
	case QuorumDown:
		return "quorum_down"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a state change the caller reports and, when Script is set,
// runs. The pool runs nothing itself.
type Event struct {
	Kind EventKind
	VS   string
	// RealServer is set for RealServerUp and RealServerDown.
	RealServer RealServerKey
	// WeightSum is the virtual server's live weight after the change.
	WeightSum int
	Script    *config.Script
}

// String describes the event for logs.
func (e Event) String() string {
	if e.Kind == RealServerUp || e.Kind == RealServerDown {
		return fmt.Sprintf("%s %s", e.Kind, e.RealServer)
	}
	return fmt.Sprintf("%s %s (live weight %d)", e.Kind, e.VS, e.WeightSum)
}

// PoolOptions are the global settings the pool follows.
type PoolOptions struct {
	// InitNotifies runs notify_up/notify_down for the initial state of
	// each real server (rs_init_notifies); otherwise only changes notify.
	InitNotifies bool
}

// Pool computes the desired IPVS table from the configuration and health
// verdicts. It remembers each virtual server's quorum state (for
// hysteresis) and each real server's last state (to report changes). It is
// not safe for concurrent use.
type Pool struct {
	cfg  *config.Config
	opts PoolOptions
	vs   map[string]*vsState
}

type vsState struct {
	started   bool
	quorumUp  bool
	suspended bool
	weightSum int
	rs        map[RealServerKey]rsState
}

type rsState struct {
	up      bool
	weight  int
	checked bool // a verdict has been received
}

// NewPool returns a pool for the virtual servers of cfg.
func NewPool(cfg *config.Config, opts PoolOptions) *Pool {
	return &Pool{cfg: cfg, opts: opts, vs: map[string]*vsState{}}
}

// Reload switches to a new configuration. Virtual and real servers that
// remain keep their state; new ones start in their initial state.
func (p *Pool) Reload(cfg *config.Config) {
	p.cfg = cfg
	keep := map[string]*vsState{}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if st, ok := p.vs[vs.String()]; ok {
			keep[vs.String()] = st
		}
	}
	p.vs = keep
}

// Update computes the desired table for health h, with local telling
// which addresses are configured on this node (for ha_suspend; nil means
// all are). It returns the events caused by the changes since the last
// call, and an error naming each virtual server it could not express
// (the others are in the table all the same).
func (p *Pool) Update(h Health, local func(netip.Addr) bool) (Table, []Event, error) {
	var (
		t      Table
		events []Event
		errs   []error
		owner  = map[ServiceKey]string{}
	)
	for i := range p.cfg.VirtualServers {
		vs := &p.cfg.VirtualServers[i]
		id := vs.String()
		keys, err := serviceKeys(p.cfg, vs)
		if err != nil {
			errs = append(errs, fmt.Errorf("virtual_server %s: %w", id, err))
			continue
		}
		st := p.state(vs)
		st.suspended = vs.HASuspend && vs.Addr.IsValid() && local != nil && !local(vs.Addr)
		vh := h
		if st.suspended {
			vh = nil // checkers are suspended: states stay as they are
		}
		if !st.started {
			// Start-up first, as keepalived does before any check has run.
			events = append(events, p.evaluate(vs, st, nil)...)
		}
		events = append(events, p.evaluate(vs, st, vh)...)
		dests := desiredDests(vs, st)
		for _, k := range keys {
			if other, dup := owner[k]; dup {
				errs = append(errs, fmt.Errorf("virtual_server %s: service %s is also defined by virtual_server %s", id, k, other))
				continue
			}
			owner[k] = id
			s, err := serviceAttrs(vs, k.Family)
			if err != nil {
				errs = append(errs, fmt.Errorf("virtual_server %s: %w", id, err))
				break
			}
			s.Key = k
			s.Dests = slices.Clone(dests)
			t.Services = append(t.Services, s)
		}
	}
	t.Sort()
	return t, events, errors.Join(errs...)
}

// state returns the state of vs, creating it in the initial state: every
// real server as its alpha setting says (the quorum is set by the first
// evaluate).
func (p *Pool) state(vs *config.VirtualServer) *vsState {
	id := vs.String()
	st := p.vs[id]
	if st == nil {
		st = &vsState{rs: map[RealServerKey]rsState{}}
		p.vs[id] = st
	}
	live := map[RealServerKey]bool{}
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		k := KeyOf(vs, rs)
		live[k] = true
		if _, ok := st.rs[k]; !ok {
			st.rs[k] = rsState{up: initiallyUp(rs), weight: rs.Weight}
		}
	}
	for k := range st.rs {
		if !live[k] {
			delete(st.rs, k)
		}
	}
	return st
}

// initiallyUp is a real server's state before any verdict: down when a
// checker has alpha set.
func initiallyUp(rs *config.RealServer) bool {
	for _, c := range rs.Checkers {
		if c.Alpha {
			return false
		}
	}
	return true
}

// evaluate applies the verdicts to vs's real servers and its quorum and
// returns the events the changes cause, as keepalived does: a real server
// notifies when its state changes, and also on the first verdict of an
// alpha real server that stays down; at start-up only live real servers
// notify, and only with rs_init_notifies.
func (p *Pool) evaluate(vs *config.VirtualServer, st *vsState, h Health) []Event {
	var events []Event
	id := vs.String()
	sum := 0
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		k := KeyOf(vs, rs)
		old := st.rs[k]
		cur := rsState{up: old.up, weight: rs.Weight, checked: old.checked}
		if len(rs.Checkers) == 0 {
			cur.up = true
		} else if v, ok := h[k]; ok {
			cur.up, cur.checked = v.Up, true
			if v.Weight != nil {
				cur.weight = *v.Weight
			}
		} else if old.checked {
			cur.weight = old.weight
		}
		st.rs[k] = cur
		if cur.up {
			sum += cur.weight
		}
		var notify bool
		switch {
		case !st.started:
			notify = cur.up && p.opts.InitNotifies
		case cur.up != old.up:
			notify = true
		case !old.checked && cur.checked && !cur.up:
			notify = true // alpha: the first verdict confirms the failure
		}
		if !notify {
			continue
		}
		e := Event{Kind: RealServerDown, VS: id, RealServer: k, Script: rs.NotifyDown}
		if cur.up {
			e.Kind, e.Script = RealServerUp, rs.NotifyUp
		}
		events = append(events, e)
	}
	for i := range events {
		events[i].WeightSum = sum
	}
	st.weightSum = sum

	q := max(vs.Quorum, 1)
	if !st.started {
		// keepalived starts with the quorum up only at quorum+hysteresis,
		// and reports a quorum down at start only when it brings in a
		// sorry server.
		st.started = true
		st.quorumUp = sum >= q+vs.Hysteresis
		if !st.quorumUp && vs.SorryServer != nil {
			events = append(events, Event{Kind: QuorumDown, VS: id, WeightSum: sum, Script: vs.QuorumDown})
		}
		return events
	}
	// The hysteresis: the quorum is lost below quorum-hysteresis (or when
	// nothing is alive) and regained at quorum+hysteresis.
	switch {
	case st.quorumUp && (sum <= 0 || sum < q-vs.Hysteresis):
		st.quorumUp = false
		events = append(events, Event{Kind: QuorumDown, VS: id, WeightSum: sum, Script: vs.QuorumDown})
	case !st.quorumUp && sum >= q+vs.Hysteresis:
		st.quorumUp = true
		events = append(events, Event{Kind: QuorumUp, VS: id, WeightSum: sum, Script: vs.QuorumUp})
	}
	return events
}

// desiredDests returns the destinations of vs in its current state.
func desiredDests(vs *config.VirtualServer, st *vsState) []Destination {
	byAddr := map[netip.AddrPort]Destination{}
	var order []netip.AddrPort
	put := func(d Destination) {
		if _, ok := byAddr[d.AddrPort()]; !ok {
			order = append(order, d.AddrPort())
		}
		byAddr[d.AddrPort()] = d
	}
	// With a sorry server, losing the quorum takes every real server out.
	sorryActive := vs.SorryServer != nil && !st.quorumUp
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		s := st.rs[KeyOf(vs, rs)]
		d := Destination{
			Addr: rs.Addr, Port: uint16(rs.Port), Weight: s.weight, Method: method(rs.Method),
			UThreshold: uint32(rs.UThreshold), LThreshold: uint32(rs.LThreshold),
		}
		switch {
		case s.up && !sorryActive:
		case vs.InhibitOnFailure(rs):
			d.Weight = 0
		default:
			continue
		}
		put(d)
	}
	if ss := vs.SorryServer; ss != nil && (sorryActive || vs.SorryServerInhibit) {
		m := vs.Method
		if vs.SorryServerLVSMethod != nil {
			m = *vs.SorryServerLVSMethod
		}
		port := ss.Port
		if port == 0 {
			port = vs.Port
		}
		d := Destination{Addr: ss.Addr, Port: uint16(port), Weight: 1, Method: method(m)}
		if !sorryActive {
			d.Weight = 0
		}
		put(d)
	}
	out := make([]Destination, 0, len(order))
	for _, ap := range order {
		out = append(out, byAddr[ap])
	}
	return out
}

// Shutdown returns the events keepalived's omega mode runs when the daemon
// stops, for virtual servers with omega set: notify_down for each live
// real server, then quorum_down (whatever the quorum state was).
func (p *Pool) Shutdown() []Event {
	var events []Event
	for i := range p.cfg.VirtualServers {
		vs := &p.cfg.VirtualServers[i]
		st := p.vs[vs.String()]
		if !vs.Omega || st == nil {
			continue
		}
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			k := KeyOf(vs, rs)
			if st.rs[k].up {
				events = append(events, Event{Kind: RealServerDown, VS: vs.String(), RealServer: k, Script: rs.NotifyDown})
			}
		}
		st.quorumUp = false
		events = append(events, Event{Kind: QuorumDown, VS: vs.String(), Script: vs.QuorumDown})
	}
	return events
}

// VSStatus is a virtual server's state as the pool sees it.
type VSStatus struct {
	VS          string
	QuorumUp    bool
	WeightSum   int
	Suspended   bool
	RealServers []RSStatus
}

// RSStatus is a real server's state as the pool sees it.
type RSStatus struct {
	Key    RealServerKey
	Up     bool
	Weight int
}

// Status reports the state of every virtual server, in configuration order,
// as of the last Update.
func (p *Pool) Status() []VSStatus {
	var out []VSStatus
	for i := range p.cfg.VirtualServers {
		vs := &p.cfg.VirtualServers[i]
		st := p.vs[vs.String()]
		if st == nil {
			continue
		}
		s := VSStatus{VS: vs.String(), QuorumUp: st.quorumUp, WeightSum: st.weightSum, Suspended: st.suspended}
		for j := range vs.RealServers {
			k := KeyOf(vs, &vs.RealServers[j])
			r := st.rs[k]
			s.RealServers = append(s.RealServers, RSStatus{Key: k, Up: r.up, Weight: r.weight})
		}
		out = append(out, s)
	}
	return out
}

// ParseRealServerKey builds a key from a virtual server's name
// (config.VirtualServer.String()) and a real server's "[ADDR]:PORT" (as
// config.RealServer.String() writes it and the checks engine reports it).
func ParseRealServerKey(vs, rs string) (RealServerKey, error) {
	i := strings.LastIndex(rs, "]:")
	if !strings.HasPrefix(rs, "[") || i < 0 {
		return RealServerKey{}, fmt.Errorf("real server %q is not [ADDR]:PORT", rs)
	}
	a, err := netip.ParseAddr(rs[1:i])
	if err != nil {
		return RealServerKey{}, fmt.Errorf("real server %q: %w", rs, err)
	}
	p, err := strconv.ParseUint(rs[i+2:], 10, 16)
	if err != nil {
		return RealServerKey{}, fmt.Errorf("real server %q: bad port: %w", rs, err)
	}
	return RealServerKey{VS: vs, Addr: a, Port: int(p)}, nil
}
