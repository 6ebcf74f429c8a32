package vrrp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-ha/tandem/config"
)

// mailRetries is how many times an alert is tried before it is dropped.
const mailRetries = 3

// mailRetryDelay is the wait between attempts.
const mailRetryDelay = 2 * time.Second

// mailer sends keepalived's smtp_alert e-mails from a queue of its own, so
// a slow or dead SMTP server never holds up VRRP.
type mailer struct {
	log      *slog.Logger
	addr     string
	helo     string
	from     string
	to       []string
	routerID string
	timeout  time.Duration
	queue    chan mail
}

type mail struct {
	subject, body string
}

// newMailer returns nil when global_defs has no smtp_server or no
// notification_email.
func newMailer(g *config.GlobalDefs, log *slog.Logger) *mailer {
	if g.SMTPServer.Host == "" || len(g.NotificationEmail) == 0 {
		return nil
	}
	port := g.SMTPServer.Port
	if port == 0 {
		port = 25
	}
	m := &mailer{
		log:      log,
		addr:     net.JoinHostPort(g.SMTPServer.Host, strconv.Itoa(port)),
		helo:     g.SMTPHeloName,
		from:     g.NotificationEmailFrom,
		to:       g.NotificationEmail,
		routerID: g.RouterID,
		timeout:  g.SMTPConnectTimeout,
		queue:    make(chan mail, 256),
	}
	host, _ := os.Hostname()
	if m.helo == "" {
		m.helo = host
	}
	if m.routerID == "" {
		m.routerID = host
	}
	if m.from == "" {
		m.from = "keepalived@" + host
	}
	if m.timeout <= 0 {
		m.timeout = 30 * time.Second
	}
	return m
}

// transition queues keepalived's alert for a state change.
func (m *mailer) transition(kind, name, state string) {
	what := "Instance"
	if kind == "GROUP" {
		what = "Group"
	}
	body := "=> VRRP " + what + " is now in " + state + " state <="
	switch state {
	case "MASTER":
		body = "=> VRRP " + what + " is now owning VRRP VIPs <="
	case "BACKUP":
		body = "=> VRRP " + what + " is nolonger owning VRRP VIPs <="
	}
	m.enqueue(mail{subject: fmt.Sprintf("[%s] VRRP %s %s - Entering %s state", m.routerID, what, name, state), body: body})
}

func (m *mailer) enqueue(x mail) {
	select {
	case m.queue <- x:
	default:
		m.log.Warn("vrrp: e-mail queue full, alert dropped", "subject", x.subject)
	}
}

// run sends queued mail until ctx is done.
func (m *mailer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case x := <-m.queue:
			for try := 1; ; try++ {
				err := m.send(ctx, x)
				if err == nil {
					m.log.Info("vrrp: SMTP alert sent", "subject", x.subject)
					break
				}
				if try == mailRetries || ctx.Err() != nil {
					m.log.Error("vrrp: SMTP alert not sent", "subject", x.subject, "tries", try, "err", err)
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(mailRetryDelay):
				}
			}
		}
	}
}

func (m *mailer) send(ctx context.Context, x mail) error {
	d := net.Dialer{Timeout: m.timeout}
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", m.addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * m.timeout))
	host, _, _ := net.SplitHostPort(m.addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp greeting from %s: %w", m.addr, err)
	}
	defer c.Close()
	if err := c.Hello(m.helo); err != nil {
		return fmt.Errorf("smtp HELO: %w", err)
	}
	if err := c.Mail(m.from); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	for _, to := range m.to {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp RCPT TO %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", m.from)
	fmt.Fprintf(&b, "Subject: %s\r\n", x.subject)
	fmt.Fprintf(&b, "X-Mailer: tandem\r\n")
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(m.to, ", "))
	fmt.Fprintf(&b, "\r\n%s\r\n", x.body)
	if _, err := w.Write([]byte(b.String())); err != nil {
		return fmt.Errorf("smtp message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of DATA: %w", err)
	}
	return c.Quit()
}
