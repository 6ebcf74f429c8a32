package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/lvs"
)

// TestDirectorFollowsCheckers runs real TCP_CHECKs against real listeners
// and watches the (fake) IPVS table follow them: a dead listener's real
// server leaves the table, an inhibited one stays with weight 0, and both
// come back with their listeners.
func TestDirectorFollowsCheckers(t *testing.T) {
	l1, l2 := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	p1, p2 := l1.Addr().(*net.TCPAddr).Port, l2.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	marker := filepath.Join(dir, "down")
	src := fmt.Sprintf(`virtual_server 10.250.0.1 80 {
    delay_loop 0.2
    lb_algo rr
    real_server 127.0.0.1 80 {
        TCP_CHECK {
            connect_port %d
            connect_timeout 0.5
            retry 0
            warmup 0
        }
        notify_down "/bin/sh -c 'touch %s'"
    }
    real_server 127.0.0.2 80 {
        inhibit_on_failure
        weight 3
        TCP_CHECK {
            connect_ip 127.0.0.1
            connect_port %d
            connect_timeout 0.5
            retry 0
            warmup 0
        }
    }
}
`, p1, marker, p2)
	cfg, diags := config.Parse("d.conf", []byte(src), config.Options{NodeID: "n1"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fake := lvs.NewFakeHandle()
	d := NewDirector(DirectorOptions{OpenKernel: func() (lvs.Handle, error) { return fake, nil }})
	d.Start(context.Background())
	if err := d.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	weights := func() string {
		svcs, _ := fake.Services()
		var parts []string
		for _, s := range svcs {
			for _, dst := range s.Dests {
				parts = append(parts, fmt.Sprintf("%s=%d", dst.Addr, dst.Weight))
			}
		}
		return strings.Join(parts, " ")
	}
	eventually(t, 5*time.Second, "both real servers in IPVS", want(weights, "127.0.0.1=1 127.0.0.2=3"))

	l1.Close()
	l2.Close()
	eventually(t, 5*time.Second, "the dead server removed, the inhibited one at weight 0", want(weights, "127.0.0.2=0"))
	eventually(t, 5*time.Second, "notify_down ran", func() error { _, err := os.Stat(marker); return err })

	listen(t, fmt.Sprintf("127.0.0.1:%d", p1))
	listen(t, fmt.Sprintf("127.0.0.1:%d", p2))
	eventually(t, 5*time.Second, "both back", want(weights, "127.0.0.1=1 127.0.0.2=3"))

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if w := weights(); w != "" {
		t.Errorf("Stop must release the entries tandem owns, table still has %s", w)
	}
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l
}

// want is a condition for eventually: get() must return w.
func want(get func() string, w string) func() error {
	return func() error {
		if got := get(); got != w {
			return fmt.Errorf("have %q, want %q", got, w)
		}
		return nil
	}
}
