package vrrp

import "time"

// timerKind names one of the deadlines an instance keeps.
type timerKind uint8

const (
	// advertTimer: the master's next periodic advert.
	advertTimer timerKind = iota
	// masterDownTimer: a backup's Master_Down timer.
	masterDownTimer
	// garpDelayTimer: the second GARP burst, garp_master_delay after
	// becoming master.
	garpDelayTimer
	// garpRefreshTimer: the next garp_master_refresh burst.
	garpRefreshTimer
	// garpLowerPrioTimer: the delayed burst after a lower-priority advert.
	garpLowerPrioTimer

	numTimers
)

// deadlines holds when each timer fires; the zero time means disarmed.
// Keeping plain deadlines (rather than live timers) lets one clock timer
// serve them all and lets tests step an instance without goroutines.
type deadlines [numTimers]time.Time

func (d *deadlines) set(k timerKind, at time.Time) { d[k] = at }

func (d *deadlines) stop(k timerKind) { d[k] = time.Time{} }

// stopAll disarms every timer.
func (d *deadlines) stopAll() { *d = deadlines{} }

// next returns the earliest armed deadline.
func (d *deadlines) next() (time.Time, bool) {
	var at time.Time
	for _, t := range d {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at, !at.IsZero()
}

// due reports whether timer k is armed and expired at now.
func (d *deadlines) due(k timerKind, now time.Time) bool {
	return !d[k].IsZero() && !now.Before(d[k])
}
