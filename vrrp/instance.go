package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"
)

// Env is what an Instance uses to reach the outside world.
type Env struct {
	// Clock is the time source; nil means SystemClock.
	Clock Clock
	// Conn sends and receives adverts (required).
	Conn PacketConn
	// Addrs adds and removes VIPs (required).
	Addrs AddrManager
	// ARP sends gratuitous ARPs (required).
	ARP ARPSender
	// Logger receives the instance's logs; nil means slog.Default.
	Logger *slog.Logger
	// OnTransition, if set, is called on every state change, synchronously
	// from the goroutine running the instance: it must not block.
	OnTransition func(Transition)
	// OnMasterRxLowerPri, if set, is called when a master receives an
	// advert of lower priority (keepalived's notify_master_rx_lower_pri),
	// with the sender's address and priority; it must not block.
	OnMasterRxLowerPri func(src netip.Addr, prio uint8)
	// CanBecomeMaster, if set, is asked before a backup whose Master_Down
	// timer ran out becomes master; false keeps it backup for another
	// advert interval (a vrrp_sync_group waits until all its members can
	// take over, as keepalived's does). It must not block.
	CanBecomeMaster func() bool
}

// Instance is one VRRP instance (one VRID on one interface). All protocol
// work happens in the goroutine calling Run, one event at a time; the other
// methods are safe to call from any goroutine.
type Instance struct {
	cfg     InstanceConfig
	clock   Clock
	conn    PacketConn
	addrs   AddrManager
	arp     ARPSender
	log     *slog.Logger
	onTrans func(Transition)
	onLower func(netip.Addr, uint8)
	canMast func() bool

	vips     []netip.Addr   // carried in adverts, checked in received ones
	allVIPs  []netip.Prefix // VIPs and excluded VIPs: what is added/removed
	dsts     []netip.Addr   // 224.0.0.18 or the unicast peers
	unicast  bool
	auth     [AuthLen]byte
	checksum ChecksumMode

	// Protocol state, owned by the Run goroutine.
	state        State
	started      bool
	basePrio     uint8
	effPrio      uint8
	masterAdvInt time.Duration // the master's interval (VRRPv3 adopts it)
	timers       deadlines
	downReason   Reason    // why masterDownTimer was last armed
	preemptAt    time.Time // end of the preempt_delay hold, zero if none
	masterAddr   netip.Addr
	masterPrio   uint8
	vipsSet      bool

	// Scratch space reused for every packet, so the hot path never allocates.
	rx    Advert
	tx    Advert
	txBuf [MaxAdvertLen]byte

	// Shared with other goroutines.
	stats      counters
	curState   atomic.Uint32
	curPrio    atomic.Uint32
	wantAdjust atomic.Int64
	wantFault  atomic.Bool
	wantSync   atomic.Uint32 // a State a sync group asks for, or StateInit
	downAt     atomic.Int64  // the Master_Down deadline (Unix ns), 0 if disarmed
	ctl        chan struct{}
}

