package checks

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// smtpServer speaks just enough SMTP: greeting, a reply to HELO, a
// reply to QUIT. An empty reply means "say nothing, close". Lines the
// client sent are delivered on the returned channel.
func smtpServer(t *testing.T, greeting, heloReply, quitReply string) (Target, <-chan string) {
	lines := make(chan string, 16)
	s := newRawServer(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		for _, reply := range []string{greeting, heloReply, quitReply} {
			if reply == "" {
				return
			}
			if _, err := c.Write([]byte(reply)); err != nil {
				return
			}
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			lines <- line
		}
	})
	return targetOf(t, s.addr(), time.Second), lines
}

func TestSMTPCheck(t *testing.T) {
	ctx := context.Background()
	tg, lines := smtpServer(t, "220 mx.example ESMTP\r\n", "250 mx.example\r\n", "221 bye\r\n")
	if r := NewSMTP(SMTPSpec{Target: tg}).Probe(ctx); !r.OK {
		t.Fatal(r.Reason)
	}
	if got := <-lines; got != "HELO smtpchecker.keepalived.org\r\n" {
		t.Errorf("HELO line %q", got)
	}
	if got := <-lines; got != "QUIT\r\n" {
		t.Errorf("QUIT line %q", got)
	}
	if r := NewSMTP(SMTPSpec{Target: tg, HeloName: "lb1.example"}).Probe(ctx); !r.OK {
		t.Fatal(r.Reason)
	}
	if got := <-lines; got != "HELO lb1.example\r\n" {
		t.Errorf("HELO line %q", got)
	}

	// Multi-line replies are read to their last line.
	tg, _ = smtpServer(t, "220-mx.example hello\r\n220-more\r\n220 ready\r\n", "250-mx\r\n250 PIPELINING\r\n", "221 bye\r\n")
	if r := NewSMTP(SMTPSpec{Target: tg}).Probe(ctx); !r.OK {
		t.Fatal(r.Reason)
	}
}

func TestSMTPCheckFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name              string
		greet, helo, quit string
		want              string
	}{
		{"bad greeting", "554 go away\r\n", "", "", `bad greeting, want 220: server replied "554 go away"`},
		{"garbage greeting", "SSH-2.0-OpenSSH\r\n", "", "", "bad greeting, want 220: unreadable reply"},
		{"bad HELO reply", "220 ok\r\n", "501 syntax error\r\n", "", `HELO rejected, want 250: server replied "501 syntax error"`},
		{"closed after HELO", "220 ok\r\n", "", "", "HELO rejected, want 250: connection closed by server"},
		{"no reply to QUIT", "220 ok\r\n", "250 ok\r\n", "", "no reply to QUIT: connection closed by server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, _ := smtpServer(t, tc.greet, tc.helo, tc.quit)
			r := NewSMTP(SMTPSpec{Target: tg}).Probe(ctx)
			if want := "SMTP " + tg.String() + ": " + tc.want; r.OK || !strings.HasPrefix(r.Reason, want) {
				t.Fatalf("got %q\nwant %q", r.Reason, want)
			}
		})
	}
	t.Run("silent server", func(t *testing.T) {
		tg := targetOf(t, silentServer(t), 300*time.Millisecond)
		r := NewSMTP(SMTPSpec{Target: tg}).Probe(ctx)
		if want := "SMTP " + tg.String() + ": bad greeting, want 220: timeout after 300ms"; r.OK || r.Reason != want {
			t.Fatalf("got %q\nwant %q", r.Reason, want)
		}
	})
	t.Run("refused", func(t *testing.T) {
		tg := targetOf(t, closedPort(t), time.Second)
		if r := NewSMTP(SMTPSpec{Target: tg}).Probe(ctx); r.OK || r.Reason != "connect "+tg.String()+": connection refused" {
			t.Fatalf("%+v", r)
		}
	})
}
