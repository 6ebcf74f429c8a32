package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/node"
	"github.com/tandem-ha/tandem/vrrp"
)

// agentFlags are the flags of `tandem agent`; later features add theirs
// here so the flag set stays in one place.
type agentFlags struct {
	config   configFlags
	cluster  clusterFlags
	dataDir  string
	pidFile  string
	logLevel string
	procs    int
	// procsGiven: --procs was on the command line.
	procsGiven bool
	// Subsystems, as keepalived's -P/-C select them.
	vrrpOnly  bool
	checkOnly bool
	keepIPVS  bool
}

func (f *agentFlags) register(cmd *cobra.Command) {
	f.config.register(cmd, false)
	f.cluster.register(cmd, &f.config.nodeID)
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", "/var/lib/tandem", "directory for this node's pid file and state; one per node")
	fl.StringVar(&f.pidFile, "pid-file", "", "pid file (default DATA_DIR/tandem.pid)")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.IntVar(&f.procs, "procs", 1, "CPUs running Go code at once (GOMAXPROCS; 0: all); default 1 for VRRP alone, all CPUs with virtual servers or --bind; the GOMAXPROCS environment variable wins")
	fl.BoolVarP(&f.vrrpOnly, "vrrp", "P", false, "run only the VRRP subsystem (keepalived -P)")
	fl.BoolVarP(&f.checkOnly, "check", "C", false, "run only the health checkers and IPVS (keepalived -C)")
	fl.BoolVar(&f.keepIPVS, "dont-release-ipvs", false, "leave the IPVS entries in place when the agent stops")
}

// statsFileName is where SIGUSR2 writes the instances' counters, in the
// data dir.
const statsFileName = "vrrp-stats.json"