// NewInstance validates cfg, fills in its defaults and returns an instance
// in StateInit. Nothing is sent until Run.
func NewInstance(cfg InstanceConfig, env Env) (*Instance, error) {
	c, warnings, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("vrrp %s: %w", cfg.Name, err)
	}
	if env.Conn == nil || env.Addrs == nil || env.ARP == nil {
		return nil, fmt.Errorf("vrrp %s: Env needs Conn, Addrs and ARP", cfg.Name)
	}
	in := &Instance{
		cfg:     c,
		clock:   env.Clock,
		conn:    env.Conn,
		addrs:   env.Addrs,
		arp:     env.ARP,
		log:     env.Logger,
		onTrans: env.OnTransition,
		onLower: env.OnMasterRxLowerPri,
		canMast: env.CanBecomeMaster,
		unicast: len(c.UnicastPeers) > 0,
		auth:    Password(c.AuthPass),
		ctl:     make(chan struct{}, 1),
	}
	if in.clock == nil {
		in.clock = SystemClock()
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	in.log = in.log.With("instance", c.Name, "vrid", c.VRID)
	for _, w := range warnings {
		in.log.Warn("vrrp: config: " + w)
	}
	if c.Version == 3 && c.V3ChecksumAsV2 {
		in.checksum = ChecksumV2Style
	}
	for _, p := range c.VIPs {
		in.vips = append(in.vips, p.Addr())
	}
	in.allVIPs = append(append(in.allVIPs, c.VIPs...), c.ExcludedVIPs...)
	if in.unicast {
		in.dsts = append(in.dsts, c.UnicastPeers...)
	} else {
		in.dsts = []netip.Addr{c.McastGroup}
	}
	in.basePrio = c.Priority
	in.effPrio = c.Priority
	in.curPrio.Store(uint32(c.Priority))
	in.masterAdvInt = c.AdvertInterval

	in.tx.Version = uint8(c.Version)
	in.tx.Type = TypeAdvert
	in.tx.VRID = c.VRID
	if c.Version == 2 {
		in.tx.AuthType = c.AuthType
		in.tx.Interval = uint16(c.AdvertInterval / time.Second)
		if c.AuthType == AuthPass {
			in.tx.Auth = in.auth
		}
	} else {
		in.tx.Interval = uint16(c.AdvertInterval / (10 * time.Millisecond))
	}
	if err := in.tx.SetAddrs(in.vips); err != nil {
		return nil, fmt.Errorf("vrrp %s: %w", c.Name, err)
	}
	return in, nil
}

// Config returns the configuration with defaults filled in.
func (in *Instance) Config() InstanceConfig { return in.cfg }

// State returns the current state.
func (in *Instance) State() State { return State(in.curState.Load()) }

// Priority returns the effective priority, the one sent in adverts.
func (in *Instance) Priority() uint8 { return uint8(in.curPrio.Load()) }

// Stats returns a snapshot of the instance's counters.
func (in *Instance) Stats() Stats { return in.stats.snapshot() }

// SetPriorityAdjustment sets the amount (positive or negative) added to the
// configured priority, as tracked scripts and interfaces will. The result
// is clamped to 1..254; an address owner (255) is never adjusted. It takes
// effect in the Run goroutine; the next advert carries it.
func (in *Instance) SetPriorityAdjustment(delta int) {
	in.wantAdjust.Store(int64(delta))
	in.poke()
}

// SetFault puts the instance into FAULT (true) or takes it out (false).
// A master sends a priority-0 advert and removes its VIPs on entering
// FAULT; leaving FAULT goes to BACKUP (or straight to MASTER for an owner
// that starts as master).
func (in *Instance) SetFault(fault bool) {
	in.wantFault.Store(fault)
	in.poke()
}

// SyncTo asks the instance to follow its vrrp_sync_group into to
// (StateMaster or StateBackup): a backup becomes master at once, a master
// steps down to backup. Instances in other states ignore it.
func (in *Instance) SyncTo(to State) {
	in.wantSync.Store(uint32(to))
	in.poke()
}

func (in *Instance) poke() {
	select {
	case in.ctl <- struct{}{}:
	default: // a wake-up is already pending; it will read the latest values
	}
}

// received is a packet together with the buffer it lives in.
type received struct {
	pkt Packet
	buf []byte
}

// rxBuffers is the number of receive buffers cycling between the reader
// goroutine and Run; it bounds the packets queued ahead of the state machine.
const rxBuffers = 4

