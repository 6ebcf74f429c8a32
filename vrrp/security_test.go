package vrrp

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestScriptSecurity: running as root with enable_script_security, a
// script in a directory anyone can write is refused with keepalived's
// message and its instance ignores it; a safe one runs as script_user
// (here as "nobody", checked by the script itself).
func TestScriptSecurity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("script security applies when running as root; run as root")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755) // nobody must reach the script
	unsafeDir := filepath.Join(dir, "open")
	os.Mkdir(unsafeDir, 0o777)
	os.Chmod(unsafeDir, 0o777) // no sticky bit: anyone may replace the script
	bad := writeScript(t, unsafeDir, "fail", "exit 1")
	good := writeScript(t, dir, "uid", `[ "$(id -u)" = 65534 ]`)
	var logs syncBuffer
	m := NewManager(newFakeNetwork(), ManagerOptions{Clock: newFakeClock(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	conf := fmt.Sprintf(`global_defs {
 script_user nobody nogroup
 enable_script_security
}
vrrp_script unsafe { script "%s"
 interval 1
 weight -50 }
vrrp_script as_nobody { script "%s"
 interval 1
 weight 10 }
`, bad, good) + strings.Replace(vi("VI_1", 1, 100, "10.0.0.101"), " advert_int 1\n", " advert_int 1\n track_script {\n  unsafe\n  as_nobody\n }\n", 1)
	if err := m.Start(parseConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	waitPrio(t, m, "VI_1", 110)
	time.Sleep(1500 * time.Millisecond)
	if s, _ := statusOf(m, "VI_1"); s.Priority != 110 {
		t.Errorf("priority %d, want 110: the unsafe script must be ignored, the safe one succeed as nobody", s.Priority)
	}
	if want := "Unsafe permissions found for script '" + bad + "' - disabling."; !strings.Contains(logs.String(), want) {
		t.Errorf("no %q in the log:\n%s", want, logs.String())
	}
}
