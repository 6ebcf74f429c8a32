package node

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/fsm"
)

// Node is one tandem cluster member: raft with the config FSM, gossip
// membership, the local and cluster APIs, and the loop that runs each
// committed config through the Subsystems.
type Node struct {
	opts   Options
	timing Timing
	log    *slog.Logger
	id     string

	fsm      *fsm.FSM
	raft     *raft.Raft
	store    *raftboltdb.BoltStore
	trans    raft.Transport
	raftAddr raft.ServerAddress
	apiAddr  string
	hasState bool

	ml      *memberlist.Memberlist
	members *members
	pilot   *autopilot.Autopilot
	peers   *http.Client // cluster API client (mutual TLS unless insecure)

	local, cluster *http.Server
	socketPath     string
	serve          []func()       // start serving, once everything is set up
	listeners      []net.Listener // closed at shutdown even if never served

	applyMu sync.Mutex // serialises leader-side validate+commit
	parsed  parseCache // the leader's last validated config for itself
	running runningState

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   kicks

	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

// kicks wake background loops early.
type kicks struct {
	reconcile, report, confirm chan struct{}
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// New starts a node: it opens (or creates) the raft state in the data dir,
// listens, joins, bootstraps when it should, and starts applying committed
// configs. Close stops it; Leave leaves the cluster first.
func New(opts Options) (*Node, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	if opts.ConfigName == "" {
		opts.ConfigName = "keepalived.conf"
	}
	if opts.Subsystems == nil {
		opts.Subsystems = SubsystemsFunc(func(context.Context, *config.Config) error { return nil })
	}
	if opts.LocalOnly() && opts.Timing.HeartbeatTimeout == 0 {
		// No network: elect the only server soon, without waking raft's
		// lease check (half the heartbeat timeout) many times a second.
		opts.Timing.HeartbeatTimeout, opts.Timing.ElectionTimeout = 400*time.Millisecond, 400*time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		opts:   opts,
		timing: opts.Timing.withDefaults(),
		log:    opts.Logger.With("node", opts.NodeID),
		id:     opts.NodeID,
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		kick: kicks{
			reconcile: make(chan struct{}, 1),
			report:    make(chan struct{}, 1),
			confirm:   make(chan struct{}, 1),
		},
	}
	n.members = newMembers(n)
	if err := n.start(); err != nil {
		n.shutdown()
		return nil, err
	}
	return n, nil
}

func (n *Node) start() error {
	if err := os.MkdirAll(filepath.Join(n.opts.DataDir, "raft"), 0o700); err != nil {
		return fmt.Errorf("node: create data dir: %w", err)
	}
	if err := n.listenLocal(); err != nil {
		return err
	}
	n.restoreRunning()
	if err := n.startRaft(); err != nil {
		return err
	}
	if !n.opts.LocalOnly() {
		if err := n.listenCluster(); err != nil {
			return err
		}
		if err := n.startMemberlist(); err != nil {
			return err
		}
	}
	for _, serve := range n.serve {
		serve()
	}
	n.goLoop(n.leaderLoop)
	n.goLoop(n.applyLoop)
	n.goLoop(n.reportLoop)
	if n.opts.Seed != nil {
		n.goLoop(n.seedLoop)
	}
	if !n.opts.LocalOnly() {
		n.goLoop(n.members.confirmLoop)
		if len(n.opts.Join) > 0 {
			n.goLoop(n.joinLoop)
		}
		if n.opts.BootstrapExpect > 0 && !n.hasState {
			n.goLoop(n.bootstrapLoop)
		}
	}
	n.log.Info("node started", "data_dir", n.opts.DataDir, "raft", n.raftAddr, "api", n.apiAddr,
		"socket", n.socketPath, "existing_state", n.hasState, "bootstrap_expect", n.opts.BootstrapExpect)
	return nil
}

func (n *Node) goLoop(fn func(ctx context.Context)) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn(n.ctx)
	}()
}

