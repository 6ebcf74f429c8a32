package checks

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"strconv"
)

// HTTPProtocol is the http_protocol of an HTTP_GET/SSL_GET checker.
type HTTPProtocol string

// The protocols keepalived knows. 1.0C is 1.0 plus "Connection: close";
// 1.1 always sends "Connection: close" too.
const (
	HTTP10  HTTPProtocol = "1.0"
	HTTP10C HTTPProtocol = "1.0C"
	HTTP11  HTTPProtocol = "1.1"
)

// ParseHTTPProtocol accepts "1.0", "1.0C" (or "1.0c") and "1.1"; "" is 1.0.
func ParseHTTPProtocol(s string) (HTTPProtocol, error) {
	switch s {
	case "", "1.0":
		return HTTP10, nil
	case "1.0C", "1.0c":
		return HTTP10C, nil
	case "1.1":
		return HTTP11, nil
	}
	return "", fmt.Errorf("http_protocol %q: want 1.0, 1.0C or 1.1", s)
}

// MaxHeaderBytes bounds the response header block; a server sending a
// longer one fails the check.
const MaxHeaderBytes = 64 << 10

// DefaultMaxBody is how much of a response body is kept for regex
// matching when HTTPSpec.MaxBody is zero. The MD5 digest always covers
// the whole body, streamed, so it matches genhash for any size.
const DefaultMaxBody = 1 << 20

// buildRequest writes the request exactly as keepalived 2.2.7's
// http_request_thread does:
//
//	GET PATH HTTP/1.x\r\n
//	User-Agent: KeepAliveClient\r\n
//	[Connection: close\r\n]       (1.0C and 1.1)
//	Host: VHOST\r\n               (virtualhost, no port) or
//	Host: IP:PORT\r\n             ([IP]:PORT for IPv6) without one
//	\r\n
func buildRequest(path string, proto HTTPProtocol, vhost string, dst netip.AddrPort) []byte {
	minor := "0"
	if proto == HTTP11 {
		minor = "1"
	}
	var b bytes.Buffer
	b.WriteString("GET " + path + " HTTP/1." + minor + "\r\n")
	b.WriteString("User-Agent: KeepAliveClient\r\n")
	if proto == HTTP10C || proto == HTTP11 {
		b.WriteString("Connection: close\r\n")
	}
	host := vhost
	if host == "" {
		host = hostPort(dst)
	}
	b.WriteString("Host: " + host + "\r\n\r\n")
	return b.Bytes()
}

// response is what was read back: the raw header block, the status, the
// body's MD5 and the first keep bytes of the body.
type response struct {
	header        []byte // status line and headers, without the blank line
	status        int    // 0 when the status line is unreadable
	contentLength int64  // -1 when absent
	bodyBytes     int64  // body bytes received (and hashed)
	digest        string // lowercase hex MD5 of the body
	body          []byte // first keep bytes of the body
}

// errNoResponse means the connection ended before a complete header.
var errNoResponse = errors.New("no data received")

// errHeaderTooLong means the header block exceeded MaxHeaderBytes.
var errHeaderTooLong = fmt.Errorf("response header exceeds %d bytes", MaxHeaderBytes)

// readResponse reads an HTTP response as keepalived does: everything
// after the first CRLFCRLF is the body, hashed raw (chunked framing
// included, nothing decoded), stopping at Content-Length when the server
// sends one and at EOF otherwise.
func readResponse(r io.Reader, keep int) (response, error) {
	resp := response{contentLength: -1}
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 8<<10)
	var h hash.Hash = md5.New()
	headerDone := false

	feed := func(p []byte) bool { // returns true when the body is complete
		if resp.contentLength >= 0 {
			if rest := resp.contentLength - resp.bodyBytes; int64(len(p)) > rest {
				p = p[:rest]
			}
		}
		h.Write(p)
		resp.bodyBytes += int64(len(p))
		if room := keep - len(resp.body); room > 0 {
			resp.body = append(resp.body, p[:min(room, len(p))]...)
		}
		return resp.contentLength >= 0 && resp.bodyBytes >= resp.contentLength
	}

	for {
		n, err := r.Read(chunk)
		if n > 0 {
			if headerDone {
				if feed(chunk[:n]) {
					break
				}
			} else {
				buf = append(buf, chunk[:n]...)
				if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
					headerDone = true
					resp.header = append([]byte(nil), buf[:i]...)
					resp.status = parseStatus(resp.header)
					resp.contentLength = parseContentLength(resp.header)
					if feed(buf[i+4:]) || resp.contentLength == 0 {
						break
					}
					buf = nil
				} else if len(buf) > MaxHeaderBytes {
					return resp, errHeaderTooLong
				}
			}
		}
		if err != nil {
			if !headerDone {
				if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
					return resp, errNoResponse
				}
				return resp, err
			}
			// A TLS peer closing without close_notify is an end of body
			// too, as it is for keepalived.
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return resp, err
		}
	}
	resp.digest = hex.EncodeToString(h.Sum(nil))
	return resp, nil
}

// parseStatus reads the code from "HTTP/1.x NNN reason". keepalived wants
// exactly three digits followed by a space; a bare "HTTP/1.1 200" is
// accepted too.
func parseStatus(header []byte) int {
	line := header
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return 0
	}
	rest := line[sp+1:]
	if len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
		return 0
	}
	code, err := strconv.Atoi(string(rest[:3]))
	if err != nil || code < 100 || code > 599 {
		return 0
	}
	return code
}

// parseContentLength returns the Content-Length header's value, or -1.
func parseContentLength(header []byte) int64 {
	for _, line := range bytes.Split(header, []byte("\r\n"))[1:] {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(val)), 10, 64)
		if err != nil || n < 0 {
			return -1
		}
		return n
	}
	return -1
}
