package checks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func runMisc(t *testing.T, spec MiscSpec) Result {
	t.Helper()
	m, err := NewMisc(spec)
	if err != nil {
		t.Fatal(err)
	}
	return m.Probe(context.Background())
}

func TestSplitArgs(t *testing.T) {
	for in, want := range map[string][]string{
		"/bin/x a b":              {"/bin/x", "a", "b"},
		"  /bin/x   'a b'  c ":    {"/bin/x", "a b", "c"},
		`/bin/x "a 'b" c`:         {"/bin/x", "a 'b", "c"},
		`/bin/x pre'fix x'post`:   {"/bin/x", "prefix xpost"},
		`/bin/x a\ b`:             {"/bin/x", "a b"},
		`/bin/x '\x41\101\t' \cA`: {"/bin/x", "AA\t", "\x01"},
		`/bin/x ''`:               {"/bin/x", ""},
	} {
		got, err := SplitArgs(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`/bin/x 'open`, `/bin/x "open`, `/bin/x \`} {
		if _, err := SplitArgs(bad); err == nil {
			t.Errorf("SplitArgs(%q): no error", bad)
		}
	}
	if _, err := NewMisc(MiscSpec{Path: "   "}); err == nil {
		t.Error("empty misc_path accepted")
	}
}

func TestMiscExitStatus(t *testing.T) {
	dir := t.TempDir()
	exit := script(t, dir, "exit.sh", `echo "checking $1"; exit "$1"`)

	if r := runMisc(t, MiscSpec{Path: exit + " 0"}); !r.OK || r.Weight != nil {
		t.Errorf("exit 0: %+v", r)
	}
	r := runMisc(t, MiscSpec{Path: exit + " 1"})
	if r.OK || r.Reason != "MISC_CHECK "+exit+" exited 1: checking 1" {
		t.Errorf("exit 1: %+v", r)
	}
	if r := runMisc(t, MiscSpec{Path: exit + " 12"}); r.OK {
		t.Errorf("exit 12 without misc_dynamic should fail: %+v", r)
	}
}

func TestMiscDynamicWeights(t *testing.T) {
	exit := script(t, t.TempDir(), "exit.sh", `exit "$1"`)
	for _, tc := range []struct {
		code   int
		ok     bool
		weight int // -1: nil
	}{
		{0, true, -1}, {1, false, -1}, {2, true, 0}, {12, true, 10}, {255, true, 253},
	} {
		r := runMisc(t, MiscSpec{Path: exit + " " + strconv.Itoa(tc.code), Dynamic: true})
		if r.OK != tc.ok {
			t.Errorf("exit %d: %+v", tc.code, r)
			continue
		}
		switch {
		case tc.weight < 0 && r.Weight != nil:
			t.Errorf("exit %d: weight %d, want none", tc.code, *r.Weight)
		case tc.weight >= 0 && (r.Weight == nil || *r.Weight != tc.weight):
			t.Errorf("exit %d: weight %v, want %d", tc.code, r.Weight, tc.weight)
		}
	}
}

func TestMiscArgumentsWithoutShell(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	s := script(t, dir, "args.sh", `for a in "$@"; do echo "[$a]"; done > "$OUT"`)
	t.Setenv("OUT", out)
	r := runMisc(t, MiscSpec{Path: s + ` 'a b' "$HOME" ;`})
	if !r.OK {
		t.Fatal(r.Reason)
	}
	got, _ := os.ReadFile(out)
	if want := "[a b]\n[$HOME]\n[;]\n"; string(got) != want {
		t.Errorf("arguments = %q, want %q", got, want)
	}
}

func TestMiscMissingProgram(t *testing.T) {
	r := runMisc(t, MiscSpec{Path: "/nonexistent/check --x"})
	if r.OK || !strings.Contains(r.Reason, "no such file or directory") {
		t.Errorf("%+v", r)
	}
}

func TestMiscSignal(t *testing.T) {
	s := script(t, t.TempDir(), "sig.sh", `kill -9 $$`)
	if r := runMisc(t, MiscSpec{Path: s}); r.OK || !strings.Contains(r.Reason, "killed by signal killed") {
		t.Errorf("%+v", r)
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	for i := 0; i < 100; i++ {
		b, _ := os.ReadFile(path)
		if pid, _ = strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

func TestMiscTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "grandchild")
	// The grandchild ignores SIGTERM, so only the group SIGKILL ends it.
	s := script(t, dir, "hang.sh", `sh -c 'trap "" TERM; echo $$ > `+pidfile+`; exec sleep 300' &
sleep 300`)
	start := time.Now()
	r := runMisc(t, MiscSpec{Path: s, Timeout: 300 * time.Millisecond, KillGrace: 500 * time.Millisecond})
	if r.OK || r.Reason != "MISC_CHECK "+s+" killed after misc_timeout 300ms" {
		t.Fatalf("%+v", r)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("probe took %v", el)
	}
	gc := readPid(t, pidfile)
	t.Cleanup(func() { syscall.Kill(gc, syscall.SIGKILL) })
	deadline := time.Now().Add(5 * time.Second)
	for alive(gc) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(gc) {
		t.Fatalf("grandchild %d survived the timeout", gc)
	}
}

func TestMiscStubbornScriptGetsSIGKILL(t *testing.T) {
	s := script(t, t.TempDir(), "stubborn.sh", `trap "" TERM; while :; do sleep 0.05; done`)
	r := runMisc(t, MiscSpec{Path: s, Timeout: 200 * time.Millisecond, KillGrace: 200 * time.Millisecond})
	if r.OK || !strings.Contains(r.Reason, "killed after misc_timeout 200ms") {
		t.Fatalf("%+v", r)
	}
}

func TestMiscContextCancelKills(t *testing.T) {
	s := script(t, t.TempDir(), "hang.sh", `sleep 300`)
	m, _ := NewMisc(MiscSpec{Path: s})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if r := m.Probe(ctx); r.OK || !strings.Contains(r.Reason, "killed: context deadline exceeded") {
		t.Fatalf("%+v", r)
	}
}

func TestMiscBackgroundChildHoldingPipe(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "bg")
	s := script(t, dir, "bg.sh", `sleep 300 &
echo $! > `+pidfile+`
echo done
exit 0`)
	start := time.Now()
	r := runMisc(t, MiscSpec{Path: s, Timeout: 30 * time.Second})
	bg := readPid(t, pidfile)
	t.Cleanup(func() { syscall.Kill(bg, syscall.SIGKILL) })
	if !r.OK {
		t.Fatalf("%+v", r)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("probe waited %v for a background child holding the pipe", el)
	}
}

func TestMiscRunsAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch user")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir makes its parent 0700
	s := script(t, dir, "who.sh", `[ "$(id -u)" = "$1" ] && [ "$(id -g)" = "$2" ] || { echo "uid $(id -u) gid $(id -g)"; exit 1; }`)
	if r := runMisc(t, MiscSpec{Path: s + " 65534 65534", User: "nobody", Group: "nogroup"}); !r.OK {
		t.Errorf("nobody/nogroup: %+v", r)
	}
	if r := runMisc(t, MiscSpec{Path: s + " 65534 0", User: "65534", Group: "0"}); !r.OK {
		t.Errorf("numeric ids: %+v", r)
	}
	if r := runMisc(t, MiscSpec{Path: s + " 0 0", User: "no-such-user-x"}); r.OK || !strings.Contains(r.Reason, "no-such-user-x") {
		t.Errorf("unknown user: %+v", r)
	}
}
