package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-ha/tandem/config"
)

// Manager runs every vrrp_instance of a configuration and applies new
// configurations the way keepalived applies SIGHUP: instances whose
// settings are unchanged keep running, with their state and VIPs.
type Manager struct {
	net     Network
	log     *slog.Logger
	clock   Clock
	onTrans func(Transition)

	opts ManagerOptions

	mu      sync.Mutex
	running map[string]*managed
	extras  atomic.Pointer[extras]
}

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	// Logger receives the instances' logs; nil means slog.Default.
	Logger *slog.Logger
	// OnTransition, if set, is called on every state change of every
	// instance; it must not block.
	OnTransition func(Transition)
	// Clock is the instances' time source; nil means SystemClock.
	Clock Clock
	// NotifyTimeout is how long a notify script may run before its process
	// group is killed; zero means DefaultNotifyTimeout.
	NotifyTimeout time.Duration
}

// spec is everything an instance is built from; two equal specs make the
// same instance.
type spec struct {
	cfg   InstanceConfig
	addrs []AddrSpec
	src   netip.Addr
	vmac  *vmacSpec
}

// managed is one running instance.
type managed struct {
	spec   spec
	in     *Instance
	conn   Conn
	cancel context.CancelFunc
	done   chan struct{}
	undo   func() // removes the instance's VMAC, if any
}

// NewManager returns a Manager running instances over net.
func NewManager(net Network, opts ManagerOptions) *Manager {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Manager{net: net, log: log, clock: opts.Clock, onTrans: opts.OnTransition, opts: opts, running: map[string]*managed{}}
}

// specs builds the spec of every instance of cfg, by name.
func specs(cfg *config.Config) (map[string]spec, []netip.Addr, error) {
	out := map[string]spec{}
	var vips []netip.Addr
	var errs []error
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		c, err := FromConfig(in, &cfg.Global)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.Pos, err))
			continue
		}
		if _, dup := out[in.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: vrrp_instance %s defined twice", in.Pos, in.Name))
			continue
		}
		s := spec{cfg: c, addrs: AddrSpecs(in), src: SourceAddr(in), vmac: vmacOf(in, &cfg.Global)}
		if s.vmac != nil {
			// The VIPs live on the VMAC, which answers ARP for them.
			for i := range s.addrs {
				if s.addrs[i].Dev == in.Interface {
					s.addrs[i].Dev = s.vmac.name
				}
			}
		}
		for _, a := range s.addrs {
			vips = append(vips, a.Prefix.Addr())
		}
		out[in.Name] = s
	}
	return out, vips, errors.Join(errs...)
}

// Start runs the instances of cfg; it is Reload on an empty Manager.
func (m *Manager) Start(cfg *config.Config) error { return m.Reload(cfg) }

// Reload makes the running instances those of cfg. An instance whose
// settings did not change keeps running untouched (no flap); a changed one
// is stopped cleanly (priority 0, VIPs removed) and started afresh; a
// removed one is stopped. Before a new instance starts, stale copies of its
// VIPs (left by a killed daemon) are removed. If cfg has an instance
// tandem cannot run, nothing changes and the error says why; an instance
// that fails to start is reported in the error while the others run.
func (m *Manager) Reload(cfg *config.Config) error {
	want, vips, err := specs(cfg)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.extras.Load()
	x := buildExtras(cfg, m.net, m.opts, m.log, old)
	var stop []*managed
	for name, r := range m.running {
		if s, ok := want[name]; !ok || !reflect.DeepEqual(s, r.spec) {
			stop = append(stop, r)
			delete(m.running, name)
		}
	}
	stopAll(stop)
	for _, r := range stop {
		m.log.Info("vrrp: instance stopped for reload", "instance", r.spec.cfg.Name)
	}
	m.extras.Store(x)
	if old != nil {
		old.close(0)
	}
	var errs []error
	for _, name := range sortedKeys(want) {
		if r := m.running[name]; r != nil {
			x.attach(name, r.in)
			continue
		}
		r, err := m.start(want[name], vips)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.running[name] = r
	}
	return errors.Join(errs...)
}

