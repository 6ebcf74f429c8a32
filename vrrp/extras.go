package vrrp

import (
	"context"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"time"

	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/vrrp/script"
)

// extras is everything around the instances of one configuration:
// tracking, sync groups and notifications. Reload replaces it as a whole.
type extras struct {
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // trackers, fifo scripts, mailer
	scripts sync.WaitGroup // notify scripts in flight
	log     *slog.Logger

	tracker  *tracker
	notifier *notifier
	notify   map[string]*notifyScripts // by instance name
	groups   map[string]*syncGroup     // by member instance name
	fifos    []*notifyFifo
	scriptOf map[string]config.VRRPScript // running vrrp_scripts, to carry their state over a reload

	mu    sync.Mutex
	insts map[string]*Instance
}

// syncGroup is a running vrrp_sync_group.
type syncGroup struct {
	name   string
	names  []string
	notify *notifyScripts

	mu      sync.Mutex
	state   string
	members map[string]string // each member's last notified state
}

// update records a member's new state and returns the group's new state
// if it changed, as keepalived 2.2.7 derives it: FAULT as soon as one
// member is, MASTER once all are, STOP once all have stopped, BACKUP when
// one is and none is master.
func (g *syncGroup) update(member, state string) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members == nil {
		g.members = map[string]string{}
	}
	g.members[member] = state
	count := map[string]int{}
	for _, m := range g.members {
		count[m]++
	}
	all := len(g.names)
	next := g.state
	switch {
	case count["FAULT"] > 0:
		next = "FAULT"
	case count["MASTER"] == all:
		next = "MASTER"
	case count["STOP"] == all:
		next = "STOP"
	case count["BACKUP"] > 0 && count["MASTER"] == 0:
		next = "BACKUP"
	}
	if next == g.state {
		return "", false
	}
	g.state = next
	return next, true
}