func newAgentCmd() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent -f FILE [-i NODE] [--data-dir DIR] [--bind IP [--join IP,...] [--bootstrap-expect N] [--encrypt KEY] [--tls-ca F --tls-cert F --tls-key F]]",
		Short: "Run the vrrp_instances of a keepalived.conf in the foreground",
		Long: `agent runs every vrrp_instance of a keepalived.conf in the foreground,
speaking VRRP with stock keepalived nodes and logging state transitions.

Signals: SIGTERM or SIGINT resigns every master (priority 0 adverts), removes
the VIPs and exits 0. SIGHUP re-reads the file: unchanged instances keep
running without a flap, changed ones restart, and a file with errors is
refused (the running configuration stays). SIGUSR2 writes every instance's
state and counters (adverts, drops per reason) to DATA_DIR/` + statsFileName + `.

Configuration errors are printed as FILE:LINE: message and exit 1.

Cluster mode: with --bind the agent joins or forms a cluster whose members
share one configuration through Raft (gossip :7946, raft :7947, cluster API
:7948, all on --bind; mutual TLS and an encrypted gossip key are required off
loopback). --bootstrap-expect N forms a new cluster once N agents see each
other; --join IP,... joins an existing one. -f then only seeds the cluster's
first configuration; change it with "tandem ctl apply". Without --bind the
agent is a single-node cluster whose configuration is the -f file (SIGHUP
makes the file's current text the next version). Either way the local API
listens on DATA_DIR/tandem.sock for "tandem ctl".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.procsGiven = cmd.Flags().Changed("procs")
			if f.cluster.bind != "" && !f.procsGiven {
				f.procs = 0 // raft, TLS and validating big configs want every CPU
			}
			return runAgent(cmd.ErrOrStderr(), &f, cmd.Flags().Changed("use-file"))
		},
	}
	f.register(cmd)
	return cmd
}

func runAgent(stderr io.Writer, f *agentFlags, fileGiven bool) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return &exitError{code: 2, msg: fmt.Sprintf("--log-level %q: %v", f.logLevel, err)}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// Standalone, the file is the configuration; in a cluster it only
	// seeds the first version, and the cluster's config is what runs.
	standalone := f.cluster.bind == ""
	var cfg *config.Config
	if standalone || fileGiven {
		var err error
		if cfg, err = f.config.mustLoad(stderr); err != nil {
			return err
		}
	}
	// VRRP needs little CPU, and with one P a timer firing does not wake a
	// second thread to look for work: for 100 instances this cut the
	// agent's CPU time from 0.56 to 0.20 s per minute. Health checkers of
	// many real servers want every CPU.
	if standalone && !f.procsGiven && !f.vrrpOnly && cfg != nil && len(cfg.VirtualServers) > 0 {
		f.procs = 0
	}
	if os.Getenv("GOMAXPROCS") == "" && f.procs > 0 {
		runtime.GOMAXPROCS(f.procs)
	}
	opts, err := f.cluster.options(f.config.nodeID, f.dataDir, f.config.file, fileGiven, log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.dataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	pidFile := f.pidFile
	if pidFile == "" {
		pidFile = filepath.Join(f.dataDir, "tandem.pid")
	}
	if err := checkPidFile(pidFile); err != nil {
		return err
	}

	// Subscribe before starting, so no signal is lost in between.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR2)
	defer signal.Stop(sigs)

	network, err := vrrp.NewSystemNetwork(log)
	if err != nil {
		return err
	}
	defer network.Close()
	mgr := vrrp.NewManager(network, vrrp.ManagerOptions{Logger: log})
	runVRRP, runChecks := !f.checkOnly, !f.vrrpOnly
	if f.vrrpOnly && f.checkOnly {
		runVRRP, runChecks = true, true
	}
	var subs subsystems
	var director *node.Director
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopAll := func() {
		if runVRRP {
			mgr.Stop()
		}
		if director != nil {
			if err := director.Stop(); err != nil {
				log.Error("release IPVS entries", "err", err)
			}
		}
	}
	if runVRRP {
		subs = append(subs, mgr)
	}
	if runChecks {
		director = node.NewDirector(node.DirectorOptions{Logger: log, KeepIPVS: f.keepIPVS})
		director.Start(ctx)
		subs = append(subs, reloadFunc(func(cfg *config.Config) error { return director.Apply(ctx, cfg) }))
	}
	if standalone && runVRRP {
		// As keepalived: a file that cannot run is fatal at start.
		if err := mgr.Start(cfg); err != nil {
			stopAll()
			return &exitError{code: 1, msg: err.Error()}
		}
	}
	opts.Subsystems = subs
	nd, err := node.New(opts)
	if err != nil {
		stopAll()
		return &exitError{code: 1, msg: err.Error()}
	}
	defer nd.Close()
	if err := writePidFile(pidFile); err != nil {
		stopAll()
		return err
	}
	defer os.Remove(pidFile)
	log.Info("tandem agent running", "file", f.config.file, "node_id", opts.NodeID, "bind", f.cluster.bind, "pid", os.Getpid(), "data_dir", f.dataDir)

	statsPath := filepath.Join(f.dataDir, statsFileName)
	for {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-nd.Done():
			log.Info("left the cluster: resigning masters and removing VIPs")
			stopAll()
			log.Info("tandem agent stopped")
			return nil
		}
		switch sig {
		case syscall.SIGHUP:
			if !standalone {
				log.Info("SIGHUP: in a cluster the configuration changes with tandem ctl apply; nothing to re-read")
				continue
			}
			reload(log, f, nd)
		case syscall.SIGUSR2:
			if err := writeStats(statsPath, mgr, network); err != nil {
				log.Error("write stats", "err", err)
			}
		default:
			log.Info("stopping: resigning masters and removing VIPs", "signal", sig.String())
			nd.Close()
			stopAll()
			log.Info("tandem agent stopped")
			return nil
		}
	}
}

// reload re-reads the configuration file and makes it the next version;
// a file with errors is refused (the running configuration stays).
func reload(log *slog.Logger, f *agentFlags, nd *node.Node) {
	log.Info("reloading", "file", f.config.file)
	_, diags := f.config.load()
	for _, d := range diags {
		if d.Severity == config.Error {
			log.Error("config: " + d.String())
		} else {
			log.Warn("config: " + d.String())
		}
	}
	if diags.HasErrors() {
		log.Error("reload refused: the configuration has errors; the running configuration stays", "file", f.config.file)
		return
	}
	name, text, err := bundle(f.config.file)
	if err != nil {
		log.Error("reload", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := nd.Apply(ctx, node.ApplyRequest{Name: name, Text: text, Author: "SIGHUP", Message: "reload " + f.config.file})
	if err != nil {
		log.Error("reload", "err", err)
		return
	}
	log.Info("reloaded", "version", res.Version.Version)
}

// checkPidFile fails when pidFile names a live tandem process other than
// us; a stale file (dead pid, or a pid reused by another program) is
// ignored, so a SIGKILLed agent never blocks the next start.
func checkPidFile(pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return nil
	}
	if unix.Kill(pid, 0) != nil {
		return nil
	}
	if !isTandem(pid) {
		return nil
	}
	return &exitError{code: 1, msg: fmt.Sprintf("another tandem agent (pid %d) is running with pid file %s; give each node its own --data-dir", pid, pidFile)}
}

// isTandem reports whether pid runs the same executable as we do, or one
// named tandem.
func isTandem(pid int) bool {
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// A zombie is as good as dead.
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	if self, err := os.Executable(); err == nil && self == exe {
		return true
	}
	return strings.HasPrefix(filepath.Base(exe), "tandem")
}

// writePidFile writes our pid atomically.
func writePidFile(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// instanceStats is one instance in the stats file.
type instanceStats struct {
	Name             string            `json:"name"`
	VRID             uint8             `json:"vrid"`
	State            string            `json:"state"`
	Priority         uint8             `json:"priority"`
	AdvertsReceived  uint64            `json:"adverts_received"`
	AdvertsSent      uint64            `json:"adverts_sent"`
	PriorityZeroRecv uint64            `json:"priority_zero_received"`
	PriorityZeroSent uint64            `json:"priority_zero_sent"`
	BecameMaster     uint64            `json:"became_master"`
	ReleasedMaster   uint64            `json:"released_master"`
	GARPsSent        uint64            `json:"garps_sent"`
	Dropped          map[string]uint64 `json:"dropped"`
	DroppedTotal     uint64            `json:"dropped_total"`
}

// statsFile is the content of the stats file.
type statsFile struct {
	Pid       int             `json:"pid"`
	Malformed uint64          `json:"malformed_ip_packets"`
	Overflow  uint64          `json:"queue_overflow_drops"`
	Runtime   runtimeStats    `json:"runtime"`
	Instances []instanceStats `json:"instances"`
}

// runtimeStats is the Go runtime's view of the agent's memory.
type runtimeStats struct {
	Goroutines  int    `json:"goroutines"`
	HeapInuse   uint64 `json:"heap_inuse"`
	HeapSys     uint64 `json:"heap_sys"`
	HeapTotal   uint64 `json:"heap_alloc_total"`
	StackInuse  uint64 `json:"stack_inuse"`
	Sys         uint64 `json:"sys"`
	NumGC       uint32 `json:"num_gc"`
	HeapIdle    uint64 `json:"heap_idle"`
	HeapRelease uint64 `json:"heap_released"`
}

// writeStats writes every instance's counters as JSON, atomically.
func writeStats(path string, mgr *vrrp.Manager, network *vrrp.SystemNetwork) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out := statsFile{Pid: os.Getpid(), Malformed: network.Malformed(), Overflow: network.Overflow(), Instances: []instanceStats{},
		Runtime: runtimeStats{Goroutines: runtime.NumGoroutine(), HeapInuse: ms.HeapInuse, HeapSys: ms.HeapSys, HeapTotal: ms.TotalAlloc,
			StackInuse: ms.StackInuse, Sys: ms.Sys, NumGC: ms.NumGC, HeapIdle: ms.HeapIdle, HeapRelease: ms.HeapReleased}}
	for _, st := range mgr.Status() {
		s := st.Stats
		is := instanceStats{
			Name: st.Name, VRID: st.VRID, State: st.State.String(), Priority: st.Priority,
			AdvertsReceived: s.AdvertsReceived, AdvertsSent: s.AdvertsSent,
			PriorityZeroRecv: s.PriorityZeroReceived, PriorityZeroSent: s.PriorityZeroSent,
			BecameMaster: s.BecameMaster, ReleasedMaster: s.ReleasedMaster, GARPsSent: s.GARPsSent,
			Dropped: map[string]uint64{}, DroppedTotal: s.DroppedTotal(),
		}
		for r, n := range s.Dropped {
			if n > 0 {
				is.Dropped[vrrp.DropReason(r).String()] = n
			}
		}
		out.Instances = append(out.Instances, is)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write stats: %w", err)
	}
	return os.Rename(tmp, path)
}
