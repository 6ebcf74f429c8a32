//go:build linux

package lvs

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/vm"
)

// vmModules are the modules the guest loads: IPVS and every scheduler.
var vmModules = []string{
	"nf_defrag_ipv4", "nf_defrag_ipv6", "crc32c_generic", "libcrc32c", "nf_conntrack", "ip_vs",
	"ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc", "ip_vs_lblcr", "ip_vs_dh",
	"ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_fo", "ip_vs_ovf", "ip_vs_mh", "dummy",
}

// TestInVM boots Debian's kernel under QEMU and runs this package's
// TestKernel* tests (TANDEM_VM_RUN overrides the pattern) and, when
// TANDEM_VM_BENCH is set, the benchmarks it matches, inside it. The
// guest's output, with the IPVS tables read back there, is this test's
// log.
func TestInVM(t *testing.T) {
	if os.Getenv(inVMEnv) != "" {
		t.Skip("already inside the VM")
	}
	if testing.Short() {
		t.Skip("boots a VM: skipped with -short")
	}
	if err := vm.Available(); err != nil {
		t.Skipf("%v: the IPVS tests need a VM (apt-get install qemu-system-x86 busybox-static)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	share := t.TempDir()
	bin := filepath.Join(share, "lvs.test")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	build := exec.CommandContext(ctx, gobin, "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	k, err := vm.PrepareKernel(ctx, vm.Options{Log: logWriter(t)})
	if err != nil {
		t.Fatal(err)
	}
	initrd, err := k.Initramfs(ctx, vmModules)
	if err != nil {
		t.Fatal(err)
	}
	run := os.Getenv("TANDEM_VM_RUN")
	if run == "" {
		run = "^TestKernel"
	}
	args := []string{"-test.v", "-test.run", shellQuote(run)}
	if b := os.Getenv("TANDEM_VM_BENCH"); b != "" {
		args = append(args, "-test.bench", shellQuote(b), "-test.benchtime", "1x", "-test.benchmem")
	}
	script := inVMEnv + "=1 ./lvs.test " + strings.Join(args, " ") + "\n"
	start := time.Now()
	code, err := vm.Run(ctx, vm.RunOptions{Kernel: k, Initramfs: initrd, Share: share, Script: script, Console: logWriter(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guest %s ran %q in %s", k.Version, script, time.Since(start).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("the in-VM tests failed (exit status %d)", code)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// logWriter sends whole lines to t.Log.
func logWriter(t *testing.T) *lineLogger { return &lineLogger{t: t} }

type lineLogger struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line)
			return len(p), nil
		}
		l.t.Log(strings.TrimRight(line, "\n"))
	}
}
