package checks

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

var bigBody = []byte(strings.Repeat("0123456789abcdef", 3<<16) + "NEEDLE") // 3 MiB + tail

func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello world") })
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "down")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(bigBody) })
	mux.HandleFunc("/host", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.Host) })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "part1")
		w.(http.Flusher).Flush()
		fmt.Fprint(w, "part2")
	})
	return mux
}

func newHTTP(t testing.TB, spec HTTPSpec) *HTTP {
	t.Helper()
	c, err := NewHTTP(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHTTPGetStatusDigestRegex(t *testing.T) {
	srv := httptest.NewServer(testMux())
	defer srv.Close()
	tg := serverTarget(t, srv, 3*time.Second)
	where := tg.String()
	ctx := context.Background()

	for _, tc := range []struct {
		name   string
		urls   []URL
		ok     bool
		reason string
	}{
		{"plain 200", []URL{{Path: "/ok"}}, true, ""},
		{"503 default codes", []URL{{Path: "/health"}}, false, "HTTP 503 from " + where + "/health, want 200-299"},
		{"503 accepted", []URL{{Path: "/health", StatusCodes: []StatusRange{{200, 299}, {503, 503}}}}, true, ""},
		{"302 not followed", []URL{{Path: "/redirect"}}, false, "HTTP 302 from " + where + "/redirect, want 200-299"},
		{"digest ok", []URL{{Path: "/ok", Digest: md5hex([]byte("hello world"))}}, true, ""},
		{"digest upper-case config", []URL{{Path: "/ok", Digest: strings.ToUpper(md5hex([]byte("hello world")))}}, true, ""},
		{"digest mismatch", []URL{{Path: "/ok", Digest: md5hex([]byte("other"))}}, false,
			"digest mismatch for " + where + "/ok: got " + md5hex([]byte("hello world")) + " want " + md5hex([]byte("other"))},
		{"regex match", []URL{{Path: "/ok", Regex: "wor.d"}}, true, ""},
		{"regex miss", []URL{{Path: "/ok", Regex: "^world"}}, false, `regex "^world" did not match body of ` + where + "/ok"},
		{"regex_no_match passes", []URL{{Path: "/ok", Regex: "error", RegexNoMatch: true}}, true, ""},
		{"regex_no_match fails", []URL{{Path: "/ok", Regex: "hello", RegexNoMatch: true}}, false, "matched body"},
		{"regex caseless", []URL{{Path: "/ok", Regex: "HELLO", RegexOptions: []string{"caseless"}}}, true, ""},
		{"regex offsets", []URL{{Path: "/ok", Regex: "o", RegexMinOffset: 5, RegexMaxOffset: 7}}, true, ""},
		{"regex offsets miss", []URL{{Path: "/ok", Regex: "hello", RegexMinOffset: 1}}, false, "did not match"},
		{"all urls must pass", []URL{{Path: "/ok"}, {Path: "/health"}}, false, "HTTP 503"},
		{"big body digest", []URL{{Path: "/big", Digest: md5hex(bigBody)}}, true, ""},
		{"regex beyond 1 MiB not seen", []URL{{Path: "/big", Regex: "NEEDLE"}}, false, "did not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newHTTP(t, HTTPSpec{Target: tg, URLs: tc.urls}).Probe(ctx)
			if r.OK != tc.ok || (tc.reason != "" && !strings.Contains(r.Reason, tc.reason)) {
				t.Fatalf("got %+v, want ok=%v reason %q", r, tc.ok, tc.reason)
			}
		})
	}
}

func TestHTTPChunkedBodyHashedRaw(t *testing.T) {
	// keepalived does not decode chunked bodies; neither do we, so the
	// digest genhash prints stays valid.
	srv := httptest.NewServer(testMux())
	defer srv.Close()
	res, err := Genhash(context.Background(), GenhashRequest{Server: serverTarget(t, srv, 0).ConnectIP, Port: serverTarget(t, srv, 0).ConnectPort, Path: "/chunked", Protocol: HTTP11})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest == md5hex([]byte("part1part2")) {
		t.Fatal("chunked framing was decoded")
	}
	c := newHTTP(t, HTTPSpec{Target: serverTarget(t, srv, 3*time.Second), Protocol: HTTP11, URLs: []URL{{Path: "/chunked", Digest: res.Digest}}})
	if r := c.Probe(context.Background()); !r.OK {
		t.Fatal(r.Reason)
	}
}

func TestHTTPRequestBytes(t *testing.T) {
	reqs := make(chan string, 10)
	s := newRawServer(t, func(c net.Conn) {
		reqs <- string(readRequest(c))
		c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nok"))
	})
	tg := targetOf(t, s.addr(), 3*time.Second)
	for _, tc := range []struct {
		spec HTTPSpec
		want string
	}{
		{HTTPSpec{URLs: []URL{{Path: "/p?q=1"}}},
			"GET /p?q=1 HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: " + s.addr() + "\r\n\r\n"},
		{HTTPSpec{Protocol: HTTP10C, VirtualHost: "www.example.com", URLs: []URL{{Path: "/"}}},
			"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n"},
		{HTTPSpec{Protocol: HTTP11, VirtualHost: "vs.example", URLs: []URL{{Path: "/", VirtualHost: "url.example"}}},
			"GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: url.example\r\n\r\n"},
	} {
		tc.spec.Target = tg
		if r := newHTTP(t, tc.spec).Probe(context.Background()); !r.OK {
			t.Fatal(r.Reason)
		}
		if got := <-reqs; got != tc.want {
			t.Errorf("request\n got %q\nwant %q", got, tc.want)
		}
	}
	// IPv6: the Host header brackets the address.
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer ln6.Close()
	go func() {
		c, err := ln6.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		reqs <- string(readRequest(c))
		c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nok"))
	}()
	if r := newHTTP(t, HTTPSpec{Target: targetOf(t, ln6.Addr().String(), 3*time.Second), URLs: []URL{{Path: "/"}}}).Probe(context.Background()); !r.OK {
		t.Fatal(r.Reason)
	}
	if got, want := <-reqs, "Host: "+ln6.Addr().String()+"\r\n"; !strings.Contains(got, want) {
		t.Errorf("IPv6 request %q lacks %q", got, want)
	}
	// A zone never reaches the Host header.
	if got := string(buildRequest("/", HTTP10, "", mustAddrPort("[fe80::1%eth0]:8080"))); !strings.Contains(got, "Host: [fe80::1]:8080\r\n") {
		t.Errorf("IPv6 request %q", got)
	}
}

func TestHTTPFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("refused", func(t *testing.T) {
		tg := targetOf(t, closedPort(t), time.Second)
		r := newHTTP(t, HTTPSpec{Target: tg, URLs: []URL{{Path: "/"}}}).Probe(ctx)
		if want := "connect " + tg.String() + ": connection refused"; r.OK || r.Reason != want {
			t.Fatalf("got %q want %q", r.Reason, want)
		}
	})
	t.Run("accepts and never answers", func(t *testing.T) {
		tg := targetOf(t, silentServer(t), 300*time.Millisecond)
		r := newHTTP(t, HTTPSpec{Target: tg, URLs: []URL{{Path: "/x"}}}).Probe(ctx)
		if want := "read response from " + tg.String() + "/x: timeout after 300ms"; r.OK || r.Reason != want {
			t.Fatalf("got %q want %q", r.Reason, want)
		}
	})
	t.Run("answers slower than the timeout", func(t *testing.T) {
		s := newRawServer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nstart"))
			time.Sleep(700 * time.Millisecond)
			c.Write([]byte("end"))
		})
		r := newHTTP(t, HTTPSpec{Target: targetOf(t, s.addr(), 300*time.Millisecond), URLs: []URL{{Path: "/"}}}).Probe(ctx)
		if r.OK || !strings.Contains(r.Reason, "timeout after 300ms") {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		tg := targetOf(t, silentServer(t), 0)
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		r := newHTTP(t, HTTPSpec{Target: tg, URLs: []URL{{Path: "/"}}}).Probe(cctx)
		if r.OK || !strings.Contains(r.Reason, "timeout after") {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("closes without a response", func(t *testing.T) {
		s := newRawServer(t, func(c net.Conn) { readRequest(c) })
		tg := targetOf(t, s.addr(), time.Second)
		r := newHTTP(t, HTTPSpec{Target: tg, URLs: []URL{{Path: "/"}}}).Probe(ctx)
		if want := "no HTTP response from " + tg.String() + "/"; r.OK || r.Reason != want {
			t.Fatalf("got %q want %q", r.Reason, want)
		}
	})
	t.Run("garbage status line", func(t *testing.T) {
		s := newRawServer(t, func(c net.Conn) { readRequest(c); c.Write([]byte("SSH-2.0-OpenSSH\r\n\r\n")) })
		r := newHTTP(t, HTTPSpec{Target: targetOf(t, s.addr(), time.Second), URLs: []URL{{Path: "/"}}}).Probe(ctx)
		if r.OK || !strings.Contains(r.Reason, `unreadable HTTP status line "SSH-2.0-OpenSSH"`) {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("endless header", func(t *testing.T) {
		s := newRawServer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.0 200 OK\r\n"))
			line := []byte("X-Pad: " + strings.Repeat("a", 1000) + "\r\n")
			for i := 0; i < 100; i++ {
				if _, err := c.Write(line); err != nil {
					return
				}
			}
		})
		r := newHTTP(t, HTTPSpec{Target: targetOf(t, s.addr(), time.Second), URLs: []URL{{Path: "/"}}}).Probe(ctx)
		if r.OK || !strings.Contains(r.Reason, "response header exceeds") {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("endless body", func(t *testing.T) {
		s := newRawServer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
			junk := []byte(strings.Repeat("x", 64<<10))
			for {
				if _, err := c.Write(junk); err != nil {
					return
				}
			}
		})
		tg := targetOf(t, s.addr(), 300*time.Millisecond)
		r := newHTTP(t, HTTPSpec{Target: tg, URLs: []URL{{Path: "/", Regex: "y"}}}).Probe(ctx)
		if want := "read response from " + tg.String() + "/: timeout after 300ms"; r.OK || r.Reason != want {
			t.Fatalf("got %q want %q", r.Reason, want)
		}
	})
	t.Run("content-length stops the read", func(t *testing.T) {
		// The server keeps the connection open after the body.
		done := make(chan struct{})
		defer close(done)
		s := newRawServer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA"))
			<-done
		})
		r := newHTTP(t, HTTPSpec{Target: targetOf(t, s.addr(), 2*time.Second), URLs: []URL{{Path: "/", Digest: md5hex([]byte("hello"))}}}).Probe(ctx)
		if !r.OK {
			t.Fatalf("%+v", r)
		}
	})
}

func TestNewHTTPRejectsBadSpecs(t *testing.T) {
	for name, spec := range map[string]HTTPSpec{
		"short digest":   {URLs: []URL{{Path: "/", Digest: "abc"}}},
		"bad regex":      {URLs: []URL{{Path: "/", Regex: "("}}},
		"pcre-only":      {URLs: []URL{{Path: "/", Regex: `(?<=a)b`}}},
		"unknown option": {URLs: []URL{{Path: "/", Regex: "a", RegexOptions: []string{"extended"}}}},
		"protocol":       {Protocol: "2.0"},
	} {
		if _, err := NewHTTP(spec); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// tlsServer starts an HTTPS test server that records the SNI it sees.
func tlsServer(t testing.TB) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var snis []string
	srv := httptest.NewUnstartedServer(testMux())
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		snis = append(snis, h.ServerName)
		mu.Unlock()
		return nil, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), snis...) }
}

