package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/tandem-ha/tandem/checks"
	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/lvs"
)

// DirectorOptions configure a Director.
type DirectorOptions struct {
	// Logger receives transitions and errors; nil discards.
	Logger *slog.Logger
	// OpenKernel opens the IPVS handle; nil means lvs.OpenKernel("").
	// It is called when the first configuration with virtual servers
	// arrives, so a VRRP-only node never needs IPVS.
	OpenKernel func() (lvs.Handle, error)
	// KeepIPVS leaves the IPVS entries in place on Stop
	// (--dont-release-ipvs); by default the entries tandem owns are removed.
	KeepIPVS bool
	// ResyncInterval is how often the kernel table is read back and
	// repaired; 0 means 30 s.
	ResyncInterval time.Duration
	// ScriptTimeout bounds notify_up/down and quorum_up/down scripts;
	// 0 means 10 s.
	ScriptTimeout time.Duration
	// OnEvent, if set, sees every checker event (e.g. to share verdicts).
	OnEvent func(checks.Event)
}

// Director runs the virtual servers of a configuration: the health
// checkers, the pool they feed, and the reconciler that keeps the kernel's
// IPVS table equal to the pool. It implements Subsystems.
type Director struct {
	opts   DirectorOptions
	log    *slog.Logger
	engine *checks.Engine
	sub    *checks.Subscription

	mu       sync.Mutex
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	cfg      *config.Config
	pool     *lvs.Pool
	rec      *lvs.Reconciler
	health   lvs.Health
	kick     chan struct{}
	retrying bool // a goroutine retries opening IPVS
	scripts  sync.WaitGroup
}

// NewDirector returns a Director; call Start before Apply.
func NewDirector(opts DirectorOptions) *Director {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OpenKernel == nil {
		opts.OpenKernel = func() (lvs.Handle, error) { return lvs.OpenKernel("") }
	}
	if opts.ResyncInterval <= 0 {
		opts.ResyncInterval = 30 * time.Second
	}
	if opts.ScriptTimeout <= 0 {
		opts.ScriptTimeout = 10 * time.Second
	}
	return &Director{
		opts:   opts,
		log:    opts.Logger,
		engine: checks.NewEngine(checks.Options{Logger: opts.Logger}),
		health: lvs.Health{},
		kick:   make(chan struct{}, 1),
	}
}

// Start runs the checkers until Stop or ctx ends.
func (d *Director) Start(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	d.sub = d.engine.Subscribe()
	go func() { _ = d.engine.Run(d.ctx) }()
	go d.loop()
}

// Apply runs cfg's virtual servers: unchanged checkers keep their state,
// and the IPVS table is brought to what cfg and the verdicts say.
func (d *Director) Apply(_ context.Context, cfg *config.Config) error {
	defs, diags := checks.FromConfig(cfg)
	if err := diags.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		return errors.New("director: Apply before Start")
	}
	if len(cfg.VirtualServers) > 0 && d.rec == nil {
		if err := d.openKernelLocked(cfg); err != nil {
			if !errors.Is(err, lvs.ErrNoIPVS) {
				return err
			}
			// As keepalived keeps VRRP running when its checker cannot
			// reach IPVS: the checkers run and the problem is logged
			// (again at every retry) until ip_vs appears.
			d.log.Error("virtual servers are checked but not programmed", "err", err)
			d.retryKernelLocked()
		}
	}
	if d.pool == nil {
		d.pool = lvs.NewPool(cfg, lvs.PoolOptions{InitNotifies: cfg.Global.RSInitNotifies})
	} else {
		d.pool.Reload(cfg)
	}
	d.cfg = cfg
	d.engine.Update(defs)
	return d.recomputeLocked()
}

// openKernelLocked opens IPVS and applies the global LVS settings.
func (d *Director) openKernelLocked(cfg *config.Config) error {
	h, err := d.opts.OpenKernel()
	if err != nil {
		return err
	}
	if err := lvs.Setup(h, &cfg.Global); err != nil {
		return err
	}
	d.rec = lvs.NewReconciler(h, d.log)
	go d.rec.Run(d.ctx, d.opts.ResyncInterval)
	return nil
}

