package checks

import (
	"container/heap"
	"math"
	"time"
)

// check is the scheduler's state for one CheckDef. Only the engine's loop
// touches it, under Engine.mu where Status can see it.
type check struct {
	def CheckDef
	srv *server
	due time.Time
	seq uint64 // breaks ties in due, so equal times run in order
	idx int    // index in the queue; -1 when not queued

	running bool
	gone    bool // removed from the configuration while running

	up       bool
	hasRun   bool
	retryIt  int
	attempts int // attempts in the current round
	last     int // attempts the last finished round made
	weight   *int
	offset   *int
	reason   string
	retrying string
	lastRun  time.Time
	since    time.Time
	rounds   int // finished rounds
}

// server is one real server of one virtual server and its checkers.
type server struct {
	key, vs, rs string
	baseWeight  int
	checks      []*check
	up          bool
	weight      int
	checker     string
	reason      string
	since       time.Time
}

// queue is a min-heap of checks by due time.
type queue []*check

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].idx, q[j].idx = i, j
}
func (q *queue) Push(x any) {
	c := x.(*check)
	c.idx = len(*q)
	*q = append(*q, c)
}
func (q *queue) Pop() any {
	old := *q
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	c.idx = -1
	return c
}

// scheduler holds every check and decides what runs when. It is pure
// state: the engine feeds it the time, launches what it returns and
// reports results back.
type scheduler struct {
	checks  map[string]*check
	servers map[string]*server
	order   []*server // configuration order, for Status
	q       queue
	seq     uint64
	rand    func(n int64) int64
}

func newScheduler(rnd func(int64) int64) *scheduler {
	return &scheduler{checks: map[string]*check{}, servers: map[string]*server{}, rand: rnd}
}

func (s *scheduler) schedule(c *check, at time.Time) {
	c.due = at
	s.seq++
	c.seq = s.seq
	if c.idx >= 0 {
		heap.Fix(&s.q, c.idx)
	} else {
		heap.Push(&s.q, c)
	}
}

// next returns when the earliest queued check is due.
func (s *scheduler) next() (time.Time, bool) {
	if len(s.q) == 0 {
		return time.Time{}, false
	}
	return s.q[0].due, true
}

// popDue removes and returns the checks due at or before now, earliest
// first, marking them running.
func (s *scheduler) popDue(now time.Time, out []*check) []*check {
	for len(s.q) > 0 && !s.q[0].due.After(now) {
		c := heap.Pop(&s.q).(*check)
		c.running = true
		out = append(out, c)
	}
	return out
}

// update replaces the configuration. Checks whose key and fingerprint
// are unchanged keep their state and schedule; others start afresh,
// their first round after a random warmup. It returns the events of real
// servers whose verdict changed because checkers came or went.
func (s *scheduler) update(now time.Time, defs []CheckDef) []Event {
	keep := make(map[string]*check, len(defs))
	for i := range defs {
		d := &defs[i]
		if c, ok := s.checks[d.Key]; ok && c.def.Fingerprint == d.Fingerprint && c.def.ServerKey() == d.ServerKey() {
			probe := c.def.Probe // keep the prober: it may hold state (FILE_CHECK)
			c.def = *d
			c.def.Probe = probe
			keep[d.Key] = c
		}
	}
	for key, c := range s.checks {
		if keep[key] == c {
			continue
		}
		if c.idx >= 0 {
			heap.Remove(&s.q, c.idx)
		}
		c.gone = true
		delete(s.checks, key)
	}

	servers := make(map[string]*server, len(s.servers))
	var order []*server
	for i := range defs {
		d := &defs[i]
		sk := d.ServerKey()
		srv := servers[sk]
		if srv == nil {
			srv = s.servers[sk]
			if srv == nil {
				srv = &server{key: sk, vs: d.VirtualServer, rs: d.RealServer, since: now, up: true}
			}
			srv.checks = srv.checks[:0]
			srv.baseWeight = d.Weight
			servers[sk] = srv
			order = append(order, srv)
		}
		c := keep[d.Key]
		if c == nil {
			if _, dup := s.checks[d.Key]; dup {
				continue // a duplicate key in defs: the first one wins
			}
			c = &check{def: *d, idx: -1, up: !d.Timing.Alpha, since: now}
			s.checks[d.Key] = c
			delay := time.Duration(0)
			if w := d.Timing.Warmup; w > 0 {
				delay = time.Duration(s.rand(int64(w)))
			}
			s.schedule(c, now.Add(delay))
		}
		c.srv = srv
		srv.checks = append(srv.checks, c)
	}
	var events []Event
	for _, srv := range order {
		wasUp, wasWeight := srv.up, srv.weight
		_, existed := s.servers[srv.key]
		s.verdict(srv, nil, now)
		if existed && (wasUp != srv.up || wasWeight != srv.weight) {
			events = append(events, s.event(srv, nil, now))
		}
	}
	s.servers, s.order = servers, order
	return events
}

