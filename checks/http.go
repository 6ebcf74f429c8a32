package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

// defaultStatus is keepalived's status_code default, 200-299.
var defaultStatus = []StatusRange{{200, 299}}

func formatStatus(rs []StatusRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.Lo == r.Hi {
			parts[i] = strconv.Itoa(r.Lo)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.Lo, r.Hi)
		}
	}
	return strings.Join(parts, " ")
}

// URL is one url block of an HTTP_GET/SSL_GET checker.
type URL struct {
	// Path is the request target, sent verbatim.
	Path string
	// Digest is the expected MD5 of the response body in hex (as genhash
	// prints it); empty means no digest check.
	Digest string
	// StatusCodes are the accepted codes; nil means 200-299.
	StatusCodes []StatusRange
	// VirtualHost overrides HTTPSpec.VirtualHost for this url.
	VirtualHost string
	// Regex must match the body (or must not, with RegexNoMatch). It is a
	// Go regexp (RE2), not PCRE2: no backreferences, lookaround, atomic or
	// possessive groups. Matching sees the first MaxBody bytes only.
	Regex        string
	RegexNoMatch bool
	// RegexOptions are keepalived's regex_options; caseless, multiline,
	// dotall and ungreedy are supported, others are rejected.
	RegexOptions []string
	// RegexMinOffset and RegexMaxOffset bound where a match may start
	// (regex_min_offset, regex_max_offset); zero means unbounded.
	RegexMinOffset int
	RegexMaxOffset int
}

// SSLConfig is keepalived's SSL block. keepalived 2.2.7 loads the CA but
// never turns on peer verification (SSL_VERIFY_NONE), so by default the
// server certificate is not checked; set VerifyPeer to check the chain
// against CAFile (the host name is never checked: the check connects by IP).
type SSLConfig struct {
	CAFile     string
	CertFile   string
	KeyFile    string
	VerifyPeer bool
}

// HTTPSpec configures an HTTP_GET (or SSL_GET when TLS is set) checker.
type HTTPSpec struct {
	Target
	// TLS makes this an SSL_GET.
	TLS bool
	// URLs are checked in order, each on its own connection; all must pass.
	URLs []URL
	// VirtualHost is the Host header default (checker, else real server,
	// else virtual server virtualhost). Empty means "IP:PORT".
	VirtualHost string
	// Protocol is http_protocol; "" means 1.0.
	Protocol HTTPProtocol
	// EnableSNI sends the url's (else the checker's) virtualhost as TLS
	// SNI. keepalived skips the real server's virtualhost here; the
	// adapter decides what VirtualHost holds.
	EnableSNI bool
	// SNIName, when set, is the SNI sent for urls without a virtualhost
	// of their own (sni_name, or keepalived's choice of virtualhost);
	// empty means VirtualHost.
	SNIName string
	// SSL is the global SSL block, optional.
	SSL *SSLConfig
	// MaxBody bounds the body kept for regex matching; 0 means DefaultMaxBody.
	MaxBody int
}

type compiledURL struct {
	URL
	status []StatusRange
	re     *regexp.Regexp
}

// HTTP is an HTTP_GET or SSL_GET checker.
type HTTP struct {
	spec HTTPSpec
	urls []compiledURL
	tls  *tls.Config
}

// NewHTTP validates spec, compiles its regexes and loads its TLS files.
func NewHTTP(spec HTTPSpec) (*HTTP, error) {
	proto, err := ParseHTTPProtocol(string(spec.Protocol))
	if err != nil {
		return nil, err
	}
	spec.Protocol = proto
	if spec.MaxBody <= 0 {
		spec.MaxBody = DefaultMaxBody
	}
	c := &HTTP{spec: spec}
	for _, u := range spec.URLs {
		cu := compiledURL{URL: u, status: u.StatusCodes}
		if cu.status == nil {
			cu.status = defaultStatus
		}
		if u.Digest != "" {
			b, err := hex.DecodeString(u.Digest)
			if err != nil || len(b) != 16 {
				return nil, fmt.Errorf("url %s: digest %q is not 32 hex digits", u.Path, u.Digest)
			}
			cu.Digest = strings.ToLower(u.Digest)
		}
		if u.Regex != "" {
			re, err := compileRegex(u.Regex, u.RegexOptions)
			if err != nil {
				return nil, fmt.Errorf("url %s: %w", u.Path, err)
			}
			cu.re = re
		}
		c.urls = append(c.urls, cu)
	}
	if spec.TLS {
		cfg, err := clientTLS(spec.SSL)
		if err != nil {
			return nil, err
		}
		c.tls = cfg
	}
	return c, nil
}

// compileRegex maps keepalived's PCRE2 options onto RE2 flags.
func compileRegex(expr string, opts []string) (*regexp.Regexp, error) {
	flags := ""
	for _, o := range opts {
		switch o {
		case "caseless":
			flags += "i"
		case "multiline":
			flags += "m"
		case "dotall":
			flags += "s"
		case "ungreedy":
			flags += "U"
		default:
			return nil, fmt.Errorf("regex option %q is not supported (Go regexp)", o)
		}
	}
	if flags != "" {
		expr = "(?" + flags + ")" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", expr, err)
	}
	return re, nil
}

