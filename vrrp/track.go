package vrrp

import (
	"sync"

	"github.com/tandem-ha/tandem/config"
)

// trackKind is the kind of a tracked object.
type trackKind uint8

const (
	trackScript trackKind = iota
	trackFile
	trackInterface
	trackProcess
)

func (k trackKind) String() string {
	return [...]string{"script", "file", "interface", "process"}[k]
}

// trackKey names a tracked object.
type trackKey struct {
	kind trackKind
	name string
}

// trackObj is the current result of one tracked object: up for scripts,
// interfaces and processes, an integer for files.
type trackObj struct {
	up        bool
	value     int
	weight    int // the object's own weight (vrrp_script weight, ...)
	reverse   bool
	disabled  bool // refused by script security: not tracked
	valueKind bool // value (track_file) rather than up/down
}

// trackRef is one line of a track_* block: an object with the weight and
// direction this instance (or sync group) applies.
type trackRef struct {
	key       trackKey
	weight    *int
	reverse   bool
	noReverse bool
	faultOnly bool // a sync group's tracking without sync_group_tracking_weight
}

// contribution returns what r adds to the priority and whether it faults
// the instance, as keepalived 2.2.7 computes it.
func (r trackRef) contribution(o *trackObj) (delta int, fault bool) {
	if o == nil || o.disabled {
		return 0, false
	}
	w := o.weight
	if r.weight != nil {
		w = *r.weight
	}
	rev := (o.reverse || r.reverse) && !r.noReverse
	if r.faultOnly {
		w = 0
	}
	if o.valueKind {
		if w == 0 {
			return 0, o.value != 0
		}
		v := o.value * w
		if rev {
			v = -v
		}
		if v <= -254 {
			return 0, true
		}
		return min(v, 253), false
	}
	if w == 0 {
		return 0, o.up == rev
	}
	switch {
	case w > 0 && o.up:
		delta = w
	case w < 0 && !o.up:
		delta = w
	}
	if rev {
		delta = -delta
	}
	return delta, false
}

// instanceControl is what the tracker drives on an instance.
type instanceControl interface {
	SetPriorityAdjustment(int)
	SetFault(bool)
}

// tracker holds every tracked object's result and pushes the resulting
// priority adjustment and fault of every instance, sync group members
// faulting together.
type tracker struct {
	mu      sync.Mutex
	objs    map[trackKey]*trackObj
	refs    map[string][]trackRef // by instance name, group refs included
	groupOf map[string][]string   // instance name -> members of its sync group
	insts   map[string]instanceControl
	last    map[string]trackResult
}

type trackResult struct {
	adjust int
	fault  bool
}

func newTracker() *tracker {
	return &tracker{objs: map[trackKey]*trackObj{}, refs: map[string][]trackRef{}, groupOf: map[string][]string{}, insts: map[string]instanceControl{}, last: map[string]trackResult{}}
}

// set updates object k and re-evaluates every instance.
func (t *tracker) set(k trackKey, f func(o *trackObj)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.objs[k]
	if o == nil {
		return
	}
	f(o)
	t.evaluateLocked()
}

// own returns an instance's adjustment and its own fault (before its
// sync group's).
func (t *tracker) own(name string) trackResult {
	var r trackResult
	for _, ref := range t.refs[name] {
		d, f := ref.contribution(t.objs[ref.key])
		r.adjust += d
		r.fault = r.fault || f
	}
	return r
}

func (t *tracker) evaluateLocked() {
	own := map[string]trackResult{}
	for name := range t.insts {
		own[name] = t.own(name)
	}
	for name, in := range t.insts {
		r := own[name]
		for _, m := range t.groupOf[name] {
			r.fault = r.fault || own[m].fault
		}
		if last, ok := t.last[name]; ok && last == r {
			continue
		}
		t.last[name] = r
		in.SetPriorityAdjustment(r.adjust)
		in.SetFault(r.fault)
	}
}

// refsOf converts a config track block.
func refsOf(kind trackKind, list config.TrackRefs, faultOnly bool) []trackRef {
	var out []trackRef
	for _, r := range list {
		out = append(out, trackRef{key: trackKey{kind, r.Name}, weight: r.Weight, reverse: r.Reverse, noReverse: r.NoReverse, faultOnly: faultOnly})
	}
	return out
}