// Run starts the instance and runs it until ctx is done, then shuts it
// down (a master sends priority 0 and removes its VIPs) and returns nil.
// It returns an error if Conn.Receive fails, after the same shutdown. Run
// must not be called concurrently with itself; called again after it
// returns, it starts the instance afresh.
func (in *Instance) Run(ctx context.Context) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan []byte, rxBuffers)
	for range rxBuffers {
		free <- make([]byte, IPv4HeaderLen+MaxAdvertLen+64)
	}
	rx := make(chan received, rxBuffers)
	rerr := make(chan error, 1)
	go in.read(rctx, free, rx, rerr)

	timer := in.clock.NewTimer(time.Hour)
	defer timer.Stop()
	in.step(event{kind: evStart})
	for {
		if err := in.runOnce(ctx, timer, free, rx, rerr); err != nil {
			in.step(event{kind: evShutdown})
			if errors.Is(err, ctx.Err()) {
				return nil
			}
			return err
		}
	}
}

// runOnce waits for the next event (a packet, a timer, a control change,
// or the end of ctx) and processes it.
func (in *Instance) runOnce(ctx context.Context, timer Timer, free chan<- []byte, rx <-chan received, rerr <-chan error) error {
	if at, ok := in.timers.next(); ok {
		timer.Reset(max(at.Sub(in.clock.Now()), 0))
	} else {
		timer.Stop()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-rerr:
		return fmt.Errorf("vrrp %s: receive on %s: %w", in.cfg.Name, in.cfg.Interface, err)
	case r := <-rx:
		in.step(event{kind: evPacket, pkt: r.pkt})
		free <- r.buf
	case <-timer.C():
		in.step(event{kind: evTimer})
	case <-in.ctl:
		in.step(event{kind: evControl})
	}
	return nil
}

// read feeds received packets to Run, reusing the buffers Run hands back.
func (in *Instance) read(ctx context.Context, free <-chan []byte, rx chan<- received, rerr chan<- error) {
	for {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
			return
		}
		p, err := in.conn.Receive(ctx, buf)
		if err != nil {
			if ctx.Err() == nil {
				rerr <- err
			}
			return
		}
		select {
		case rx <- received{pkt: p, buf: buf}:
		case <-ctx.Done():
			return
		}
	}
}

type eventKind uint8

const (
	evStart eventKind = iota
	evPacket
	evTimer
	evControl
	evShutdown
)

// event is one input to the state machine.
type event struct {
	kind eventKind
	pkt  Packet
}

// step processes one event at the Clock's current time. It is the whole
// state machine: Run only turns channels into events, so tests drive step
// directly with a fake clock.
func (in *Instance) step(ev event) {
	switch ev.kind {
	case evStart:
		in.start()
	case evPacket:
		in.handlePacket(ev.pkt)
	case evTimer:
		in.handleTimers()
	case evControl:
		in.handleControl()
	case evShutdown:
		in.shutdown()
	}
	if d := in.timers[masterDownTimer]; d.IsZero() || in.state != StateBackup {
		in.downAt.Store(0)
	} else {
		in.downAt.Store(d.UnixNano())
	}
}

// MasterDownWithin reports whether the instance is a backup whose
// Master_Down timer runs out within d: it has not heard from a master for
// nearly Master_Down_Interval.
func (in *Instance) MasterDownWithin(d time.Duration) bool {
	at := in.downAt.Load()
	return at != 0 && in.State() == StateBackup && at <= in.clock.Now().Add(d).UnixNano()
}

func (in *Instance) start() {
	if in.started {
		return
	}
	in.started = true
	in.applyPriority()
	if in.wantFault.Load() {
		in.setState(StateFault, ReasonFault)
		return
	}
	in.enterStartState(ReasonStartup)
}

// enterStartState goes to MASTER at once for an owner configured to start
// as master, and to BACKUP with a fresh Master_Down timer otherwise: like
// keepalived 2.2.7, "state MASTER" below 255 still waits Master_Down.
func (in *Instance) enterStartState(r Reason) {
	in.masterAdvInt = in.cfg.AdvertInterval
	if in.effPrio == PriorityOwner && in.cfg.StartState == StateMaster {
		in.becomeMaster(r)
		return
	}
	in.preemptAt = time.Time{}
	in.armDown(in.clock.Now(), in.masterDown(), ReasonMasterDown)
	in.setState(StateBackup, r)
}