func TestSSLGet(t *testing.T) {
	srv, snis := tlsServer(t)
	tg := serverTarget(t, srv, 3*time.Second)
	ctx := context.Background()

	// Self-signed certificate: no verification, as in keepalived.
	c := newHTTP(t, HTTPSpec{Target: tg, TLS: true, VirtualHost: "vs.example", URLs: []URL{{Path: "/ok", Digest: md5hex([]byte("hello world"))}}})
	if r := c.Probe(ctx); !r.OK {
		t.Fatal(r.Reason)
	}
	if got := snis(); len(got) != 1 || got[0] != "" {
		t.Fatalf("SNI without enable_sni: %q", got)
	}

	c = newHTTP(t, HTTPSpec{Target: tg, TLS: true, EnableSNI: true, VirtualHost: "vs.example",
		URLs: []URL{{Path: "/host", Regex: "^url.example$"}, {Path: "/host", VirtualHost: "url.example", Regex: "^url.example$"}}})
	r := c.Probe(ctx)
	if r.OK || !strings.Contains(r.Reason, `regex "^url.example$" did not match`) {
		t.Fatalf("first url should fail on Host vs.example: %+v", r)
	}
	if got := snis(); got[len(got)-1] != "vs.example" {
		t.Fatalf("SNI = %q, want vs.example", got)
	}
	c = newHTTP(t, HTTPSpec{Target: tg, TLS: true, EnableSNI: true, VirtualHost: "vs.example",
		URLs: []URL{{Path: "/host", VirtualHost: "url.example", Regex: "^url.example$"}}})
	if r := c.Probe(ctx); !r.OK {
		t.Fatal(r.Reason)
	}
	if got := snis(); got[len(got)-1] != "url.example" {
		t.Fatalf("SNI = %q, want url.example", got)
	}

	// Plain HTTP against the TLS port fails with a readable reason.
	r = newHTTP(t, HTTPSpec{Target: tg, URLs: []URL{{Path: "/ok"}}}).Probe(ctx)
	if r.OK || !strings.Contains(r.Reason, "HTTP 400") {
		t.Fatalf("plain HTTP to TLS port: %+v", r)
	}
	// TLS against a plain HTTP server fails in the handshake.
	plain := httptest.NewServer(testMux())
	defer plain.Close()
	r = newHTTP(t, HTTPSpec{Target: serverTarget(t, plain, time.Second), TLS: true, URLs: []URL{{Path: "/ok"}}}).Probe(ctx)
	if r.OK || !strings.HasPrefix(r.Reason, "TLS handshake with") {
		t.Fatalf("TLS to plain port: %+v", r)
	}
}

