package checks

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"
)

// targetOf returns a Target for a test server URL or address.
func targetOf(t testing.TB, hostport string, timeout time.Duration) Target {
	t.Helper()
	if u, err := url.Parse(hostport); err == nil && u.Host != "" {
		hostport = u.Host
	}
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	return Target{ConnectIP: ap.Addr(), ConnectPort: ap.Port(), Timeout: timeout}
}

func serverTarget(t testing.TB, s *httptest.Server, timeout time.Duration) Target {
	return targetOf(t, s.URL, timeout)
}

// rawServer accepts TCP connections on 127.0.0.1 and hands each to fn.
type rawServer struct {
	ln net.Listener
	wg sync.WaitGroup
}

func newRawServer(t testing.TB, fn func(net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				fn(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *rawServer) addr() string { return s.ln.Addr().String() }

// readRequest reads up to the end of an HTTP request header.
func readRequest(c net.Conn) []byte {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf []byte
	b := make([]byte, 1024)
	for !bytes.Contains(buf, []byte("\r\n\r\n")) {
		n, err := c.Read(b)
		buf = append(buf, b[:n]...)
		if err != nil {
			break
		}
	}
	return buf
}

// closedPort returns a 127.0.0.1 TCP port nobody listens on.
func closedPort(t testing.TB) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// silentServer accepts connections and never writes; it holds them until
// the test ends.
func silentServer(t testing.TB) string {
	done := make(chan struct{})
	s := newRawServer(t, func(c net.Conn) {
		io.Copy(io.Discard, c)
		<-done
	})
	t.Cleanup(func() { close(done) })
	return s.addr()
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// selfSignedCA returns a PEM CA certificate unrelated to any test server.
func selfSignedCA(t testing.TB) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "unrelated test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
