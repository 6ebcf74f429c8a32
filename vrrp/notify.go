package vrrp

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/tandem-ha/tandem/vrrp/script"
)

// DefaultNotifyTimeout is how long a notify script may run before its
// process group is killed.
const DefaultNotifyTimeout = 30 * time.Second

// notifyState is keepalived's name for a state in notifications: an
// instance leaving service at shutdown is STOP.
func notifyState(t Transition) string {
	if t.To == StateInit {
		return "STOP"
	}
	return t.To.String()
}

// notifyScripts are the notify_* scripts of one instance or sync group.
type notifyScripts struct {
	master, backup, fault, stop, any *script.Cmd
	rxLowerPri                       *script.Cmd
	smtp                             bool
}

func (s *notifyScripts) forState(state string) *script.Cmd {
	switch state {
	case "MASTER":
		return s.master
	case "BACKUP":
		return s.backup
	case "FAULT":
		return s.fault
	case "STOP":
		return s.stop
	}
	return nil
}

// notifier runs notify scripts, writes notify FIFOs and queues e-mail,
// each in the background: a transition never waits for any of them.
type notifier struct {
	log     *slog.Logger
	timeout time.Duration
	ctx     context.Context
	wg      *sync.WaitGroup
	fifos   []*notifyFifo
	mail    *mailer
}

// event runs the scripts of one instance (kind "INSTANCE") or sync group
// ("GROUP") for its new state, with keepalived's arguments: the state's
// own script as configured, and `notify` with TYPE NAME STATE PRIORITY
// appended (a negative prio is left out).
func (n *notifier) event(kind, name, state string, prio int, s *notifyScripts) {
	if n == nil {
		return
	}
	line := kind + ` "` + name + `" ` + state
	extra := []string{kind, name, state}
	if prio >= 0 {
		line += " " + strconv.Itoa(prio)
		extra = append(extra, strconv.Itoa(prio))
	}
	for _, f := range n.fifos {
		f.write(line + "\n")
	}
	if s == nil {
		return
	}
	if c := s.forState(state); c != nil {
		n.run(*c, name)
	}
	if s.any != nil {
		c := *s.any
		c.Args = append(append([]string(nil), c.Args...), extra...)
		n.run(c, name)
	}
	if s.smtp && n.mail != nil && state != "STOP" {
		n.mail.transition(kind, name, state)
	}
}

// run starts c in the background, killing it at the notify timeout.
func (n *notifier) run(c script.Cmd, name string) {
	c.Timeout = n.timeout
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		res := script.Run(context.WithoutCancel(n.ctx), c)
		switch {
		case res.TimedOut:
			n.log.Warn("vrrp: notify script timed out, process group killed", "name", name, "script", c.Args[0], "timeout", c.Timeout)
		case !res.OK():
			n.log.Warn("vrrp: notify script failed", "name", name, "script", c.Args[0], "result", res.String())
		}
	}()
}
