package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/config/configtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// tandemBinary builds the tandem command once per test run.
func tandemBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tandem-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tandem")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building tandem: %v", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(tandemBinary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestCheckConfigExitCodes(t *testing.T) {
	_, stderr, code := run(t, "check-config", "-f", "../../config/testdata/valid/full.conf", "-i", "n1")
	if code != 0 {
		t.Fatalf("valid config: exit %d\n%s", code, stderr)
	}
	bad, _ := filepath.Glob("../../config/testdata/invalid/*.conf")
	for _, f := range bad {
		_, stderr, code := run(t, "check-config", "-f", f)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", f, code)
		}
		first := strings.SplitN(stderr, "\n", 2)[0]
		if !strings.Contains(first, ".conf:") {
			t.Errorf("%s: first line %q is not FILE:LINE: message", f, first)
		}
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
			t.Errorf("%s: crashed:\n%s", f, stderr)
		}
	}
	// A typo is a warning, and an error with --strict.
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.conf")
	os.WriteFile(typo, []byte("global_defs {\n    router_idd x\n}\n"), 0o644)
	_, stderr, code = run(t, "check-config", "-f", typo)
	if code != 0 || !strings.Contains(stderr, `typo.conf:2: warning: unknown keyword "router_idd" in global_defs (did you mean "router_id"?)`) {
		t.Errorf("typo: exit %d\n%s", code, stderr)
	}
	if _, _, code = run(t, "check-config", "--strict", "-f", typo); code != 1 {
		t.Errorf("typo with --strict: exit %d, want 1", code)
	}
	if _, stderr, code = run(t, "check-config", "-f", filepath.Join(dir, "missing.conf")); code != 1 || !strings.Contains(stderr, "missing.conf") {
		t.Errorf("missing file: exit %d\n%s", code, stderr)
	}
}

func TestDumpConfig(t *testing.T) {
	out, stderr, code := run(t, "dump-config", "-f", "../../config/testdata/valid/security.conf")
	if code != 0 || !strings.Contains(out, "vrrp_instance VI_SEC {") || !strings.Contains(out, "    priority 100\n") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	out, _, code = run(t, "dump-config", "--json", "-f", "../../config/testdata/valid/security.conf")
	if code != 0 || !strings.Contains(out, `"VirtualRouterID": 9`) {
		t.Fatalf("json: exit %d\n%s", code, out)
	}
	out, _, _ = run(t, "--help")
	for _, c := range []string{"check-config", "dump-config", "version"} {
		if !strings.Contains(out, c) {
			t.Errorf("--help does not list %s", c)
		}
	}
}

// BenchmarkCheckConfig times "tandem check-config" and "keepalived -t" on
// the same generated configuration (1,000 virtual servers × 10 real
// servers with HTTP_GET, 50 VRRP instances), both as processes, and
// reports their ratio.
func BenchmarkCheckConfig(b *testing.B) {
	dir := b.TempDir()
	conf := filepath.Join(dir, "large.conf")
	if err := os.WriteFile(conf, []byte(configtest.Generate(configtest.Large)), 0o644); err != nil {
		b.Fatal(err)
	}
	bin := tandemBinary(b)
	var tandem, ka time.Duration
	haveKA := false
	if _, err := exec.LookPath("keepalived"); err == nil && os.Geteuid() == 0 {
		haveKA = true
	}
	n := 0
	for b.Loop() {
		start := time.Now()
		if out, err := exec.Command(bin, "check-config", "-f", conf).CombinedOutput(); err != nil {
			b.Fatalf("tandem check-config: %v\n%s", err, out)
		}
		tandem += time.Since(start)
		if haveKA {
			script := "for i in 0 1 2 3; do ip link add eth$i type veth peer name p$i; ip link set eth$i up; done; t0=$(date +%s%N); keepalived -t -l -D -n -f " + conf + " >/dev/null 2>&1; rc=$?; t1=$(date +%s%N); echo $((t1-t0)) $rc"
			out, err := exec.Command("unshare", "--net", "--mount", "sh", "-c", script).Output()
			if err != nil {
				b.Fatalf("keepalived -t: %v", err)
			}
			var ns, rc int64
			if _, err := fmt.Sscan(string(out), &ns, &rc); err != nil || rc != 0 {
				b.Fatalf("keepalived -t: %q", out)
			}
			ka += time.Duration(ns)
		}
		n++
	}
	b.ReportMetric(float64(tandem.Milliseconds())/float64(n), "tandem-ms")
	if haveKA {
		b.ReportMetric(float64(ka.Milliseconds())/float64(n), "keepalived-ms")
		b.ReportMetric(float64(tandem)/float64(ka), "ratio")
	}
}
