// Package checks implements keepalived 2.2.7's real-server health
// checkers (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK,
// MISC_CHECK, PING_CHECK, UDP_CHECK, FILE_CHECK) and genhash.
//
// Each checker makes exactly one attempt per Probe call. The Engine
// schedules them as keepalived 2.2.7 does: a round every delay_loop; a
// failed attempt retried retry times, delay_before_retry apart, before
// the checker is down (also while it is already down); the first round
// after a random delay in [0, warmup); alpha checkers start down, others
// up; a real server is up only while all its checkers are. One goroutine
// owns every schedule (a heap and one timer ticking at most every
// Options.Resolution); attempts run on at most MaxInFlight workers, so a
// hanging server or script only delays its own checks. Engine.Update
// swaps the configuration and keeps checks whose key and settings did not
// change; Subscribe delivers each verdict change without ever blocking the
// engine (a slow reader gets the latest event per checker). FromConfig
// turns a keepalived.conf model into CheckDefs, reporting checker
// settings it cannot use as FILE:LINE errors.
//
// Specs are plain structs so the probes do not depend on the
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
//   - The first round starts after warmup alone, without keepalived's
//     extra one-second bootstrap delay.
//   - BFD_CHECK is not supported (FromConfig reports it as an error).
//   - With enable_sni, when only the real server names a virtualhost,
//     that name is sent as SNI; keepalived sends none then.
package checks