// clientTLS builds the client config: any TLS version OpenSSL would
// offer, no verification unless asked for, client cert if configured.
func clientTLS(ssl *SSLConfig) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}
	if ssl == nil {
		return cfg, nil
	}
	if ssl.CertFile != "" {
		key := ssl.KeyFile
		if key == "" {
			key = ssl.CertFile
		}
		cert, err := tls.LoadX509KeyPair(ssl.CertFile, key)
		if err != nil {
			return nil, fmt.Errorf("SSL certificate %s: %w", ssl.CertFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if ssl.CAFile != "" && ssl.VerifyPeer {
		pem, err := os.ReadFile(ssl.CAFile)
		if err != nil {
			return nil, fmt.Errorf("SSL ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SSL ca %s: no certificates found", ssl.CAFile)
		}
		cfg.VerifyPeerCertificate = verifyChain(pool)
	}
	return cfg, nil
}

// verifyChain checks the peer's chain against pool, ignoring the name.
func verifyChain(pool *x509.CertPool) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("no server certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, r := range raw {
			c, err := x509.ParseCertificate(r)
			if err != nil {
				return err
			}
			certs[i] = c
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
		return err
	}
}

// Probe checks every url in turn; the first failure fails the check.
func (c *HTTP) Probe(ctx context.Context) Result {
	if len(c.urls) == 0 {
		// keepalived enables a server whose checker has no urls.
		return Result{OK: true, Reason: "no urls to check"}
	}
	for i := range c.urls {
		r := c.probeURL(ctx, &c.urls[i])
		if !r.OK || len(c.urls) == 1 {
			return r
		}
	}
	return Result{OK: true, Reason: fmt.Sprintf("%d url(s) passed on %s", len(c.urls), c.spec.Target)}
}

func (c *HTTP) vhost(u *compiledURL) string {
	if u.VirtualHost != "" {
		return u.VirtualHost
	}
	return c.spec.VirtualHost
}

func (c *HTTP) probeURL(ctx context.Context, u *compiledURL) Result {
	a, cancel := c.spec.begin(ctx)
	defer cancel()
	where := c.spec.String() + u.Path
	vhost := c.vhost(u)

	conn, err := c.spec.dial(a, "tcp")
	if err != nil {
		return fail("connect %s: %s", c.spec, a.describe(err))
	}
	defer conn.Close()
	stop := a.guard(conn)
	defer stop()

	if c.tls != nil {
		cfg := c.tls.Clone()
		if c.spec.EnableSNI {
			cfg.ServerName = vhost // crypto/tls sends no SNI for an IP
			if u.VirtualHost == "" && c.spec.SNIName != "" {
				cfg.ServerName = c.spec.SNIName
			}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(a.ctx); err != nil {
			return fail("TLS handshake with %s: %s", c.spec, a.describe(err))
		}
		conn = tc
	}

	req := buildRequest(u.Path, c.spec.Protocol, vhost, c.spec.AddrPort())
	if _, err := conn.Write(req); err != nil {
		return fail("send request to %s: %s", where, a.describe(err))
	}
	resp, err := readResponse(conn, c.spec.MaxBody)
	switch {
	case errors.Is(err, errNoResponse):
		return fail("no HTTP response from %s", where)
	case err != nil:
		return fail("read response from %s: %s", where, a.describe(err))
	}
	return judge(u, resp, where)
}

// judge applies keepalived's order: status, then digest, then regex.
func judge(u *compiledURL, resp response, where string) Result {
	okStatus := false
	for _, r := range u.status {
		if resp.status >= r.Lo && resp.status <= r.Hi {
			okStatus = true
			break
		}
	}
	if !okStatus {
		if resp.status == 0 {
			line, _, _ := strings.Cut(string(resp.header), "\r\n")
			return fail("unreadable HTTP status line %q from %s, want %s", truncate(line, 80), where, formatStatus(u.status))
		}
		return fail("HTTP %d from %s, want %s", resp.status, where, formatStatus(u.status))
	}
	if u.Digest != "" && resp.digest != u.Digest {
		return fail("digest mismatch for %s: got %s want %s", where, resp.digest, u.Digest)
	}
	if u.re != nil {
		matched := regexMatch(u, resp.body)
		if matched == u.RegexNoMatch {
			if matched {
				return fail("regex %q matched body of %s (regex_no_match)", u.Regex, where)
			}
			return fail("regex %q did not match body of %s", u.Regex, where)
		}
	}
	return Result{OK: true, Reason: fmt.Sprintf("HTTP %d from %s", resp.status, where)}
}

// regexMatch reports a match starting within [RegexMinOffset,
// RegexMaxOffset] of the body.
func regexMatch(u *compiledURL, body []byte) bool {
	if u.RegexMinOffset > len(body) {
		return false
	}
	loc := u.re.FindIndex(body[u.RegexMinOffset:])
	if loc == nil {
		return false
	}
	return u.RegexMaxOffset <= 0 || u.RegexMinOffset+loc[0] <= u.RegexMaxOffset
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
