package lvs

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-ha/tandem/config"
)

// loadConfig parses a keepalived.conf text with the real parser.
func loadConfig(t testing.TB, text string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, diags := config.Load(p, config.Options{NodeID: "n1"})
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	return c
}

// lines renders a table as ipvsadm-like lines with single spaces.
func lines(t Table) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(t.String()), "\n")[2:] {
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func rsKey(vs, ap string) RealServerKey {
	a := netip.MustParseAddrPort(ap)
	return RealServerKey{VS: vs, Addr: a.Addr(), Port: int(a.Port())}
}
