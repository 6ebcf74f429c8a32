package script

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// Cmd is one program to run.
type Cmd struct {
	// Args is the argv; Args[0] is the program path.
	Args []string
	// Cred is the user and group to run as; nil means the caller's.
	Cred *syscall.Credential
	// Timeout kills the whole process group when it passes; zero means none.
	Timeout time.Duration
	// Env, if not nil, is the environment.
	Env []string
}

// Result is how a run ended.
type Result struct {
	// ExitCode is the exit status; -1 if the program was killed by a signal
	// or never started.
	ExitCode int
	// TimedOut says the timeout passed and the process group was killed.
	TimedOut bool
	// Err is why the program could not be started, if it could not.
	Err error
}

// OK reports whether the program exited with status 0.
func (r Result) OK() bool { return r.Err == nil && !r.TimedOut && r.ExitCode == 0 }

// String describes the result for logs.
func (r Result) String() string {
	switch {
	case r.Err != nil:
		return r.Err.Error()
	case r.TimedOut:
		return "timed out"
	case r.ExitCode < 0:
		return "killed by a signal"
	}
	return fmt.Sprintf("exit status %d", r.ExitCode)
}

// Run runs c and waits for it. At c.Timeout, or when ctx is done, the
// process group is sent SIGKILL: a check that forked a child which hangs
// does not outlive its timeout.
func Run(ctx context.Context, c Cmd) Result {
	if len(c.Args) == 0 {
		return Result{ExitCode: -1, Err: errors.New("empty command")}
	}
	cmd := exec.Command(c.Args[0], c.Args[1:]...)
	cmd.Env = c.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.Cred}
	if err := cmd.Start(); err != nil {
		return Result{ExitCode: -1, Err: fmt.Errorf("start %s: %w", c.Args[0], err)}
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timeout <-chan time.Time
	if c.Timeout > 0 {
		t := time.NewTimer(c.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var res Result
	select {
	case err := <-done:
		res.ExitCode = exitCode(cmd, err)
		// Children the script left behind die with it, as in keepalived.
		syscall.Kill(-pgid, syscall.SIGKILL)
		return res
	case <-timeout:
		res.TimedOut = true
	case <-ctx.Done():
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-done
	res.ExitCode = -1
	return res
}

func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return -1
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1
	}
	return cmd.ProcessState.ExitCode()
}
