package lab

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Capture is a running tcpdump writing a pcap file.
type Capture struct {
	path string
	proc *Proc
	once sync.Once
	err  error
}

// Capture starts tcpdump with the given filter expression (may be empty)
// and returns once it is capturing. With host "" it listens on the bridge in
// the switch namespace, in promiscuous mode, so it sees every frame between
// the hosts; otherwise on the host's Link in its namespace. Stop it with
// Stop, then read the file with ReadPcap. The lab tears it down if the test
// does not.
func (l *Lab) Capture(ctx context.Context, host, filter string) (*Capture, error) {
	ns, iface, where := l.switchName, bridgeName, switchSuffix
	if host != "" {
		h := l.Host(host)
		ns, iface, where = h.NSName, h.Link, h.Name
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, fmt.Errorf("capture on %s: %w", where, err)
	}
	l.mu.Lock()
	l.seq++
	path := filepath.Join(l.Dir, fmt.Sprintf("%s-%d.pcap", where, l.seq))
	l.mu.Unlock()
	// -U --immediate-mode: every frame reaches the file as it is seen.
	// -Z root: keep the privileges needed to write into Dir.
	argv := []string{tcpdump, "-n", "-i", iface, "-U", "--immediate-mode", "-Z", "root", "-w", path}
	if filter != "" {
		argv = append(argv, filter)
	}
	p, err := l.start(ctx, ns, where, argv)
	if err != nil {
		return nil, fmt.Errorf("capture on %s: %w", where, err)
	}
	// tcpdump says "listening on IFACE" once its socket is bound.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Log(), "listening on") {
		select {
		case <-p.done:
			return nil, fmt.Errorf("capture on %s: tcpdump exited: %v: %s", where, p.err, p.Log())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Kill()
			return nil, fmt.Errorf("capture on %s: tcpdump not listening after 10s: %s", where, p.Log())
		}
	}
	return &Capture{path: path, proc: p}, nil
}

// Path returns the pcap file's path.
func (c *Capture) Path() string { return c.path }

// Stop stops tcpdump, letting it flush, and returns the pcap file's path.
// Frames still in flight when Stop is called may be missed. It is
// idempotent.
func (c *Capture) Stop() (string, error) {
	c.once.Do(func() {
		if err := c.proc.Signal(syscall.SIGINT); err != nil {
			select {
			case <-c.proc.done: // already gone: the file holds what it holds
			default:
				c.err = err
			}
			return
		}
		select {
		case <-c.proc.done:
		case <-time.After(5 * time.Second):
			c.err = fmt.Errorf("%s: no exit 5s after SIGINT", c.proc.Name)
			c.proc.Kill()
		}
	})
	return c.path, c.err
}
