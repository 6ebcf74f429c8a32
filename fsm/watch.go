package fsm

import "sync"

// Subscribe returns a channel that receives the latest config version number
// whenever a new version is created or a restore changes it, and a function
// to stop (which closes the channel). If a config exists, the channel holds
// its version at once, so "range over the channel and read Latest" misses
// nothing. Notifications coalesce: a slow reader sees only the newest
// number. The FSM never blocks on a subscriber.
func (f *FSM) Subscribe() (<-chan uint64, func()) {
	return f.configWatch.subscribe(func() uint64 {
		f.mu.RLock()
		defer f.mu.RUnlock()
		v, _ := f.st.latest()
		return v.Version
	})
}

// SubscribeVerdicts is like Subscribe for verdict changes: the channel
// receives the raft index of the newest SetVerdicts (or restore).
func (f *FSM) SubscribeVerdicts() (<-chan uint64, func()) {
	return f.verdictWatch.subscribe(func() uint64 {
		f.mu.RLock()
		defer f.mu.RUnlock()
		if f.st.verdicts.Len() == 0 {
			return 0
		}
		return f.st.index
	})
}

// watchers fans a value out to subscribers through one-slot channels.
type watchers struct {
	mu   sync.Mutex
	subs map[chan uint64]struct{}
}

// subscribe registers a channel primed with current() unless that is zero.
// current runs under w.mu, so a change is either seen by current or
// notified afterwards (the FSM notifies after releasing its own lock).
func (w *watchers) subscribe(current func() uint64) (<-chan uint64, func()) {
	ch := make(chan uint64, 1)
	w.mu.Lock()
	if v := current(); v != 0 {
		ch <- v
	}
	if w.subs == nil {
		w.subs = map[chan uint64]struct{}{}
	}
	w.subs[ch] = struct{}{}
	w.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			w.mu.Lock()
			delete(w.subs, ch)
			close(ch)
			w.mu.Unlock()
		})
	}
}

// notify replaces whatever each subscriber has not read yet with v.
func (w *watchers) notify(v uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs {
		select {
		case <-ch: // drop the stale value
		default:
		}
		ch <- v // cannot block: the slot is free and only we send, under w.mu
	}
}
