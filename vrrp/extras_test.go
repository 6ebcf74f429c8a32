package vrrp

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func quietManager(n Network, clock Clock, notifyTimeout time.Duration) *Manager {
	return NewManager(n, ManagerOptions{Clock: clock, NotifyTimeout: notifyTimeout, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitPrio(t *testing.T, m *Manager, name string, want uint8) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, ok := statusOf(m, name)
		if ok && s.Priority == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: priority %d, want %d", name, s.Priority, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTrackScriptWeights: a failing script with weight -20 lowers the
// priority, one with weight +15 adds while it succeeds, a weight-0 script
// faults the instance (priority 0 sent as master), and recovery goes back
// to BACKUP; rise and fall count consecutive results.
func TestTrackScriptWeights(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "up")
	os.WriteFile(flag, nil, 0o644)
	check := writeScript(t, dir, "check", "test -e "+flag)
	clock := newFakeClock()
	n := newFakeNetwork()
	m := quietManager(n, clock, 0)
	conf := fmt.Sprintf(`vrrp_script neg { script "%[1]s"
 interval 1
 weight -20
 fall 2
 rise 1 }
vrrp_script pos { script "%[1]s"
 interval 1
 weight 15 }
vrrp_script zero { script "%[1]s"
 interval 1 }
`, check) + strings.Replace(vi("VI_1", 1, 100, "10.0.0.101"), " advert_int 1\n", " advert_int 1\n track_script {\n  neg\n  pos\n }\n", 1) +
		strings.Replace(vi("VI_2", 2, 100, "10.0.0.102"), " advert_int 1\n", " advert_int 1\n track_script {\n  zero\n  pos weight 10 reverse\n }\n", 1)
	if err := m.Start(parseConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	waitPrio(t, m, "VI_1", 115)
	waitPrio(t, m, "VI_2", 90)
	clock.Advance(4 * time.Second)
	waitState(t, m, "VI_2", StateMaster)
	os.Remove(flag)
	start := time.Now()
	waitPrio(t, m, "VI_1", 80) // -20, and +15 gone
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("fall 2 at interval 1 took effect after %v", d)
	}
	waitState(t, m, "VI_2", StateFault)
	if p := n.conn("VI_2", 0).sent(); p[len(p)-1] != 0 {
		t.Errorf("VI_2 entered FAULT from MASTER with last priority %d, want 0", p[len(p)-1])
	}
	if n.holds("10.0.0.102/32") {
		t.Error("VI_2 kept its VIP in FAULT")
	}
	os.WriteFile(flag, nil, 0o644)
	waitState(t, m, "VI_2", StateBackup)
	waitPrio(t, m, "VI_1", 115)
}

// TestTrackFileAndSyncGroup: a track_file's value times its weight is added;
// with weight 0 a non-zero value faults the instance, and its sync group's
// other member goes to FAULT with it; when one member becomes master, the
// other follows.
func TestTrackFileAndSyncGroup(t *testing.T) {
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "f1"), filepath.Join(dir, "f2")
	clock := newFakeClock()
	n := newFakeNetwork()
	m := quietManager(n, clock, 0)
	conf := fmt.Sprintf(`track_file tf1 { file "%s"
 weight 3
 init_file 5 }
track_file tf2 { file "%s"
 weight 0
 init_file }
vrrp_sync_group G { group {
  VI_A
  VI_B
 } }
`, f1, f2) + strings.Replace(vi("VI_A", 1, 100, "10.0.0.101"), " advert_int 1\n", " advert_int 1\n track_file {\n  tf1\n }\n", 1) +
		strings.Replace(vi("VI_B", 2, 200, "10.0.0.102"), " advert_int 1\n", " advert_int 1\n track_file {\n  tf2\n }\n", 1)
	if err := m.Start(parseConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	waitPrio(t, m, "VI_A", 115)
	// VI_B's shorter Master_Down makes it master first; VI_A follows at once.
	clock.Advance(3*time.Second + 250*time.Millisecond)
	waitState(t, m, "VI_B", StateMaster)
	waitState(t, m, "VI_A", StateMaster)
	os.WriteFile(f1, []byte("-2\n"), 0o644)
	waitPrio(t, m, "VI_A", 94)
	os.WriteFile(f2, []byte("1\n"), 0o644)
	waitState(t, m, "VI_B", StateFault)
	waitState(t, m, "VI_A", StateFault)
	os.WriteFile(f2, []byte("0\n"), 0o644)
	waitState(t, m, "VI_B", StateBackup)
	waitState(t, m, "VI_A", StateBackup)
}

// TestNotify: notify_* scripts and `notify` get keepalived's arguments,
// once per transition and in order; a FIFO reader sees keepalived's
// lines; a hanging notify script is killed at the timeout.
func TestNotify(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec")
	notify := writeScript(t, dir, "notify", `echo "$*" >> `+rec)
	master := writeScript(t, dir, "master", `echo "master $*" >> `+rec)
	hang := writeScript(t, dir, "hang", `echo $$ > `+dir+`/hang.pid; sleep 60`)
	fifo := filepath.Join(dir, "fifo")
	clock := newFakeClock()
	n := newFakeNetwork()
	m := quietManager(n, clock, 300*time.Millisecond)
	conf := fmt.Sprintf("global_defs {\n vrrp_notify_fifo %s\n}\n", fifo) +
		strings.Replace(vi("VI_51", 51, 100, "10.0.0.151"), " advert_int 1\n", fmt.Sprintf(" advert_int 1\n notify %s\n notify_master \"%s arg1\"\n notify_backup %s\n", notify, master, hang), 1)
	if err := m.Start(parseConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lines := make(chan string, 10)
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	waitState(t, m, "VI_51", StateBackup)
	time.Sleep(100 * time.Millisecond)
	clock.Advance(4 * time.Second)
	waitState(t, m, "VI_51", StateMaster)
	time.Sleep(100 * time.Millisecond)
	m.Stop()
	// A state's own script and `notify` run concurrently, as keepalived
	// forks them: compare `notify`'s lines in order, the other apart.
	got, _ := os.ReadFile(rec)
	var generic []string
	masters := 0
	for _, l := range strings.Split(strings.TrimSpace(string(got)), "\n") {
		if l == "master arg1" {
			masters++
		} else {
			generic = append(generic, l)
		}
	}
	want := "INSTANCE VI_51 BACKUP 100\nINSTANCE VI_51 MASTER 100\nINSTANCE VI_51 STOP 100"
	if strings.Join(generic, "\n") != want || masters != 1 {
		t.Errorf("notify scripts recorded\n%s\nwant\n%s\nand notify_master once with its argument", got, want)
	}
	for _, w := range []string{`INSTANCE "VI_51" BACKUP 100`, `INSTANCE "VI_51" MASTER 100`, `INSTANCE "VI_51" STOP 100`} {
		select {
		case l := <-lines:
			if l != w {
				t.Errorf("fifo line %q, want %q", l, w)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no fifo line %q", w)
		}
	}
	pid, _ := os.ReadFile(filepath.Join(dir, "hang.pid"))
	if _, err := os.Stat("/proc/" + strings.TrimSpace(string(pid))); err == nil {
		t.Errorf("hanging notify_backup (pid %s) still runs after its timeout", strings.TrimSpace(string(pid)))
	}
}

// smtpBackend is a go-smtp server backend keeping every message.
type smtpBackend struct {
	mu   sync.Mutex
	msgs []string
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

type smtpSession struct{ b *smtpBackend }

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, string(b))
	s.b.mu.Unlock()
	return err
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// TestSMTPAlert: with smtp_alert, every transition sends an e-mail whose
// subject names the instance and its new state to the SMTP server.
func TestSMTPAlert(t *testing.T) {
	be := &smtpBackend{}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	clock := newFakeClock()
	n := newFakeNetwork()
	m := quietManager(n, clock, 0)
	conf := fmt.Sprintf("global_defs {\n router_id lab1\n notification_email {\n  ops@example.com\n }\n notification_email_from ka@example.com\n smtp_server 127.0.0.1 %d\n smtp_connect_timeout 5\n}\n", port) +
		strings.Replace(vi("VI_1", 1, 100, "10.0.0.101"), " advert_int 1\n", " advert_int 1\n smtp_alert\n", 1)
	if err := m.Start(parseConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	waitState(t, m, "VI_1", StateBackup)
	clock.Advance(4 * time.Second)
	waitState(t, m, "VI_1", StateMaster)
	want := []string{"Subject: [lab1] VRRP Instance VI_1 - Entering BACKUP state", "Subject: [lab1] VRRP Instance VI_1 - Entering MASTER state"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		be.mu.Lock()
		msgs := append([]string(nil), be.msgs...)
		be.mu.Unlock()
		if len(msgs) >= 2 {
			for i, w := range want {
				if !strings.Contains(msgs[i], w) {
					t.Errorf("mail %d:\n%s\nwant %q", i, msgs[i], w)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails reached the SMTP server, want 2: %q", len(msgs), msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTrackProcess: a vrrp_track_process is up while enough processes run:
// weight 20 is added while a "sleep 3600" runs, and gone after it exits.
func TestTrackProcess(t *testing.T) {
	clock := newFakeClock()
	n := newFakeNetwork()
	m := quietManager(n, clock, 0)
	conf := "vrrp_track_process sleeper {\n process sleep 3600.5\n weight 20\n}\n" +
		strings.Replace(vi("VI_1", 1, 100, "10.0.0.101"), " advert_int 1\n", " advert_int 1\n track_process {\n  sleeper\n }\n", 1)
	if err := m.Start(parseConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	waitPrio(t, m, "VI_1", 100)
	cmd := exec.Command("sleep", "3600.5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitPrio(t, m, "VI_1", 120)
	cmd.Process.Kill()
	cmd.Wait()
	waitPrio(t, m, "VI_1", 100)
}

// TestSyncGroupTracking: a track_file on the vrrp_sync_group (weight
// ignored without sync_group_tracking_weight) faults every member.
func TestSyncGroupTracking(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	m := quietManager(newFakeNetwork(), newFakeClock(), 0)
	conf := fmt.Sprintf("track_file tf { file \"%s\"\n weight 5\n init_file 0 overwrite }\n", f) +
		"vrrp_sync_group G { group {\n  VI_A\n  VI_B\n }\n track_file {\n  tf\n }\n}\n" +
		vi("VI_A", 1, 100, "10.0.0.101") + vi("VI_B", 2, 100, "10.0.0.102")
	if err := m.Start(parseConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	waitState(t, m, "VI_A", StateBackup)
	os.WriteFile(f, []byte("3\n"), 0o644)
	waitState(t, m, "VI_A", StateFault)
	waitState(t, m, "VI_B", StateFault)
	if s, _ := statusOf(m, "VI_A"); s.Priority != 100 {
		t.Errorf("group tracking changed the priority to %d; without sync_group_tracking_weight it only faults", s.Priority)
	}
	os.WriteFile(f, []byte("0\n"), 0o644)
	waitState(t, m, "VI_A", StateBackup)
	waitState(t, m, "VI_B", StateBackup)
}