func TestSSLGetVerifyPeer(t *testing.T) {
	srv, _ := tlsServer(t)
	tg := serverTarget(t, srv, 3*time.Second)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pem")
	os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte(selfSignedCA(t)), 0o644)

	if r := newHTTP(t, HTTPSpec{Target: tg, TLS: true, SSL: &SSLConfig{CAFile: good, VerifyPeer: true}, URLs: []URL{{Path: "/ok"}}}).Probe(context.Background()); !r.OK {
		t.Fatalf("trusted CA: %+v", r)
	}
	r := newHTTP(t, HTTPSpec{Target: tg, TLS: true, SSL: &SSLConfig{CAFile: bad, VerifyPeer: true}, URLs: []URL{{Path: "/ok"}}}).Probe(context.Background())
	if r.OK || !strings.Contains(r.Reason, "certificate signed by unknown authority") {
		t.Fatalf("untrusted CA: %+v", r)
	}
	// Without VerifyPeer the CA is loaded but not enforced, like keepalived.
	if r := newHTTP(t, HTTPSpec{Target: tg, TLS: true, SSL: &SSLConfig{CAFile: bad}, URLs: []URL{{Path: "/ok"}}}).Probe(context.Background()); !r.OK {
		t.Fatalf("CA without verify: %+v", r)
	}
}

func BenchmarkTCPProbe(b *testing.B) {
	srv := httptest.NewServer(testMux())
	defer srv.Close()
	c := NewTCP(TCPSpec{Target: serverTarget(b, srv, time.Second)})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := c.Probe(ctx); !r.OK {
			b.Fatal(r.Reason)
		}
	}
}

func BenchmarkHTTPProbe(b *testing.B) {
	srv := httptest.NewServer(testMux())
	defer srv.Close()
	c := newHTTP(b, HTTPSpec{Target: serverTarget(b, srv, time.Second), URLs: []URL{{Path: "/ok", Digest: md5hex([]byte("hello world")), Regex: "world"}}})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := c.Probe(ctx); !r.OK {
			b.Fatal(r.Reason)
		}
	}
}
