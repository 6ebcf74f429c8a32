// Package checks implements keepalived 2.2.7's real-server health
// checkers (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK,
// MISC_CHECK, PING_CHECK, UDP_CHECK, FILE_CHECK) and genhash.
//
// Each checker makes exactly one attempt per Probe call; scheduling
// (delay_loop, retry, delay_before_retry, warmup, alpha) belongs to the
// caller. Specs are plain structs so the package does not depend on the
// configuration model. Target.Timeout (connect_timeout) bounds each
// attempt as a whole, where keepalived restarts it for every read.
//
// Wire behaviour follows keepalived's source: the HTTP request bytes are
// identical (tests compare them with /usr/bin/genhash), the MD5 covers the
// raw body after the first CRLFCRLF (chunked framing included), DNS
// success is "same id, QR set, RCODE NOERROR" with no answer required,
// and UDP/ping payloads are keepalived's "keepalived check - " filler.
//
// Deliberate differences from keepalived 2.2.7:
//   - HTTP regexes are Go RE2, not PCRE2 (no backreferences or
//     lookaround), see only the first MaxBody bytes of the body, and
//     support the caseless, multiline, dotall and ungreedy options only.
//   - HTTP reading stops at Content-Length instead of waiting for EOF, and
//     header blocks over MaxHeaderBytes fail the check.
//   - SMTP accepts multi-line ("220-") replies and a bare "220".
//   - MISC_CHECK fails when the program cannot be started (keepalived's
//     child exits 0, i.e. success).
//   - SSL_GET verifies the server chain only when SSLConfig.VerifyPeer is
//     set; keepalived loads the CA but never verifies. An encrypted key
//     (SSL password) is not supported.
//   - PING_CHECK uses a raw socket when allowed and never changes
//     net.ipv4.ping_group_range.
package checks
