package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Proc is a long-running process started in a lab namespace, leader of its
// own process group.
type Proc struct {
	// Name says where and what it runs, e.g. "h1 keepalived".
	Name string

	cmd     *exec.Cmd
	pgid    int
	logPath string
	done    chan struct{}
	err     error // set before done is closed

	// mu orders group signals before the leader's reaping: while the
	// leader is unreaped its pid, the group's id, cannot be reused by an
	// unrelated process group.
	mu     sync.Mutex
	reaped bool
}

// Pid returns the process's pid, which is also its process group id.
func (p *Proc) Pid() int { return p.pgid }

// Signal sends sig to the process itself (not its group): SIGTERM asks
// keepalived to stop gracefully, SIGHUP to reload.
func (p *Proc) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s: signal %v: %w", p.Name, sig, err)
	}
	return nil
}

// signalGroup sends sig to the process group, unless its leader has been
// reaped: then members left in the lab are found by the teardown's namespace
// scan.
func (p *Proc) signalGroup(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	if err := killGroup(p.pgid, sig); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	return nil
}

// wait waits for the process to exit, then reaps it.
func (p *Proc) wait() {
	var info unix.Siginfo
	for {
		// WNOWAIT: the leader stays a zombie, holding the group's id,
		// until reaped below under mu.
		err := unix.Waitid(unix.P_PID, p.pgid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	p.mu.Lock()
	p.err = p.cmd.Wait()
	p.reaped = true
	p.mu.Unlock()
	close(p.done)
}

// Kill SIGKILLs the process's whole group, children included, as a crash
// would, and waits until the process has exited.
func (p *Proc) Kill() error {
	if err := p.signalGroup(unix.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: pid %d still running 10s after SIGKILL", p.Name, p.pgid)
	}
}

// Wait waits for the process to exit and returns its exit status as an
// error, like exec.Cmd.Wait. It may be called any number of times.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// LogPath returns the file holding the process's stdout and stderr.
func (p *Proc) LogPath() string { return p.logPath }

// Log returns what the process has written to stdout and stderr so far.
func (p *Proc) Log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", p.logPath, err)
	}
	return string(b)
}

// Start starts argv in the host's namespace, in a process group of its own,
// with stdout and stderr going to a file in the lab's Dir (see Proc.Log).
// The process is SIGKILLed, with its group, when ctx is done, when the lab
// is torn down, or when the test process dies.
func (h *Host) Start(ctx context.Context, argv ...string) (*Proc, error) {
	p, err := h.lab.start(ctx, h.NSName, h.Name, argv)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	return p, nil
}

// Run runs argv in the host's namespace and returns its combined stdout and
// stderr. A non-zero exit is an error that includes the output. When ctx is
// done the command is SIGKILLed with its process group.
func (h *Host) Run(ctx context.Context, argv ...string) ([]byte, error) {
	cmd, err := nsCommand(ctx, h.NSName, argv)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	// Do not wait forever for pipes held open by a daemonised grandchild.
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("host %s: %s: %w: %s", h.Name, strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// nsCommand returns a command running argv in namespace ns through
// `ip netns exec`, which also mounts a /sys showing the namespace's
// interfaces, in a process group of its own that is SIGKILLed when ctx is
// done or the test process dies.
func nsCommand(ctx context.Context, ns string, argv []string) (*exec.Cmd, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command given")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return nil, fmt.Errorf("find iproute2's ip: %w", err)
	}
	cmd := exec.CommandContext(ctx, ip, append([]string{"netns", "exec", ns}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid, unix.SIGKILL) }
	return cmd, nil
}

// start starts argv in namespace ns and registers it for teardown.
func (l *Lab) start(ctx context.Context, ns, where string, argv []string) (*Proc, error) {
	cmd, err := nsCommand(ctx, ns, argv)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("lab is closed")
	}
	l.seq++
	base := filepath.Base(argv[0])
	logPath := filepath.Join(l.Dir, fmt.Sprintf("%s-%s-%d.log", where, base, l.seq))
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	defer f.Close() // the child has its own copy
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(argv, " "), err)
	}
	p := &Proc{
		Name:    where + " " + base,
		cmd:     cmd,
		pgid:    cmd.Process.Pid,
		logPath: logPath,
		done:    make(chan struct{}),
	}
	go p.wait()
	l.procs = append(l.procs, p)
	return p, nil
}
