package checks

import (
	"context"
	"net"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const genhashBin = "/usr/bin/genhash"

func needGenhash(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(genhashBin); err != nil {
		t.Skip("keepalived's genhash is not installed")
	}
}

// runGenhash runs keepalived's genhash and returns its digest line.
func runGenhash(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, genhashBin, append([]string{"-t", "5"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("genhash %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func genhashArgs(tg Target, path string, extra ...string) []string {
	return append([]string{"-s", tg.ConnectIP.String(), "-p", strconv.Itoa(int(tg.ConnectPort)), "-u", path}, extra...)
}

func TestGenhashMatchesKeepalived(t *testing.T) {
	needGenhash(t)
	plain := httptest.NewServer(testMux())
	defer plain.Close()
	secure, snis := tlsServer(t)
	ctx := context.Background()

	for _, tc := range []struct {
		name  string
		srv   *httptest.Server
		path  string
		req   GenhashRequest
		extra []string
	}{
		{"small", plain, "/ok", GenhashRequest{}, nil},
		{"503 hashed anyway", plain, "/health", GenhashRequest{}, nil},
		{"3 MiB", plain, "/big", GenhashRequest{}, nil},
		{"chunked 1.1", plain, "/chunked", GenhashRequest{Protocol: HTTP11}, []string{"-P", "1.1"}},
		{"virtualhost", plain, "/host", GenhashRequest{VirtualHost: "v.example"}, []string{"-V", "v.example"}},
		{"https", secure, "/ok", GenhashRequest{TLS: true}, []string{"-S"}},
		{"https big", secure, "/big", GenhashRequest{TLS: true}, []string{"-S"}},
		{"https sni", secure, "/host", GenhashRequest{TLS: true, SNI: true, VirtualHost: "sni.example"}, []string{"-S", "-I", "-V", "sni.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := serverTarget(t, tc.srv, 0)
			want := runGenhash(t, genhashArgs(tg, tc.path, tc.extra...)...)
			req := tc.req
			req.Server, req.Port, req.Path = tg.ConnectIP, tg.ConnectPort, tc.path
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			got, err := Genhash(cctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != want {
				t.Fatalf("digest %s, keepalived genhash %s", got.Digest, want)
			}
			if got.Status == 0 || len(got.Header) == 0 || got.Elapsed <= 0 {
				t.Errorf("result %+v", got)
			}
		})
	}
	if got := snis(); !containsStr(got, "sni.example") {
		t.Errorf("SNI seen by server: %q", got)
	}
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestGenhashRequestBytesMatchKeepalived(t *testing.T) {
	needGenhash(t)
	reqs := make(chan string, 4)
	s := newRawServer(t, func(c net.Conn) {
		reqs <- string(readRequest(c))
		c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	})
	tg := targetOf(t, s.addr(), 0)
	for _, tc := range []struct {
		req   GenhashRequest
		extra []string
	}{
		{GenhashRequest{}, nil},
		{GenhashRequest{VirtualHost: "www.example.com"}, []string{"-V", "www.example.com"}},
		{GenhashRequest{Protocol: "1.0c"}, []string{"-P", "1.0c"}},
		{GenhashRequest{Protocol: HTTP11, VirtualHost: "h"}, []string{"-P", "1.1", "-V", "h"}},
	} {
		path := "/a/b?c=d"
		runGenhash(t, genhashArgs(tg, path, tc.extra...)...)
		want := <-reqs
		req := tc.req
		req.Server, req.Port, req.Path = tg.ConnectIP, tg.ConnectPort, path
		res, err := Genhash(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		got := <-reqs
		if got != want || string(res.Request) != want {
			t.Errorf("genhash %v:\n tandem %q\n keepalived %q", tc.extra, got, want)
		}
		// The checker sends the same bytes for the same options.
		c := newHTTP(t, HTTPSpec{Target: Target{ConnectIP: tg.ConnectIP, ConnectPort: tg.ConnectPort, Timeout: 2 * time.Second},
			Protocol: req.Protocol, VirtualHost: req.VirtualHost, URLs: []URL{{Path: path}}})
		if r := c.Probe(context.Background()); !r.OK {
			t.Fatal(r.Reason)
		}
		if got := <-reqs; got != want {
			t.Errorf("checker %v:\n tandem %q\n keepalived %q", tc.extra, got, want)
		}
	}
}

func TestGenhashErrors(t *testing.T) {
	ctx := context.Background()
	tg := targetOf(t, closedPort(t), 0)
	if _, err := Genhash(ctx, GenhashRequest{Server: tg.ConnectIP, Port: tg.ConnectPort, Path: "/"}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("refused: %v", err)
	}
	s := newRawServer(t, func(c net.Conn) { readRequest(c) })
	tg = targetOf(t, s.addr(), 0)
	if _, err := Genhash(ctx, GenhashRequest{Server: tg.ConnectIP, Port: tg.ConnectPort, Path: "/"}); err == nil || err.Error() != "no data received from remote webserver" {
		t.Errorf("empty: %v", err)
	}
	tg = targetOf(t, silentServer(t), 0)
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := Genhash(cctx, GenhashRequest{Server: tg.ConnectIP, Port: tg.ConnectPort, Path: "/"}); err == nil || !strings.Contains(err.Error(), "timeout after") {
		t.Errorf("silent: %v", err)
	}
}
