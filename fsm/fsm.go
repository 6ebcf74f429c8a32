package fsm

import (
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/raft"
)

// DefaultKeepTexts is how many of the newest config texts an FSM keeps
// unless Options.KeepTexts says otherwise.
const DefaultKeepTexts = 50

// Options configure an FSM.
type Options struct {
	// Logger receives rejected entries and new config versions; nil discards.
	Logger *slog.Logger
	// KeepTexts is how many of the newest config versions keep their text
	// (metadata of every version is kept). Zero means DefaultKeepTexts.
	KeepTexts int
}

// FSM is tandem's raft.FSM. Its query methods are safe for concurrent use
// with Apply, Snapshot and Restore.
type FSM struct {
	log  *slog.Logger
	keep int

	mu sync.RWMutex
	st state

	configWatch  watchers
	verdictWatch watchers
}

var _ raft.FSM = (*FSM)(nil)

// New returns an empty FSM.
func New(opts Options) *FSM {
	f := &FSM{log: opts.Logger, keep: opts.KeepTexts, st: newState()}
	if f.log == nil {
		f.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if f.keep <= 0 {
		f.keep = DefaultKeepTexts
	}
	return f
}

// Apply implements raft.FSM. It returns a Result for an applied entry and an
// error for a refused one (undecodable, or invalid for the current state);
// a refused entry leaves the replicated state unchanged.
func (f *FSM) Apply(l *raft.Log) any {
	res, err := f.apply(l)
	if err != nil {
		err = fmt.Errorf("fsm: apply entry %d: %w", l.Index, err)
		f.log.Warn("rejected raft entry", "index", l.Index, "err", err)
		f.mu.Lock()
		f.st.index = max(f.st.index, l.Index)
		f.st.reject(Rejection{Index: l.Index, Time: norm(l.AppendedAt), Error: err.Error()})
		f.mu.Unlock()
		return err
	}
	return res
}

func (f *FSM) apply(l *raft.Log) (Result, error) {
	cmd, err := Decode(l.Data)
	if err != nil {
		return Result{}, err
	}
	switch c := cmd.(type) {
	case ApplyConfig:
		return f.applyConfig(l, c)
	case RollbackConfig:
		return f.rollbackConfig(l, c)
	case ReportApplied:
		return f.reportApplied(l, c)
	case SetVerdicts:
		return f.setVerdicts(l, c)
	}
	// Decode only returns the types above.
	return Result{}, fmt.Errorf("%w %v", ErrUnknownCommand, cmd.Type())
}

// ResultOf waits for f and returns the FSM's Result, or the error raft or the
// FSM gave.
func ResultOf(f raft.ApplyFuture) (Result, error) {
	if err := f.Error(); err != nil {
		return Result{}, err
	}
	switch r := f.Response().(type) {
	case Result:
		return r, nil
	case error:
		return Result{}, r
	default:
		return Result{}, fmt.Errorf("fsm: unexpected apply response %T", r)
	}
}
