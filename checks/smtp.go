package checks

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
)

// DefaultHeloName is keepalived's helo_name default (SMTP_DEFAULT_HELO).
const DefaultHeloName = "smtpchecker.keepalived.org"

// maxSMTPBytes bounds what one probe reads from the server.
const maxSMTPBytes = 64 << 10

// SMTPSpec configures an SMTP_CHECK.
type SMTPSpec struct {
	Target
	// HeloName is sent as "HELO name"; "" means DefaultHeloName.
	HeloName string
}

// SMTP is an SMTP_CHECK.
type SMTP struct {
	spec SMTPSpec
}

// NewSMTP returns an SMTP_CHECK for spec.
func NewSMTP(spec SMTPSpec) *SMTP {
	if spec.HeloName == "" {
		spec.HeloName = DefaultHeloName
	}
	return &SMTP{spec: spec}
}

// Probe reads the 220 greeting, sends HELO and expects 250, sends QUIT and
// waits for any reply, like keepalived. Multi-line replies ("220-...")
// are accepted, which keepalived's single-line reader does not do.
func (c *SMTP) Probe(ctx context.Context) Result {
	a, cancel := c.spec.begin(ctx)
	defer cancel()
	conn, err := c.spec.dial(a, "tcp")
	if err != nil {
		return fail("connect %s: %s", c.spec, a.describe(err))
	}
	defer conn.Close()
	stop := a.guard(conn)
	defer stop()

	br := bufio.NewReaderSize(io.LimitReader(conn, maxSMTPBytes), 1024)
	stage := func(what string, want int) Result {
		code, text, err := readSMTPReply(br)
		switch {
		case errors.Is(err, errBadReply):
			return fail("SMTP %s: %s: unreadable reply %q", c.spec, what, truncate(text, 80))
		case err != nil:
			return fail("SMTP %s: %s: %s", c.spec, what, a.describe(err))
		case code != want:
			return fail("SMTP %s: %s: server replied %q", c.spec, what, truncate(text, 200))
		}
		return Result{OK: true, Reason: text}
	}
	send := func(line string) error {
		_, err := io.WriteString(conn, line+"\r\n")
		return err
	}

	if r := stage("bad greeting, want 220", 220); !r.OK {
		return r
	}
	if err := send("HELO " + c.spec.HeloName); err != nil {
		return fail("SMTP %s: send HELO: %s", c.spec, a.describe(err))
	}
	if r := stage("HELO rejected, want 250", 250); !r.OK {
		return r
	}
	if err := send("QUIT"); err != nil {
		return fail("SMTP %s: send QUIT: %s", c.spec, a.describe(err))
	}
	// Any reply to QUIT will do; keepalived only waits for a line.
	if _, _, err := readSMTPReply(br); err != nil && !errors.Is(err, errBadReply) {
		return fail("SMTP %s: no reply to QUIT: %s", c.spec, a.describe(err))
	}
	return Result{OK: true, Reason: "SMTP " + c.spec.String() + " greeting, HELO and QUIT ok"}
}

// errBadReply is a reply line that does not start with a 3-digit code.
var errBadReply = errors.New("unreadable SMTP reply")

// readSMTPReply reads one reply, following "NNN-" continuation lines, and
// returns its code and last line. keepalived reads only the first line
// and wants "NNN" followed by a space or nothing.
func readSMTPReply(r *bufio.Reader) (int, string, error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line != "" {
				err = io.ErrUnexpectedEOF
			}
			return 0, line, err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 || (len(line) > 3 && line[3] != ' ' && line[3] != '-') {
			return 0, line, errBadReply
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 100 {
			return 0, line, errBadReply
		}
		if len(line) == 3 || line[3] == ' ' {
			return code, line, nil
		}
	}
}