// retryKernelLocked tries to open IPVS again every ResyncInterval, once.
func (d *Director) retryKernelLocked() {
	if d.retrying {
		return
	}
	d.retrying = true
	go func() {
		t := time.NewTicker(d.opts.ResyncInterval)
		defer t.Stop()
		for {
			select {
			case <-d.ctx.Done():
				return
			case <-t.C:
			}
			d.mu.Lock()
			if d.rec != nil || d.cfg == nil {
				d.retrying = false
				d.mu.Unlock()
				return
			}
			err := d.openKernelLocked(d.cfg)
			if err == nil {
				d.log.Info("IPVS is available: programming the virtual servers")
				d.retrying = false
				if err := d.recomputeLocked(); err != nil {
					d.log.Error("ipvs", "err", err)
				}
				d.mu.Unlock()
				return
			}
			d.log.Error("virtual servers are checked but not programmed", "err", err)
			d.mu.Unlock()
		}
	}()
}

// loop turns checker events into pool updates.
func (d *Director) loop() {
	defer close(d.done)
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-d.sub.Ready():
		case <-d.kick:
		}
		evs := d.sub.Take()
		d.mu.Lock()
		for _, ev := range evs {
			key, err := lvs.ParseRealServerKey(ev.VirtualServer, ev.RealServer)
			if err != nil {
				d.log.Error("checker event for an unknown real server", "vs", ev.VirtualServer, "rs", ev.RealServer, "err", err)
				continue
			}
			w := ev.Weight
			d.health[key] = lvs.State{Up: ev.Up, Weight: &w}
			state := "DOWN"
			if ev.Up {
				state = "UP"
			}
			d.log.Info("real server "+state, "vs", ev.VirtualServer, "rs", ev.RealServer, "checker", ev.CheckerType, "reason", ev.Reason)
			if d.opts.OnEvent != nil {
				d.opts.OnEvent(ev)
			}
		}
		if d.pool != nil {
			if err := d.recomputeLocked(); err != nil {
				d.log.Error("ipvs", "err", err)
			}
		}
		d.mu.Unlock()
	}
}

// recomputeLocked brings IPVS to the pool's desired table and runs the
// notify and quorum scripts the change calls for.
func (d *Director) recomputeLocked() error {
	table, events, err := d.pool.Update(d.health, localAddrs())
	if err != nil {
		return err
	}
	var applyErr error
	if d.rec != nil {
		_, applyErr = d.rec.Apply(table)
	}
	for _, e := range events {
		d.log.Info("lvs event", "event", e.String())
		d.runScript(e.Script)
	}
	return applyErr
}

// Stop ends the checkers; omega scripts run, and unless KeepIPVS the IPVS
// entries tandem owns are removed.
func (d *Director) Stop() error {
	d.mu.Lock()
	if d.cancel == nil {
		d.mu.Unlock()
		return nil
	}
	d.cancel()
	done := d.done
	d.mu.Unlock()
	<-done
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pool != nil {
		for _, e := range d.pool.Shutdown() {
			d.runScript(e.Script)
		}
	}
	d.scripts.Wait()
	if d.rec != nil && !d.opts.KeepIPVS {
		return d.rec.Release()
	}
	return nil
}

// Status returns the checkers' view of every real server.
func (d *Director) Status() []checks.ServerStatus { return d.engine.Status() }

// runScript starts a notify/quorum script without waiting for it; its
// whole process group is killed at ScriptTimeout.
func (d *Director) runScript(s *config.Script) {
	if s == nil || len(s.Args) == 0 {
		return
	}
	d.scripts.Add(1)
	go func() {
		defer d.scripts.Done()
		ctx, cancel := context.WithTimeout(context.Background(), d.opts.ScriptTimeout)
		defer cancel()
		cmd := exec.Command(s.Args[0], s.Args[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			d.log.Error("script", "cmd", s.Cmd, "err", err)
			return
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case err := <-waited:
			if err != nil {
				d.log.Warn("script failed", "cmd", s.Cmd, "err", err)
			}
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-waited
			d.log.Error("script killed after timeout", "cmd", s.Cmd, "timeout", d.opts.ScriptTimeout)
		}
	}()
}

// localAddrs reports the addresses configured on this host (ha_suspend).
func localAddrs() func(netip.Addr) bool {
	set := map[netip.Addr]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				set[p.Addr().Unmap()] = true
			}
		}
	}
	return func(a netip.Addr) bool { return set[a.Unmap()] }
}
