package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// checkServers starts an HTTP server answering /ok with 200 and
// /broken with 503, and finds a port nobody listens on.
func checkServers(t *testing.T) (httpPort, closedPort int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			w.WriteHeader(503)
		}
		fmt.Fprintln(w, "hello")
	}))
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return srv.Listener.Addr().(*net.TCPAddr).Port, closedPort
}

func writeChecksConf(t *testing.T, httpPort, closedPort int) string {
	t.Helper()
	conf := fmt.Sprintf(`virtual_server 10.0.0.1 80 {
    delay_loop 1
    real_server 127.0.0.1 %[1]d {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
        HTTP_GET {
            url {
                path /ok
            }
        }
    }
    real_server 127.0.0.1 %[2]d {
        TCP_CHECK {
            connect_timeout 1
            retry 2
            delay_before_retry 0.1
        }
    }
}
virtual_server 10.0.0.1 81 {
    real_server 127.0.0.1 %[1]d {
        HTTP_GET {
            retry 0
            url {
                path /broken
            }
        }
    }
}
`, httpPort, closedPort)
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestChecksCommandRows(t *testing.T) {
	hp, cp := checkServers(t)
	conf := writeChecksConf(t, hp, cp)
	out, errOut, code := run(t, "checks", "-f", conf)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		`^VIRTUAL SERVER +REAL SERVER +STATE +WEIGHT +CHECKER +LAST CHANGE +REASON$`,
		// Up: the checker that changed last, either of the two.
		fmt.Sprintf(`^\[10.0.0.1\]:tcp:80 +\[127.0.0.1\]:%[1]d +UP +3 +(HTTP_GET %[2]s:8 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +HTTP 200 from 127.0.0.1:%[1]d/ok|TCP_CHECK %[2]s:5 +\S+ \S+ +connected to 127.0.0.1:%[1]d)$`, hp, regexp.QuoteMeta(conf)),
		fmt.Sprintf(`^\[10.0.0.1\]:tcp:80 +\[127.0.0.1\]:%d +DOWN +1 +TCP_CHECK %s:15 +\S+ \S+ +connect 127.0.0.1:%d: connection refused$`, cp, regexp.QuoteMeta(conf), cp),
		fmt.Sprintf(`^\[10.0.0.1\]:tcp:81 +\[127.0.0.1\]:%d +DOWN +1 +HTTP_GET %s:24 +\S+ \S+ +HTTP 503 from 127.0.0.1:%d/broken, want 200-299$`, hp, regexp.QuoteMeta(conf), hp),
	}
	if len(lines) != len(want) {
		t.Fatalf("got:\n%s", out)
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %d:\n%s\nwant %s", i, lines[i], w)
		}
	}
}

func TestChecksCommandJSON(t *testing.T) {
	hp, cp := checkServers(t)
	out, _, code := run(t, "checks", "-f", writeChecksConf(t, hp, cp), "--json")
	var rows []checkRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if len(rows) != 3 || rows[0].State != "UP" || rows[1].State != "DOWN" || rows[2].State != "DOWN" ||
		len(rows[0].Checkers) != 2 || rows[1].Checkers[0].Attempts != 3 || rows[2].CheckerType != "HTTP_GET" {
		t.Fatalf("%+v", rows)
	}
}

func TestChecksCommandWatch(t *testing.T) {
	hp, cp := checkServers(t)
	cmd := exec.Command(tandemBinary(t), "checks", "-f", writeChecksConf(t, hp, cp), "--watch", "--json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	events := make(chan watchEvent)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev watchEvent
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				events <- ev
			}
		}
		close(events)
	}()
	seen := map[string]watchEvent{}
	timeout := time.After(10 * time.Second)
	for len(seen) < 4 { // TCP and HTTP of the first, one each for the others
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("checks --watch ended")
			}
			seen[ev.VirtualServer+ev.RealServer+ev.CheckerType] = ev
		case <-timeout:
			t.Fatalf("only saw %+v", seen)
		}
	}
	down := seen[fmt.Sprintf("[10.0.0.1]:tcp:80[127.0.0.1]:%dTCP_CHECK", cp)]
	if down.State != "DOWN" || down.Attempts != 3 || down.Reason != fmt.Sprintf("connect 127.0.0.1:%d: connection refused", cp) {
		t.Fatalf("%+v", down)
	}
	// SIGINT ends it cleanly.
	cmd.Process.Signal(os.Interrupt)
	go io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGINT: %v", err)
	}
}

func TestChecksCommandConfigErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(path, []byte(`virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        HTTP_GET {
            url {
                path /
                regex_options extended
                regex x
            }
        }
    }
}
`), 0o644)
	_, errOut, code := run(t, "checks", "-f", path)
	if code != 1 || !strings.Contains(errOut, path+`:3: HTTP_GET of real_server [10.0.0.2]:80 in virtual_server [10.0.0.1]:tcp:80: url /: regex option "extended" is not supported`) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_ = context.Background
}