func (in *Instance) shutdown() {
	switch in.state {
	case StateMaster:
		in.leaveMaster(StateInit, ReasonShutdown, true)
	case StateBackup, StateFault:
		in.timers.stopAll()
		in.setState(StateInit, ReasonShutdown)
	}
	in.started = false
}

func (in *Instance) handleControl() {
	in.applyPriority()
	if !in.started {
		return
	}
	switch fault := in.wantFault.Load(); {
	case fault && in.state != StateFault:
		in.enterFault()
	case !fault && in.state == StateFault:
		in.enterStartState(ReasonFaultCleared)
	}
	switch State(in.wantSync.Swap(uint32(StateInit))) {
	case StateMaster:
		if in.state == StateBackup {
			in.becomeMaster(ReasonSyncGroup)
		}
	case StateBackup:
		if in.state == StateMaster {
			in.leaveMaster(StateBackup, ReasonSyncGroup, false)
		}
	}
}

func (in *Instance) enterFault() {
	if in.state == StateMaster {
		in.leaveMaster(StateFault, ReasonFault, true)
		return
	}
	in.timers.stopAll()
	in.setState(StateFault, ReasonFault)
}

// effectivePriority clamps base+adjust to 1..254; an owner stays at 255.
func effectivePriority(base uint8, adjust int64) uint8 {
	if base == PriorityOwner {
		return PriorityOwner
	}
	return uint8(min(max(int64(base)+adjust, 1), PriorityOwner-1))
}

// applyPriority takes up a new priority adjustment. A backup moves its
// Master_Down deadline by the change in skew, as keepalived does.
func (in *Instance) applyPriority() {
	p := effectivePriority(in.basePrio, in.wantAdjust.Load())
	if p == in.effPrio {
		return
	}
	oldDown := in.masterDown()
	in.log.Info("vrrp: effective priority changed", "from", in.effPrio, "to", p)
	in.effPrio = p
	in.curPrio.Store(uint32(p))
	if in.state == StateBackup && !in.timers[masterDownTimer].IsZero() {
		in.timers[masterDownTimer] = in.timers[masterDownTimer].Add(in.masterDown() - oldDown)
	}
}

// skew is Skew_Time: (256-priority)/256 s for VRRPv2, (256-priority) *
// Master_Adver_Interval / 256 for VRRPv3.
func (in *Instance) skew() time.Duration {
	n := time.Duration(256 - int(in.effPrio))
	if in.cfg.Version == 2 {
		return n * time.Second / 256
	}
	return n * in.masterAdvInt / 256
}

// masterDown is Master_Down_Interval: down_timer_adverts (3) times the
// master's advert interval plus skew.
func (in *Instance) masterDown() time.Duration {
	return time.Duration(in.cfg.DownTimerAdverts)*in.masterAdvInt + in.skew()
}

func (in *Instance) armDown(now time.Time, d time.Duration, r Reason) {
	in.timers.set(masterDownTimer, now.Add(d))
	in.downReason = r
}

func (in *Instance) setState(to State, r Reason) {
	from := in.state
	in.state = to
	in.announce(from, to, r)
}

// announce publishes a transition that has already taken place.
func (in *Instance) announce(from, to State, r Reason) {
	in.curState.Store(uint32(to))
	in.log.Info("vrrp: entering "+to.String()+" state", "from", from.String(), "reason", r.String(), "priority", in.effPrio)
	if in.onTrans != nil {
		in.onTrans(Transition{Instance: in.cfg.Name, From: from, To: to, Reason: r, At: in.clock.Now(), Priority: in.effPrio})
	}
}

// srcAddr is our primary address: the unicast source or the conn's.
func (in *Instance) srcAddr() netip.Addr {
	if in.cfg.UnicastSrc.IsValid() {
		return in.cfg.UnicastSrc
	}
	return in.conn.LocalAddr()
}
