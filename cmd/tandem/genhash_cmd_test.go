package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fixedServer answers every request with the same bytes, so that two
// clients can be compared byte for byte (no Date header).
func fixedServer(t *testing.T, resp string) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					l, err := br.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				c.Write([]byte(resp))
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

var responseTime = regexp.MustCompile(`= \d+ usecs`)

func TestGenhashMatchesDebianGenhash(t *testing.T) {
	ref, err := exec.LookPath("genhash")
	if err != nil {
		t.Skip("keepalived's genhash is not installed")
	}
	body := strings.Repeat("tandem genhash test body\n", 7)
	port := fixedServer(t, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	notFound := fixedServer(t, "HTTP/1.0 404 Not Found\r\n\r\nno such page\n")
	vhosts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s path=%s ua=%s\n", r.Host, r.URL.Path, r.UserAgent())
	}))
	defer vhosts.Close()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls sni=%s host=%s\n", r.TLS.ServerName, r.Host)
	}))
	tlsSrv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	vport := strconv.Itoa(vhosts.Listener.Addr().(*net.TCPAddr).Port)
	tport := strconv.Itoa(tlsSrv.Listener.Addr().(*net.TCPAddr).Port)

	for _, args := range [][]string{
		{"-s", "127.0.0.1", "-p", strconv.Itoa(port), "-u", "/"},
		{"-s", "127.0.0.1", "-p", strconv.Itoa(notFound), "-u", "/missing"},
		{"-s", "127.0.0.1", "-p", vport, "-u", "/a/b?c=d"},
		{"-s", "127.0.0.1", "-p", vport, "-u", "/", "-V", "www.example"},
		{"-s", "127.0.0.1", "-p", vport, "-u", "/", "-P", "1.1"},
		{"-S", "-s", "127.0.0.1", "-p", tport, "-u", "/tls"},
		{"-S", "-I", "-V", "sni.example", "-s", "127.0.0.1", "-p", tport, "-u", "/tls"},
		{"-v", "-s", "127.0.0.1", "-p", strconv.Itoa(port), "-u", "/"},
		{"-v", "-s", "127.0.0.1", "-p", strconv.Itoa(notFound), "-u", "/missing"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			want, err := exec.Command(ref, args...).Output()
			if err != nil {
				t.Fatalf("genhash: %v", err)
			}
			got, errOut, code := run(t, append([]string{"genhash"}, args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			w := responseTime.ReplaceAllString(string(want), "= N usecs")
			g := responseTime.ReplaceAllString(got, "= N usecs")
			if g != w {
				t.Fatalf("tandem genhash:\n%s\nkeepalived genhash:\n%s", g, w)
			}
			if !strings.Contains(args[0], "-v") && !regexp.MustCompile(`^[0-9a-f]{32}\n$`).MatchString(got) {
				t.Fatalf("want only the 32 hex digits: %q", got)
			}
		})
	}
}

func TestGenhashErrors(t *testing.T) {
	_, errOut, code := run(t, "genhash", "-s", "127.0.0.1", "-u", "/")
	if code != 1 || !strings.Contains(errOut, "-s SERVER, -p PORT and -u URL are required") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ln, _ := net.Listen("tcp4", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, errOut, code = run(t, "genhash", "-s", "127.0.0.1", "-p", strconv.Itoa(port), "-u", "/")
	if code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