// complete applies the result of one attempt of c, made at now, and
// schedules c's next attempt, following keepalived 2.2.7: a failed
// attempt is retried after delay_before_retry until retry more attempts
// have failed, and only then does the round fail; a round that ends
// (first success, or last failure) is followed by delay_loop. It returns
// an event when the checker's verdict changed, its first round ended or
// its real server's weight changed.
func (s *scheduler) complete(c *check, r Result, now time.Time) (Event, bool) {
	c.running = false
	if c.gone {
		return Event{}, false
	}
	c.lastRun = now
	c.attempts++
	t := c.def.Timing
	if !r.OK && c.retryIt < t.Retry {
		c.retryIt++
		c.retrying = r.Reason
		s.schedule(c, now.Add(t.DelayBeforeRetry))
		return Event{}, false
	}
	attempts := c.attempts
	c.retryIt, c.attempts, c.retrying = 0, 0, ""
	changed := !c.hasRun || c.up != r.OK
	c.up, c.hasRun, c.reason = r.OK, true, r.Reason
	c.rounds++
	if r.OK {
		c.weight, c.offset = r.Weight, r.WeightOffset
	} else {
		c.weight, c.offset = nil, nil
	}
	if changed {
		c.since = now
	}
	c.last = attempts
	s.schedule(c, now.Add(t.DelayLoop))

	srv := c.srv
	wasWeight := srv.weight
	s.verdict(srv, c, now)
	if !changed && srv.weight == wasWeight {
		return Event{}, false
	}
	ev := s.event(srv, c, now)
	ev.Attempts = attempts
	return ev, true
}

// verdict recomputes srv's state; changed is the checker that just
// finished a round, if any.
func (s *scheduler) verdict(srv *server, changed *check, now time.Time) {
	up := true
	var firstDown *check
	base := int64(srv.baseWeight)
	var offsets int64
	for _, c := range srv.checks {
		if !c.up {
			up = false
			if firstDown == nil {
				firstDown = c
			}
			continue
		}
		if c.weight != nil {
			base = int64(*c.weight)
		}
		if c.offset != nil {
			offsets += int64(*c.offset)
		}
	}
	w := min(max(base+offsets, 0), math.MaxInt32)
	if up != srv.up {
		srv.since = now
	}
	srv.up, srv.weight = up, int(w)
	switch {
	case firstDown != nil:
		srv.checker, srv.reason = firstDown.def.Key, firstDown.reason
		if !firstDown.hasRun {
			srv.reason = "alpha: down until the first success"
		}
	case changed != nil:
		srv.checker, srv.reason = changed.def.Key, changed.reason
	case srv.checker == "" && len(srv.checks) > 0:
		srv.checker, srv.reason = srv.checks[0].def.Key, "not checked yet"
	}
}

func (s *scheduler) event(srv *server, c *check, now time.Time) Event {
	ev := Event{Key: srv.key, VirtualServer: srv.vs, RealServer: srv.rs, Up: srv.up, Weight: srv.weight, Time: now,
		Checker: srv.checker, Reason: srv.reason}
	if c != nil {
		ev.Checker, ev.CheckerType, ev.CheckerPos, ev.CheckerUp = c.def.Key, c.def.Type, c.def.Pos, c.up
		ev.Reason = c.reason
	}
	return ev
}

// status renders the state of every real server, in configuration order.
func (s *scheduler) status() []ServerStatus {
	out := make([]ServerStatus, 0, len(s.order))
	for _, srv := range s.order {
		st := ServerStatus{Key: srv.key, VirtualServer: srv.vs, RealServer: srv.rs, Up: srv.up, Weight: srv.weight,
			Checked: true, Checker: srv.checker, Reason: srv.reason, Since: srv.since}
		for _, c := range srv.checks {
			st.Checked = st.Checked && c.hasRun
			st.Checkers = append(st.Checkers, CheckerStatus{Key: c.def.Key, Type: c.def.Type, Pos: c.def.Pos,
				Up: c.up, Checked: c.hasRun, Attempts: c.last, Reason: c.reason, Retrying: c.retrying,
				LastRun: c.lastRun, Since: c.since})
		}
		out = append(out, st)
	}
	return out
}