// buildExtras sets up tracking, sync groups and notifications for cfg.
// prev, if not nil, is the configuration's predecessor: vrrp_scripts that
// did not change keep their last result, so a reload does not flap.
func buildExtras(cfg *config.Config, n Network, opts ManagerOptions, log *slog.Logger, prev *extras) *extras {
	ctx, cancel := context.WithCancel(context.Background())
	x := &extras{
		ctx: ctx, cancel: cancel, log: log,
		tracker:  newTracker(),
		notify:   map[string]*notifyScripts{},
		groups:   map[string]*syncGroup{},
		scriptOf: map[string]config.VRRPScript{},
		insts:    map[string]*Instance{},
	}
	env := newScriptEnv(&cfg.Global, log)
	timeout := opts.NotifyTimeout
	if timeout <= 0 {
		timeout = DefaultNotifyTimeout
	}
	x.notifier = &notifier{log: log, timeout: timeout, ctx: ctx, wg: &x.scripts, mail: newMailer(&cfg.Global, log)}
	if m := x.notifier.mail; m != nil {
		x.wg.Add(1)
		go func() { defer x.wg.Done(); m.run(ctx) }()
	}
	x.openFifos(&cfg.Global, env, prev)

	smtpDefault := false
	for _, b := range []*bool{cfg.Global.SMTPAlertVRRP, cfg.Global.SMTPAlert} {
		if b != nil {
			smtpDefault = *b
			break
		}
	}
	scriptsOf := func(master, backup, fault, stop, any, lower *config.Script, smtp *bool, smtpDef bool, owner string) *notifyScripts {
		s := &notifyScripts{smtp: smtpDef}
		if smtp != nil {
			s.smtp = *smtp
		}
		for _, p := range []struct {
			dst  **script.Cmd
			src  *config.Script
			what string
		}{{&s.master, master, "notify_master"}, {&s.backup, backup, "notify_backup"}, {&s.fault, fault, "notify_fault"}, {&s.stop, stop, "notify_stop"}, {&s.any, any, "notify"}, {&s.rxLowerPri, lower, "notify_master_rx_lower_pri"}} {
			c, err := env.prepare(p.src, owner+" "+p.what)
			if err != nil {
				log.Error("vrrp: "+p.what+" disabled", "owner", owner, "err", err)
			}
			*p.dst = c
		}
		return s
	}

	t := x.tracker
	groupSMTP := map[string]bool{}
	for _, g := range cfg.SyncGroups {
		sg := &syncGroup{name: g.Name, names: g.Group}
		sg.notify = scriptsOf(g.NotifyMaster, g.NotifyBackup, g.NotifyFault, g.NotifyStop, g.Notify, nil, g.SMTPAlert, smtpDefault, "vrrp_sync_group "+g.Name)
		faultOnly := !g.SyncGroupTrackingWeight
		var refs []trackRef
		refs = append(refs, refsOf(trackScript, g.TrackScript, faultOnly)...)
		refs = append(refs, refsOf(trackFile, g.TrackFile, faultOnly)...)
		refs = append(refs, refsOf(trackProcess, g.TrackProcess, faultOnly)...)
		refs = append(refs, refsOf(trackInterface, g.TrackInterface, faultOnly)...)
		for _, m := range g.Group {
			x.groups[m] = sg
			t.groupOf[m] = g.Group
			t.refs[m] = append(t.refs[m], refs...)
			if g.SMTPAlert != nil {
				groupSMTP[m] = *g.SMTPAlert
			}
		}
	}
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		def := smtpDefault
		if v, ok := groupSMTP[in.Name]; ok {
			def = v
		}
		x.notify[in.Name] = scriptsOf(in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop, in.Notify, in.NotifyMasterRxLowerPri, in.SMTPAlert, def, "vrrp_instance "+in.Name)
		refs := t.refs[in.Name]
		refs = append(refs, refsOf(trackScript, in.TrackScript, false)...)
		refs = append(refs, refsOf(trackFile, in.TrackFile, false)...)
		refs = append(refs, refsOf(trackProcess, in.TrackProcess, false)...)
		refs = append(refs, refsOf(trackInterface, in.TrackInterface, false)...)
		if !in.DontTrackPrimary {
			refs = append(refs, trackRef{key: trackKey{trackInterface, in.Interface}})
		}
		t.refs[in.Name] = refs
	}
	used := map[trackKey]bool{}
	for _, refs := range t.refs {
		for _, r := range refs {
			used[r.key] = true
		}
	}

	for _, s := range cfg.Scripts {
		key := trackKey{trackScript, s.Name}
		if !used[key] {
			continue
		}
		o := &trackObj{up: !s.InitFail, weight: s.Weight.Weight, reverse: s.Weight.Reverse}
		t.objs[key] = o
		if prev != nil && reflect.DeepEqual(prev.scriptOf[s.Name], s) {
			if po := prev.tracker.get(key); po != nil {
				o.up = po.up
			}
		}
		var cmd *script.Cmd
		var err error
		if s.Script != nil {
			cmd, err = env.prepareArgs(s.Script.Args, firstNonEmpty(s.User.User, s.Script.User), firstNonEmpty(s.User.Group, s.Script.Group), "vrrp_script "+s.Name)
		}
		if cmd == nil {
			// keepalived drops a script it cannot run; instances ignore it.
			log.Warn("vrrp: vrrp_script not run, instances ignore it", "script", s.Name, "err", err)
			o.disabled = true
			continue
		}
		x.scriptOf[s.Name] = s
		x.wg.Add(1)
		go func() { defer x.wg.Done(); runScript(ctx, t, s, *cmd, log) }()
	}
	for _, tf := range cfg.TrackFiles {
		key := trackKey{trackFile, tf.Name}
		if !used[key] {
			continue
		}
		initTrackFile(tf, log)
		t.objs[key] = &trackObj{valueKind: true, value: readTrackFile(tf.File), weight: tf.Weight.Weight, reverse: tf.Weight.Reverse}
		x.wg.Add(1)
		go func() { defer x.wg.Done(); pollFile(ctx, t, tf) }()
	}
	for _, tp := range cfg.TrackProcesses {
		key := trackKey{trackProcess, tp.Name}
		if !used[key] {
			continue
		}
		n := countProcesses(tp)
		t.objs[key] = &trackObj{up: n >= max(tp.Quorum, 1) && (tp.QuorumMax == nil || n <= *tp.QuorumMax), weight: tp.Weight.Weight, reverse: tp.Weight.Reverse}
		x.wg.Add(1)
		go func() { defer x.wg.Done(); pollProcess(ctx, t, tp) }()
	}
	lw, watch := n.(LinkWatcher)
	for key := range used {
		if key.kind != trackInterface {
			continue
		}
		o := &trackObj{up: true}
		if watch {
			ifi, err := net.InterfaceByName(key.name)
			o.up = err == nil && ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0
		}
		t.objs[key] = o
	}
	if watch {
		err := lw.WatchLinks(ctx, func(name string, up bool) {
			t.set(trackKey{trackInterface, name}, func(o *trackObj) {
				if o.up != up {
					log.Info("vrrp: tracked interface "+map[bool]string{true: "up", false: "down"}[up], "interface", name)
				}
				o.up = up
			})
		})
		if err != nil {
			log.Error("vrrp: interface tracking disabled", "err", err)
		}
	}
	return x
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// get returns a copy of object k, or nil.
func (t *tracker) get(k trackKey) *trackObj {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o := t.objs[k]; o != nil {
		c := *o
		return &c
	}
	return nil
}

