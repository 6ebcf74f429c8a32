package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// GenhashRequest holds genhash's options (-s -p -u -S -I -V -P -m).
type GenhashRequest struct {
	Server      netip.Addr   // -s
	Port        uint16       // -p
	Path        string       // -u
	TLS         bool         // -S
	SNI         bool         // -I: send VirtualHost as SNI
	VirtualHost string       // -V: Host header (no port) instead of SERVER:PORT
	Protocol    HTTPProtocol // -P, "" means 1.0
	FWMark      uint32       // -m
	// KeepBody is how many body bytes to return in GenhashResult.Body
	// (for genhash -v); 0 keeps none.
	KeepBody int
}

// GenhashResult is what genhash reports.
type GenhashResult struct {
	// Digest is the lowercase hex MD5 of the body, whatever the status.
	Digest string
	// Request is the request sent; Header the response header block
	// (status line and headers, without the final blank line).
	Request []byte
	Header  []byte
	// Body is the first KeepBody bytes of the body.
	Body []byte
	// Status is the response status code, 0 if unreadable.
	Status int
	// BodyBytes is how many body bytes were hashed.
	BodyBytes int64
	// Elapsed is the time from connect to the end of the body.
	Elapsed time.Duration
}

// Genhash fetches req.Path like keepalived's genhash and the HTTP checker
// do and returns the body's MD5, so the digest can be pasted into a url
// block. ctx bounds the whole exchange (genhash -t).
func Genhash(ctx context.Context, req GenhashRequest) (GenhashResult, error) {
	var res GenhashResult
	proto, err := ParseHTTPProtocol(string(req.Protocol))
	if err != nil {
		return res, err
	}
	t := Target{ConnectIP: req.Server, ConnectPort: req.Port, FWMark: req.FWMark}
	a, cancel := t.begin(ctx)
	defer cancel()
	start := time.Now()

	conn, err := t.dial(a, "tcp")
	if err != nil {
		return res, fmt.Errorf("connect %s: %s", t, a.describe(err))
	}
	defer conn.Close()
	stop := a.guard(conn)
	defer stop()

	if req.TLS {
		cfg, _ := clientTLS(nil)
		if req.SNI {
			cfg.ServerName = req.VirtualHost
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(a.ctx); err != nil {
			return res, fmt.Errorf("TLS handshake with %s: %s", t, a.describe(err))
		}
		conn = net.Conn(tc)
	}

	res.Request = buildRequest(req.Path, proto, req.VirtualHost, t.AddrPort())
	if _, err := conn.Write(res.Request); err != nil {
		return res, fmt.Errorf("send request to %s: %s", t, a.describe(err))
	}
	resp, err := readResponse(conn, req.KeepBody)
	res.Elapsed = time.Since(start)
	if errors.Is(err, errNoResponse) {
		return res, errors.New("no data received from remote webserver")
	}
	if err != nil {
		return res, fmt.Errorf("read response from %s: %s", t, a.describe(err))
	}
	res.Digest = resp.digest
	res.Header = resp.header
	res.Body = resp.body
	res.Status = resp.status
	res.BodyBytes = resp.bodyBytes
	return res, nil
}