// startRaft opens the stores and transport and starts raft, bootstrapping a
// single-node cluster when the node is on its own.
func (n *Node) startRaft() error {
	var err error
	n.store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(n.opts.DataDir, "raft", "raft.db")})
	if err != nil {
		return fmt.Errorf("node: open raft store: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStore(n.opts.DataDir, 3, slogWriter{n.log.With("component", "snapshots")})
	if err != nil {
		return fmt.Errorf("node: open snapshot store: %w", err)
	}
	hlog := hclogFor(n.log.With("component", "raft"), "raft")
	if n.opts.LocalOnly() {
		addr, t := raft.NewInmemTransport("local")
		n.trans, n.raftAddr = t, addr
	} else {
		addr := netip.AddrPortFrom(n.opts.Bind, uint16(n.opts.port(&n.opts.RaftPort, DefaultRaftPort))).String()
		sl, err := newStreamLayer(addr, n.opts.TLS, n.log.With("component", "raft"))
		if err != nil {
			return fmt.Errorf("node: raft listen on %s: %w", addr, err)
		}
		t := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream:  sl,
			MaxPool: 3,
			Timeout: 10 * time.Second,
			Logger:  hlog,
		})
		n.trans, n.raftAddr = t, raft.ServerAddress(addr)
	}
	n.fsm = fsm.New(fsm.Options{Logger: n.log.With("component", "fsm")})

	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(n.id)
	c.HeartbeatTimeout = n.timing.HeartbeatTimeout
	c.ElectionTimeout = n.timing.ElectionTimeout
	c.LeaderLeaseTimeout = n.timing.HeartbeatTimeout / 2
	c.SnapshotThreshold = 2048
	c.SnapshotInterval = 30 * time.Second
	c.TrailingLogs = 4096
	c.BatchApplyCh = true // batch concurrent applies into one disk write
	c.Logger = hlog
	if err := raft.ValidateConfig(c); err != nil {
		return fmt.Errorf("node: raft config: %w", err)
	}
	n.hasState, err = raft.HasExistingState(n.store, n.store, snaps)
	if err != nil {
		return fmt.Errorf("node: read raft state: %w", err)
	}
	if !n.hasState && len(n.opts.Join) == 0 && n.opts.BootstrapExpect == 0 {
		n.log.Info("bootstrapping a single-node cluster", "data_dir", n.opts.DataDir)
		err := raft.BootstrapCluster(c, n.store, n.store, snaps, n.trans, raft.Configuration{
			Servers: []raft.Server{{ID: c.LocalID, Address: n.raftAddr, Suffrage: raft.Voter}},
		})
		if err != nil {
			return fmt.Errorf("node: bootstrap: %w", err)
		}
		n.hasState = true
	}
	n.raft, err = raft.NewRaft(c, n.fsm, n.store, n.store, snaps, n.trans)
	if err != nil {
		return fmt.Errorf("node: start raft: %w", err)
	}
	n.pilot = autopilot.New(n.raft, pilotDelegate{n},
		autopilot.WithLogger(hclogFor(n.log.With("component", "autopilot"), "autopilot")),
		autopilot.WithUpdateInterval(500*time.Millisecond),
		autopilot.WithReconcileInterval(time.Second))
	return nil
}

// listenLocal serves the local API on DATA_DIR/tandem.sock (mode 0600),
// replacing a stale socket left by a killed daemon.
func (n *Node) listenLocal() error {
	path := filepath.Join(n.opts.DataDir, SocketName)
	if _, err := os.Stat(path); err == nil {
		dctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := dialUnix(dctx, path)
		cancel()
		if err == nil {
			c.Close()
			return fmt.Errorf("node: %s: another tandem agent is serving this data dir", path)
		}
		n.log.Info("removing stale API socket", "path", path)
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("node: remove stale socket: %w", err)
		}
	}
	ln, err := listenUnix(path)
	if err != nil {
		return fmt.Errorf("node: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("node: chmod %s: %w", path, err)
	}
	n.socketPath = path
	n.local = &http.Server{Handler: n.handler(false), ErrorLog: stdlogFor(n.log.With("component", "api"))}
	n.listeners = append(n.listeners, ln)
	n.serve = append(n.serve, func() { go n.local.Serve(ln) })
	return nil
}