// attach makes in the running instance called name: the tracker drives it
// from now on, starting with its current result (before Run, so that an
// instance whose interface is down starts in FAULT).
func (x *extras) attach(name string, in *Instance) {
	x.mu.Lock()
	x.insts[name] = in
	x.mu.Unlock()
	x.tracker.mu.Lock()
	x.tracker.insts[name] = in
	delete(x.tracker.last, name)
	x.tracker.evaluateLocked()
	x.tracker.mu.Unlock()
}

func (x *extras) instance(name string) *Instance {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.insts[name]
}

// onTransition notifies a transition and makes the instance's sync group
// follow it. It runs in the instance's goroutine and never blocks.
func (x *extras) onTransition(t Transition) {
	state := notifyState(t)
	x.notifier.event("INSTANCE", t.Instance, state, int(t.Priority), x.notify[t.Instance])
	g := x.groups[t.Instance]
	if g == nil {
		return
	}
	if t.Reason != ReasonSyncGroup {
		var want State
		switch {
		case t.To == StateMaster:
			want = StateMaster
		case t.From == StateMaster && t.To == StateBackup:
			want = StateBackup
		}
		if want != StateInit {
			for _, m := range g.names {
				if in := x.instance(m); m != t.Instance && in != nil {
					in.SyncTo(want)
				}
			}
		}
	}
	if gs, changed := g.update(t.Instance, state); changed {
		// keepalived appends priority 0 for a group.
		x.notifier.event("GROUP", g.name, gs, 0, g.notify)
	}
}

// onLowerPri runs notify_master_rx_lower_pri.
func (x *extras) onLowerPri(name string) {
	if x == nil {
		return
	}
	if s := x.notify[name]; s != nil && s.rxLowerPri != nil {
		x.notifier.run(*s.rxLowerPri, name)
	}
}

// openFifos opens notify_fifo and vrrp_notify_fifo and starts their
// scripts, which get the FIFO's path as their last argument.
func (x *extras) openFifos(g *config.GlobalDefs, env *scriptEnv, prev *extras) {
	for _, p := range []struct {
		fifo   *config.Fifo
		script *config.Script
	}{{g.NotifyFifo, g.NotifyFifoScript}, {g.VRRPNotifyFifo, g.VRRPNotifyFifoScript}} {
		if p.fifo == nil || p.fifo.Path == "" {
			continue
		}
		f := prev.takeFifo(p.fifo.Path)
		if f == nil {
			var err error
			if f, err = openFifo(p.fifo); err != nil {
				x.log.Error(err.Error())
				continue
			}
		}
		x.fifos = append(x.fifos, f)
		x.notifier.fifos = append(x.notifier.fifos, f)
		c, err := env.prepare(p.script, "notify fifo script")
		if err != nil || c == nil {
			continue
		}
		c.Args = append(append([]string(nil), c.Args...), p.fifo.Path)
		x.wg.Add(1)
		go func() { defer x.wg.Done(); script.Run(x.ctx, *c) }()
	}
}

// close stops the trackers and fifo scripts, waiting up to wait for
// notify scripts still running (a STOP notification at shutdown).
func (x *extras) close(wait time.Duration) {
	done := make(chan struct{})
	go func() { x.scripts.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
	x.cancel()
	x.wg.Wait()
	for _, f := range x.fifos {
		f.close()
	}
}

// takeFifo hands an open FIFO over to the next configuration, so a reload
// neither removes nor reopens it.
func (x *extras) takeFifo(path string) *notifyFifo {
	if x == nil {
		return nil
	}
	for i, f := range x.fifos {
		if f.path == path {
			x.fifos = append(x.fifos[:i], x.fifos[i+1:]...)
			return f
		}
	}
	return nil
}

// canBecomeMaster is keepalived's rule for a sync group member whose
// Master_Down timer ran out: it may take over only if every other member
// is master already or is a backup about to take over too (it has not
// heard a master either), so that one broken link does not pull the whole
// group away from a live master.
func (x *extras) canBecomeMaster(name string) bool {
	if x == nil {
		return true
	}
	g := x.groups[name]
	if g == nil {
		return true
	}
	for _, m := range g.names {
		in := x.instance(m)
		if m == name || in == nil {
			continue
		}
		if in.State() != StateMaster && !in.MasterDownWithin(in.Config().AdvertInterval) {
			return false
		}
	}
	return true
}