func (m *Manager) start(s spec, vips []netip.Addr) (*managed, error) {
	for _, a := range s.addrs {
		if err := m.net.Addrs().Remove(a); err != nil {
			m.log.Warn("vrrp: remove stale VIP", "instance", s.cfg.Name, "vip", a.Prefix, "err", err)
		}
	}
	cfg, openCfg, src := s.cfg, s.cfg, s.src
	undo := func() {}
	if v := s.vmac; v != nil {
		vn, ok := m.net.(VMACNetwork)
		if !ok {
			return nil, fmt.Errorf("vrrp_instance %s: use_vmac is not supported on this network", s.cfg.Name)
		}
		mac, err := net.ParseMAC(v.mac)
		if err != nil {
			return nil, fmt.Errorf("vrrp_instance %s: use_vmac %s: %w", s.cfg.Name, v.mac, err)
		}
		baseSrc, u, err := vn.SetupVMAC(s.cfg.Interface, v.name, mac, vips)
		if err != nil {
			return nil, err
		}
		undo = u
		if !src.IsValid() {
			src = baseSrc
		}
		cfg.Interface = v.name
		if !v.xmitBase {
			openCfg.Interface = v.name
		}
	}
	conn, err := m.net.Open(openCfg, ConnOptions{Src: src, NotPrimary: vips})
	if err != nil {
		undo()
		return nil, err
	}
	addrs, arp := InstanceAddrs(m.net.Addrs(), m.net.ARP(), s.addrs)
	name := s.cfg.Name
	in, err := NewInstance(cfg, Env{Clock: m.clock, Conn: conn, Addrs: addrs, ARP: arp, Logger: m.log,
		OnTransition:       m.transition,
		OnMasterRxLowerPri: func(netip.Addr, uint8) { m.extras.Load().onLowerPri(name) },
		CanBecomeMaster:    func() bool { return m.extras.Load().canBecomeMaster(name) },
	})
	if err != nil {
		conn.Close()
		undo()
		return nil, err
	}
	m.extras.Load().attach(name, in)
	ctx, cancel := context.WithCancel(context.Background())
	r := &managed{spec: s, in: in, conn: conn, cancel: cancel, done: make(chan struct{}), undo: undo}
	go func() {
		defer close(r.done)
		if err := in.Run(ctx); err != nil {
			m.log.Error("vrrp: instance stopped", "instance", s.cfg.Name, "err", err)
		}
	}()
	return r, nil
}

// transition passes a transition to OnTransition, the notifications and
// the instance's sync group.
func (m *Manager) transition(t Transition) {
	if m.onTrans != nil {
		m.onTrans(t)
	}
	if x := m.extras.Load(); x != nil {
		x.onTransition(t)
	}
}

// stopAll stops instances concurrently, so that 100 masters resign at once,
// and waits until each has sent its priority 0 and removed its VIPs.
func stopAll(list []*managed) {
	for _, r := range list {
		r.cancel()
	}
	for _, r := range list {
		<-r.done
		r.conn.Close()
		if r.undo != nil {
			r.undo()
		}
	}
}

// Stop stops every instance: masters send priority 0 and remove their VIPs.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []*managed
	for name, r := range m.running {
		list = append(list, r)
		delete(m.running, name)
	}
	stopAll(list)
	if x := m.extras.Swap(nil); x != nil {
		x.close(stopNotifyWait)
	}
}

// stopNotifyWait is how long Stop waits for notify scripts (notify_stop)
// to finish.
const stopNotifyWait = 3 * time.Second

// InstanceStatus is what Manager.Status reports of one instance.
type InstanceStatus struct {
	// Name is the vrrp_instance name.
	Name string
	// VRID is its virtual router id.
	VRID uint8
	// State is its current state.
	State State
	// Priority is its effective priority.
	Priority uint8
	// Stats are its counters.
	Stats Stats
	// Instance is the running instance (for its Stats and State later).
	Instance *Instance `json:"-"`
}

// Status returns the instances, sorted by name.
func (m *Manager) Status() []InstanceStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []InstanceStatus
	for _, name := range sortedKeys(m.running) {
		in := m.running[name].in
		out = append(out, InstanceStatus{Name: name, VRID: in.cfg.VRID, State: in.State(), Priority: in.Priority(), Stats: in.Stats(), Instance: in})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
