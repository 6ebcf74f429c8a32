package checks

import (
	"context"
	"sync"
)

// Subscription receives the engine's events. A reader that falls behind
// never slows the engine: a newer event from the same checker replaces
// the one still waiting (so what waits is bounded by the number of
// checkers), and Event.Coalesced counts what was replaced.
type Subscription struct {
	e       *Engine
	mu      sync.Mutex
	order   []string // checker keys in arrival order
	pending map[string]Event
	ready   chan struct{}
	closed  bool
}

// Subscribe returns a new subscription to every event from now on.
func (e *Engine) Subscribe() *Subscription {
	s := &Subscription{e: e, pending: map[string]Event{}, ready: make(chan struct{}, 1)}
	e.subMu.Lock()
	e.subs[s] = struct{}{}
	e.subMu.Unlock()
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.e.subMu.Lock()
	delete(s.e.subs, s)
	s.e.subMu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *Subscription) post(ev Event) {
	k := ev.Checker
	if k == "" {
		k = ev.Key
	}
	s.mu.Lock()
	if old, ok := s.pending[k]; ok {
		ev.Coalesced = old.Coalesced + 1
	} else {
		s.order = append(s.order, k)
	}
	s.pending[k] = ev
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Ready is signalled when events are waiting; call Take then.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Take returns the waiting events, oldest first, and clears them.
func (s *Subscription) Take() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.pending[k])
		delete(s.pending, k)
	}
	s.order = s.order[:0]
	return out
}

// Next waits for events and returns them, or ctx's error.
func (s *Subscription) Next(ctx context.Context) ([]Event, error) {
	for {
		if evs := s.Take(); len(evs) > 0 {
			return evs, nil
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
