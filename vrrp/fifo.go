package vrrp

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/tandem-ha/tandem/config"
)

// notifyFifo is a notify_fifo or vrrp_notify_fifo: a named pipe receiving
// one line per transition in keepalived's format, e.g.
// `INSTANCE "VI_1" MASTER 100`.
type notifyFifo struct {
	path    string
	mu      sync.Mutex
	f       *os.File
	created bool
}

// openFifo creates the FIFO if needed and opens it read-write and
// non-blocking, as keepalived does, so neither the open nor a write waits
// for a reader.
func openFifo(c *config.Fifo) (*notifyFifo, error) {
	nf := &notifyFifo{path: c.Path}
	fi, err := os.Stat(c.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := syscall.Mkfifo(c.Path, 0o600); err != nil {
			return nil, fmt.Errorf("vrrp: create notify fifo %s: %w", c.Path, err)
		}
		nf.created = true
	case err != nil:
		return nil, fmt.Errorf("vrrp: notify fifo %s: %w", c.Path, err)
	case fi.Mode()&os.ModeNamedPipe == 0:
		return nil, fmt.Errorf("vrrp: notify fifo %s: exists and is not a fifo", c.Path)
	}
	if c.User != "" {
		if cred, err := credentialOf(c.User, c.Group); err == nil {
			os.Chown(c.Path, int(cred.Uid), int(cred.Gid))
		}
	}
	f, err := os.OpenFile(c.Path, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("vrrp: open notify fifo %s: %w", c.Path, err)
	}
	nf.f = f
	return nf, nil
}

// write sends one line; a full pipe (nobody reading) drops it.
func (f *notifyFifo) write(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f != nil {
		f.f.WriteString(line)
	}
}

// close closes the FIFO and removes it if tandem created it.
func (f *notifyFifo) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
	if f.created {
		os.Remove(f.path)
	}
}
