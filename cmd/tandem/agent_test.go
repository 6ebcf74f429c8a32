package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// agentProc is a `tandem agent` started by a test.
type agentProc struct {
	cmd     *exec.Cmd
	out     *strings.Builder
	done    chan struct{}
	dataDir string
}

func startAgent(t *testing.T, conf, dataDir string, extra ...string) *agentProc {
	t.Helper()
	bin := tandemBinary(t)
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd := exec.Command(bin, append([]string{"agent", "-f", path, "--data-dir", dataDir}, extra...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &agentProc{cmd: cmd, out: &out, done: make(chan struct{}), dataDir: dataDir}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the agent to exit and returns its exit code.
func (p *agentProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatalf("agent still running after 10s:\n%s", p.out)
		return -1
	}
}

// waitPid waits until the agent has written its pid file.
func (p *agentProc) waitPid(t *testing.T) {
	t.Helper()
	path := filepath.Join(p.dataDir, "tandem.pid")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(p.cmd.Process.Pid) {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("agent exited: %s", p.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid file %s after 10s:\n%s", path, p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An agent with no vrrp_instance needs no privileges, so these tests run
// anywhere.
const emptyConf = "global_defs {\n    router_id test\n}\n"

func TestAgentConfigErrorExits1WithFileLine(t *testing.T) {
	t.Parallel()
	p := startAgent(t, "global_defs {\n    router_id x\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 300\n    priority 100\n}\n", t.TempDir())
	if code := p.wait(t); code != 1 {
		t.Fatalf("exit code %d, want 1:\n%s", code, p.out)
	}
	if !strings.Contains(p.out.String(), "keepalived.conf:6:") {
		t.Errorf("output does not point at keepalived.conf:6:\n%s", p.out)
	}
}

func TestAgentSIGTERMExits0AndRemovesPidFile(t *testing.T) {
	t.Parallel()
	p := startAgent(t, emptyConf, t.TempDir())
	p.waitPid(t)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0:\n%s", code, p.out)
	}
	if _, err := os.Stat(filepath.Join(p.dataDir, "tandem.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

func TestAgentStalePidFileDoesNotBlock(t *testing.T) {
	t.Parallel()
	// A pid that is dead, and one that is alive but not tandem.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	sleep := exec.CommandContext(context.Background(), "sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	for name, pid := range map[string]int{"dead": dead.Process.Pid, "not tandem": sleep.Process.Pid} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "tandem.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644)
			p := startAgent(t, emptyConf, dir)
			p.waitPid(t)
		})
	}
}

func TestAgentSecondAgentOnSameDataDirRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := startAgent(t, emptyConf, dir)
	a.waitPid(t)
	b := startAgent(t, emptyConf, dir)
	if code := b.wait(t); code != 1 || !strings.Contains(b.out.String(), "another tandem agent") {
		t.Fatalf("second agent on the same data dir: exit %d:\n%s", code, b.out)
	}
	// Another data dir: no collision.
	c := startAgent(t, emptyConf, t.TempDir())
	c.waitPid(t)
	select {
	case <-a.done:
		t.Fatalf("first agent exited: %s", a.out)
	default:
	}
}

func TestAgentPidFileFlag(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "custom.pid")
	p := startAgent(t, emptyConf, t.TempDir(), "--pid-file", pidFile)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(p.cmd.Process.Pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s:\n%s", pidFile, p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentRestartAfterSIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := startAgent(t, emptyConf, dir)
	a.waitPid(t)
	a.cmd.Process.Kill()
	<-a.done
	b := startAgent(t, emptyConf, dir) // the killed agent's pid file is still there
	b.waitPid(t)
}

// TestAgentRunsCheckersAndReportsMissingIPVS runs an agent whose
// configuration has a virtual server on this host, whose kernel has no
// IPVS: the agent stays up, says why IPVS is not programmed, and the
// version still counts as applied (VRRP and the checkers run it).
func TestAgentRunsCheckersAndReportsMissingIPVS(t *testing.T) {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("this kernel has IPVS; the VM tests cover programming it")
	}
	conf := `virtual_server 10.250.9.1 80 {
    delay_loop 1
    real_server 127.0.0.1 1 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
            warmup 0
        }
    }
}
`
	p := startAgent(t, conf, t.TempDir())
	p.waitPid(t)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.out.String(), "kernel has no IPVS") {
		if time.Now().After(deadline) {
			t.Fatalf("the agent does not say IPVS is missing:\n%s", p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for !strings.Contains(p.out.String(), "config version applied") {
		if time.Now().After(deadline) {
			t.Fatalf("the version is not applied:\n%s", p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.out)
	}
	// -C alone with no IPVS behaves the same; -P alone never opens IPVS.
	p = startAgent(t, conf, t.TempDir(), "--vrrp")
	p.waitPid(t)
	time.Sleep(300 * time.Millisecond)
	if strings.Contains(p.out.String(), "kernel has no IPVS") {
		t.Errorf("--vrrp must not touch IPVS:\n%s", p.out)
	}
}
