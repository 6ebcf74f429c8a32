package script

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunTimeoutKillsGroup: at the timeout the whole process group dies,
// including a child the script started in the background.
func TestRunTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child")
	start := time.Now()
	res := Run(context.Background(), Cmd{Args: []string{"/bin/sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"}, Timeout: 200 * time.Millisecond})
	if !res.TimedOut || res.OK() {
		t.Fatalf("result %v, want a timeout", res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run returned after %v", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	deadline := time.Now().Add(2 * time.Second)
	for {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(st), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the script's child %s survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunExitCodes: exit status, no shell (arguments are not expanded),
// and a missing program.
func TestRunExitCodes(t *testing.T) {
	if r := Run(context.Background(), Cmd{Args: []string{"/bin/sh", "-c", "exit 3"}}); r.ExitCode != 3 || r.OK() {
		t.Errorf("exit 3: %+v", r)
	}
	if r := Run(context.Background(), Cmd{Args: []string{"/bin/test", "$HOME", "=", "$HOME"}}); !r.OK() {
		t.Errorf("literal arguments: %+v", r)
	}
	if r := Run(context.Background(), Cmd{Args: []string{"/nonexistent"}}); r.Err == nil {
		t.Errorf("missing program: %+v", r)
	}
}

// TestCheckSecure: a root-owned script in root-owned directories passes;
// one in a directory others can write (without the sticky bit) does not.
func TestCheckSecure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own the files")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "s")
	os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755)
	if err := CheckSecure(p); err != nil {
		t.Errorf("safe script: %v", err)
	}
	os.Chmod(dir, 0o777)
	if err := CheckSecure(p); err == nil {
		t.Error("a script in a world-writable directory passed")
	}
	os.Chmod(dir, 0o777|os.ModeSticky)
	if err := CheckSecure(p); err != nil {
		t.Errorf("sticky directory: %v", err)
	}
	os.Chmod(dir, 0o755)
	os.Chown(p, 65534, 65534)
	if err := CheckSecure(p); err == nil {
		t.Error("a script owned by nobody passed")
	}
}
