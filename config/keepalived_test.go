package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// keepalivedCheck runs Debian's keepalived in config-test mode on file,
// inside a throwaway network namespace holding an interface for every
// interface the configuration names (keepalived -t rejects configurations
// that name interfaces the host lacks). It returns keepalived's exit code
// and output.
func keepalivedCheck(t *testing.T, file string, ifaces []string) (int, string) {
	t.Helper()
	var script strings.Builder
	script.WriteString("set -e\nip link set lo up\n")
	// This kernel has no dummy module; a veth pair per name does as well.
	for n, i := range append([]string{"eth0"}, ifaces...) {
		fmt.Fprintf(&script, "ip link add %q type veth peer name tdpeer%d 2>/dev/null || true\nip link set %q up 2>/dev/null || true\n", i, n, i)
	}
	fmt.Fprintf(&script, "set +e\nkeepalived -t -l -D -n -f %q 2>&1\n", file)
	cmd := exec.Command("unshare", "--net", "--mount", "sh", "-c", script.String()+"exit $?")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running keepalived -t: %v", err)
	}
	return code, string(out)
}

func needKeepalived(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("keepalived -t in a network namespace needs root")
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed (apt-get install keepalived)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare is not installed")
	}
}

// TestKeepalivedAcceptsRendered checks that Debian's keepalived 2.2.7
// accepts tandem's rendering of every sample and testdata file that it
// accepts as written.
func TestKeepalivedAcceptsRendered(t *testing.T) {
	needKeepalived(t)
	files, _ := filepath.Glob(filepath.Join(samplesDir, "keepalived.conf.*"))
	td, _ := filepath.Glob("testdata/valid/*.conf")
	files = append(files, td...)
	if len(files) == 0 {
		t.Skip("no configurations to check")
	}
	for _, f := range files {
		for _, id := range nodeIDsFor(f) {
			t.Run(filepath.Base(f)+"@"+id, func(t *testing.T) {
				c, diags := Load(f, Options{NodeID: id, RandomSeed: 1})
				if diags.HasErrors() {
					t.Fatalf("errors:\n%s", diags.Errors())
				}
				rendered := filepath.Join(t.TempDir(), "rendered.conf")
				if err := os.WriteFile(rendered, []byte(Render(c)), 0o644); err != nil {
					t.Fatal(err)
				}
				ifaces := c.Interfaces()
				// keepalived -t has no -i, so compare like with like: the
				// original is checked with its conditional lines resolved
				// the same way (by rendering the raw selection of lines).
				origCode, origOut := keepalivedCheck(t, f, ifaces)
				code, out := keepalivedCheck(t, rendered, ifaces)
				if id != "default-node" {
					origCode = 0 // the original cannot be checked for another node id
				}
				// Exit 6 is keepalived refusing to run root scripts without
				// enable_script_security: a policy verdict, not a syntax one.
				accepted := func(c int) bool { return c == 0 || c == 6 }
				if accepted(origCode) && code != origCode {
					text, _ := os.ReadFile(rendered)
					t.Fatalf("keepalived accepts the original but rejects the rendering (exit %d):\n%s\nrendered:\n%s", code, out, text)
				}
				if strings.HasPrefix(f, "testdata/") && !accepted(origCode) {
					t.Fatalf("keepalived rejects tandem's own testdata %s (exit %d):\n%s", f, origCode, origOut)
				}
				t.Logf("keepalived -t: original exit %d, rendered exit %d", origCode, code)
			})
		}
	}
}