// listenCluster serves the cluster API on the bind address, over mutual TLS
// when the node has certificates.
func (n *Node) listenCluster() error {
	addr := netip.AddrPortFrom(n.opts.Bind, uint16(n.opts.port(&n.opts.APIPort, DefaultAPIPort))).String()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("node: cluster API listen on %s: %w", addr, err)
	}
	n.apiAddr = addr
	n.listeners = append(n.listeners, ln)
	n.cluster = &http.Server{
		Handler:           n.handler(true),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(refusalWriter{n.log.With("component", "cluster-api")}, "", 0),
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		TLSHandshakeTimeout: 3 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	if n.opts.TLS != nil {
		n.cluster.TLSConfig = n.opts.TLS.ServerConfig()
		tr.TLSClientConfig = n.opts.TLS.ClientConfig()
		n.serve = append(n.serve, func() { go n.cluster.ServeTLS(ln, "", "") })
	} else {
		n.serve = append(n.serve, func() { go n.cluster.Serve(ln) })
	}
	n.peers = &http.Client{Transport: tr}
	return nil
}

// scheme is the cluster API's URL scheme.
func (n *Node) scheme() string {
	if n.opts.TLS != nil {
		return "https"
	}
	return "http"
}

// startMemberlist creates the gossip layer with this node's metadata.
func (n *Node) startMemberlist() error {
	c := memberlist.DefaultLANConfig()
	c.Name = n.id
	c.BindAddr = n.opts.Bind.String()
	c.BindPort = n.opts.port(&n.opts.GossipPort, DefaultGossipPort)
	c.AdvertiseAddr = c.BindAddr
	c.AdvertisePort = c.BindPort
	c.ProbeInterval = n.timing.GossipProbeInterval
	c.Delegate = (*memberDelegate)(n.members)
	c.Events = (*memberDelegate)(n.members)
	c.Logger = stdlogFor(n.log.With("component", "memberlist"))
	if len(n.opts.EncryptKey) > 0 {
		kr, err := memberlist.NewKeyring(nil, n.opts.EncryptKey)
		if err != nil {
			return fmt.Errorf("node: gossip key: %w", err)
		}
		c.Keyring = kr
		c.GossipVerifyIncoming = true
		c.GossipVerifyOutgoing = true
	}
	ml, err := memberlist.Create(c)
	if err != nil {
		return fmt.Errorf("node: gossip on %s:%d: %w", c.BindAddr, c.BindPort, err)
	}
	n.ml = ml
	return nil
}

// joinLoop joins the --join addresses, retrying until one answers.
func (n *Node) joinLoop(ctx context.Context) {
	addrs := make([]string, len(n.opts.Join))
	for i, a := range n.opts.Join {
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, strconv.Itoa(DefaultGossipPort))
		}
		addrs[i] = a
	}
	delay := 500 * time.Millisecond
	for {
		k, err := n.ml.Join(addrs)
		if err == nil && k > 0 {
			n.log.Info("joined gossip", "contacted", k, "join", addrs)
			kick(n.kick.confirm)
			return
		}
		n.log.Warn("join failed; retrying (wrong --encrypt key, or no member reachable?)", "join", addrs, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// Done is closed when the node has stopped, after Leave or Close.
func (n *Node) Done() <-chan struct{} { return n.done }

// ID returns the node's ID.
func (n *Node) ID() string { return n.id }

// SocketPath returns the local API's unix socket path.
func (n *Node) SocketPath() string { return n.socketPath }

// APIAddr returns the cluster API's host:port ("" in local-only mode).
func (n *Node) APIAddr() string { return n.apiAddr }

// FSM returns the node's replicated state (read only).
func (n *Node) FSM() *fsm.FSM { return n.fsm }

// Close stops the node without leaving the cluster: the others see it as
// failed until it returns. Subsystems keep running whatever they run.
func (n *Node) Close() error {
	n.shutdown()
	return n.closeErr
}

func (n *Node) shutdown() {
	n.closeOnce.Do(func() {
		n.cancel()
		var errs []error
		shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if n.pilot != nil {
			<-n.pilot.Stop()
		}
		for _, s := range []*http.Server{n.local, n.cluster} {
			if s != nil {
				_ = s.Shutdown(shutCtx)
				s.Close()
			}
		}
		for _, ln := range n.listeners {
			ln.Close() // already closed if served
		}
		if n.ml != nil {
			errs = append(errs, n.ml.Shutdown())
		}
		if n.raft != nil {
			errs = append(errs, n.raft.Shutdown().Error())
		}
		n.wg.Wait()
		if n.store != nil {
			errs = append(errs, n.store.Close())
		}
		if n.socketPath != "" {
			os.Remove(n.socketPath)
		}
		n.closeErr = errors.Join(errs...)
		close(n.done)
		n.log.Info("node stopped")
	})
}
