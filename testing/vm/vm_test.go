package vm

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func prepare(t *testing.T) *Kernel {
	t.Helper()
	if testing.Short() {
		t.Skip("downloads and boots a kernel: skipped with -short")
	}
	if err := Available(); err != nil {
		t.Skipf("%v (apt-get install qemu-system-x86 busybox-static)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	k, err := PrepareKernel(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestModulesInDependencyOrder(t *testing.T) {
	k := prepare(t)
	mods, err := k.Modules(context.Background(), []string{"crc32c_generic", "ip_vs_rr", "9p"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	pos := map[string]int{}
	for i, m := range mods {
		names = append(names, m.Name)
		pos[m.Name] = i
	}
	t.Logf("load order: %s", strings.Join(names, " "))
	for _, m := range mods {
		for _, d := range m.Depends {
			if pos[d] >= pos[m.Name] {
				t.Errorf("%s is loaded before its dependency %s", m.Name, d)
			}
		}
	}
	for _, want := range []string{"nf_conntrack", "nf_defrag_ipv4", "nf_defrag_ipv6", "libcrc32c", "ip_vs", "ip_vs_rr", "fscache", "netfs"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s missing from %v", want, names)
		}
	}
	if _, err := k.Modules(context.Background(), []string{"no_such_module"}); err == nil || !strings.Contains(err.Error(), "module no_such_module (needed by the caller) is not in "+k.Version) {
		t.Errorf("unknown module: %v", err)
	}
}

type consoleBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (c *consoleBuf) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.Write(p)
}

func TestRunReportsExitStatusAndConsole(t *testing.T) {
	k := prepare(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	initrd, err := k.Initramfs(ctx, []string{"crc32c_generic", "ip_vs"})
	if err != nil {
		t.Fatal(err)
	}
	var console consoleBuf
	code, err := Run(ctx, RunOptions{Kernel: k, Initramfs: initrd, Share: t.TempDir(), Script: "cat /proc/net/ip_vs\nexit 3\n", Console: &console})
	t.Logf("console:\n%s", console.b.String())
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Errorf("exit status %d, want 3", code)
	}
	if !strings.Contains(console.b.String(), "IP Virtual Server version") {
		t.Error("the guest's /proc/net/ip_vs did not show on the console")
	}
}
