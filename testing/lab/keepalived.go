package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// KeepalivedPath is where Debian installs keepalived (2.2.7 on Debian 12).
const KeepalivedPath = "/usr/sbin/keepalived"

// keepalivedRunDir is where keepalived --namespace NS keeps its pid directory,
// /run/keepalived/NS, bind-mounted on /run/keepalived in a mount namespace of
// its own.
const keepalivedRunDir = "/run/keepalived"

// StartKeepalived runs stock keepalived on host with configuration conf, as
// StartKeepalived of Host does, skipping t when keepalived is not installed
// or when not root, and failing it when keepalived cannot be started.
func StartKeepalived(t testing.TB, host *Host, conf string, extra ...string) *Proc {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab: stock keepalived needs root")
	}
	if _, err := os.Stat(KeepalivedPath); err != nil {
		t.Skipf("lab: stock keepalived not installed (%v); apt-get install keepalived", err)
	}
	p, err := host.StartKeepalived(context.Background(), conf, extra...)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	return p
}

// StartKeepalived writes conf to a fresh directory under the lab's Dir and
// runs keepalived in the foreground in the host's namespace, VRRP only,
// logging in detail to its Proc log:
//
//	keepalived --dont-fork --log-console --log-detail --no-syslog --vrrp
//	  --namespace NS --use-file CONF --pid ... --vrrp_pid ... --checkers_pid ... --bfd_pid ...
//
// extra is appended, e.g. "--check" to run the health checkers too.
// Several keepalived processes on one machine stay apart: each has pid files
// of its own and, through --namespace, a private /run/keepalived (the
// namespace's /run/keepalived/NS outside), where it keeps its reload file.
// Kill the Proc to crash keepalived: its VRRP child dies with it without
// sending a priority 0 advert, and the VIPs stay configured.
func (h *Host) StartKeepalived(ctx context.Context, conf string, extra ...string) (*Proc, error) {
	l := h.lab
	l.mu.Lock()
	l.seq++
	dir := filepath.Join(l.Dir, fmt.Sprintf("%s-keepalived-%d", h.Name, l.seq))
	l.mu.Unlock()
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("host %s: keepalived: %w", h.Name, err)
	}
	confPath := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("host %s: keepalived: %w", h.Name, err)
	}
	argv := []string{KeepalivedPath,
		"--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
		"--namespace", h.NSName,
		"--use-file", confPath,
		"--pid", filepath.Join(dir, "keepalived.pid"),
		"--vrrp_pid", filepath.Join(dir, "vrrp.pid"),
		"--checkers_pid", filepath.Join(dir, "checkers.pid"),
		"--bfd_pid", filepath.Join(dir, "bfd.pid"),
	}
	return h.Start(ctx, append(argv, extra...)...)
}

// removeKeepalivedDir removes the /run/keepalived/NS directory keepalived
// --namespace NS leaves behind when killed.
func removeKeepalivedDir(ns string) {
	os.RemoveAll(filepath.Join(keepalivedRunDir, ns))
}
