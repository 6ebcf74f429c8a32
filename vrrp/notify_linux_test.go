package vrrp_test

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// notifyRecorder is a notify script and a notify FIFO reader for one
// daemon: the script appends its arguments to a file, the reader collects
// the FIFO's lines.
type notifyRecorder struct {
	script, rec, fifo string
	lines             chan string
}

func newNotifyRecorder(t *testing.T, dir, who string) *notifyRecorder {
	t.Helper()
	r := &notifyRecorder{script: filepath.Join(dir, who+"-notify.sh"), rec: filepath.Join(dir, who+"-notify.rec"), fifo: filepath.Join(dir, who+".fifo"), lines: make(chan string, 16)}
	if err := os.WriteFile(r.script, []byte("#!/bin/sh\necho \"$*\" >> "+r.rec+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(r.fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read-write, so the open does not wait for the daemon.
	f, err := os.OpenFile(r.fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	go func() {
		s := bufio.NewScanner(f)
		for s.Scan() {
			r.lines <- s.Text()
		}
	}()
	return r
}

// records waits until the script has recorded n lines and returns them.
func (r *notifyRecorder) records(t *testing.T, n int) []string {
	t.Helper()
	var lines []string
	waitFor(t, 10*time.Second, fmt.Sprintf("%d notify calls in %s", n, r.rec), func() bool {
		b, _ := os.ReadFile(r.rec)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		return len(lines) >= n && lines[0] != ""
	})
	time.Sleep(300 * time.Millisecond) // no extra call after these
	b, _ := os.ReadFile(r.rec)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (r *notifyRecorder) fifoLines(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		select {
		case l := <-r.lines:
			out = append(out, l)
		case <-time.After(5 * time.Second):
			t.Fatalf("fifo %s: %d lines, want %d: %q", r.fifo, len(out), n, out)
		}
	}
	return out
}

// TestNotifyLikeKeepalived runs the same vrrp_instance VI_51 (notify
// script, vrrp_notify_fifo) on keepalived 2.2.7 and on tandem, each alone
// on its VRID, over start, takeover and shutdown, and compares the notify
// script's arguments and the FIFO lines: they must be the same, once per
// transition, in order (INSTANCE VI_51 BACKUP 100, MASTER 100, STOP 100).
func TestNotifyLikeKeepalived(t *testing.T) {
	f := newFailoverLab(t, 41)
	conf := func(r *notifyRecorder, vrid int, vip netip.Addr) string {
		return fmt.Sprintf("global_defs {\n    vrrp_notify_fifo %s\n}\n", r.fifo) + instConf{Name: "VI_51", VRID: vrid, Priority: 100, VIPs: []netip.Addr{vip},
			Extra: "    notify " + r.script + "\n"}.String()
	}
	kr, tr := newNotifyRecorder(t, f.l.Dir, "keepalived"), newNotifyRecorder(t, f.l.Dir, "tandem")
	ka := &node{f: f, host: f.kHost, proc: lab.StartKeepalived(t, f.kHost, conf(kr, 52, f.l.IP(101)))}
	tan := startTandem(t, f.l, f.tHost, conf(tr, 51, f.vip), "")
	waitFor(t, 10*time.Second, "both masters", func() bool {
		return len(holders(t, f.vip, f.tHost)) == 1 && len(holders(t, f.l.IP(101), f.kHost)) == 1
	})
	time.Sleep(500 * time.Millisecond)
	ka.stop(t)
	tan.stop(t)

	want := []string{"INSTANCE VI_51 BACKUP 100", "INSTANCE VI_51 MASTER 100", "INSTANCE VI_51 STOP 100"}
	kaRec, tanRec := kr.records(t, 3), tr.records(t, 3)
	t.Logf("keepalived's notify calls: %q", kaRec)
	t.Logf("tandem's notify calls:     %q", tanRec)
	if strings.Join(kaRec, "\n") != strings.Join(want, "\n") {
		t.Errorf("keepalived recorded %q, the test expects %q", kaRec, want)
	}
	if strings.Join(tanRec, "\n") != strings.Join(kaRec, "\n") {
		t.Errorf("tandem's notify calls %q differ from keepalived's %q", tanRec, kaRec)
	}
	kaFifo, tanFifo := kr.fifoLines(t, 3), tr.fifoLines(t, 3)
	t.Logf("keepalived's fifo lines: %q", kaFifo)
	t.Logf("tandem's fifo lines:     %q", tanFifo)
	if strings.Join(tanFifo, "\n") != strings.Join(kaFifo, "\n") {
		t.Errorf("tandem's fifo lines %q differ from keepalived's %q", tanFifo, kaFifo)
	}
}
