package lvs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Counts are the table operations a Reconciler issued. Reads counts
// whole-table and one-service reads (each a netlink dump or two).
type Counts struct {
	CreateService, UpdateService, DeleteService int
	CreateDest, UpdateDest, DeleteDest          int
	Reads                                       int
}

// Writes returns the number of operations that changed the table.
func (c Counts) Writes() int {
	return c.CreateService + c.UpdateService + c.DeleteService + c.CreateDest + c.UpdateDest + c.DeleteDest
}

// CreatesDeletes returns the number of create and delete operations: the
// ones that can drop or reset connections.
func (c Counts) CreatesDeletes() int {
	return c.CreateService + c.DeleteService + c.CreateDest + c.DeleteDest
}

// Sub returns c minus o.
func (c Counts) Sub(o Counts) Counts {
	return Counts{
		c.CreateService - o.CreateService, c.UpdateService - o.UpdateService, c.DeleteService - o.DeleteService,
		c.CreateDest - o.CreateDest, c.UpdateDest - o.UpdateDest, c.DeleteDest - o.DeleteDest,
		c.Reads - o.Reads,
	}
}

func (c *Counts) add(k OpKind) {
	switch k {
	case CreateService:
		c.CreateService++
	case UpdateService:
		c.UpdateService++
	case DeleteService:
		c.DeleteService++
	case CreateDest:
		c.CreateDest++
	case UpdateDest:
		c.UpdateDest++
	case DeleteDest:
		c.DeleteDest++
	}
}

// OpError is a failed table operation.
type OpError struct {
	Op  Op
	Err error
}

func (e *OpError) Error() string { return fmt.Sprintf("ipvs: %s: %v", e.Op, e.Err) }
func (e *OpError) Unwrap() error { return e.Err }

// Reconciler keeps a Handle's table equal to the desired one. It owns the
// services it created or adopted (a desired service already in the table
// is adopted as it is, then corrected in place, never recreated), and it
// deletes only services it owns. It is safe for concurrent use.
type Reconciler struct {
	h   Handle
	log *slog.Logger

	mu      sync.Mutex
	desired *Table
	// known is what the kernel held after the last read and writes; nil
	// until the first read and after a failure.
	known  *Table
	owned  map[ServiceKey]bool
	counts Counts
}

// NewReconciler returns a reconciler for h; log may be nil.
func NewReconciler(h Handle, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{h: h, log: log, owned: map[ServiceKey]bool{}}
}

// Result says what one Apply did.
type Result struct {
	// Ops are the operations that succeeded.
	Ops []Op
	// Adopted are the desired services found in the table and taken over.
	Adopted []ServiceKey

	fresh bool // the whole table was read
}

// Apply makes the table equal to desired and remembers desired for
// Resync. The first call reads the whole table (adopting the desired
// services found there); later calls plan against what the reconciler
// knows the kernel holds, so that a change costs only its own operations.
// Every service it touched is read back to verify it and to refresh that
// knowledge. If an operation fails, the table is read again and the plan
// retried once, in case someone changed it behind the reconciler's back.
// The error joins one OpError per failed operation and one error per
// service that reads back wrong.
func (r *Reconciler) Apply(desired Table) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := desired
	r.desired = &d
	res, err := r.apply(desired, false)
	if err != nil && !res.fresh {
		return r.apply(desired, true)
	}
	return res, err
}

// Resync reads the whole table and re-applies the last desired table,
// repairing whatever someone changed behind the reconciler's back. It
// does nothing before Apply.
func (r *Reconciler) Resync() (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.desired == nil {
		return Result{}, nil
	}
	return r.apply(*r.desired, true)
}

func (r *Reconciler) apply(desired Table, fresh bool) (Result, error) {
	var res Result
	if fresh || r.known == nil {
		r.known = nil
		r.counts.Reads++
		svcs, err := r.h.Services()
		if err != nil {
			return Result{fresh: true}, fmt.Errorf("ipvs: read table: %w", err)
		}
		t := Table{Services: svcs}
		t.Sort()
		r.known = &t
		res.fresh = true
	}
	actual := *r.known
	for _, s := range desired.Services {
		if _, ok := actual.Service(s.Key); ok && !r.owned[s.Key] {
			r.owned[s.Key] = true
			res.Adopted = append(res.Adopted, s.Key)
		}
	}
	ops := Plan(desired, actual, func(k ServiceKey) bool { return r.owned[k] })
	var errs []error
	touched := map[ServiceKey]bool{}
	failed := map[ServiceKey]bool{}
	for _, op := range ops {
		k := op.Service.Key
		touched[k] = true
		if failed[k] && op.Kind == CreateDest && !r.owned[k] {
			continue // the service could not be created
		}
		if err := r.do(op); err != nil {
			errs = append(errs, &OpError{Op: op, Err: err})
			failed[k] = true
			continue
		}
		res.Ops = append(res.Ops, op)
		switch op.Kind {
		case CreateService:
			r.owned[k] = true
		case DeleteService:
			delete(r.owned, k)
		}
	}
	for k := range failed {
		delete(touched, k) // its error says enough
	}
	errs = append(errs, r.verify(desired, touched)...)
	if len(errs) > 0 {
		r.known = nil // read everything next time
	}
	if len(res.Ops) > 0 {
		r.log.Info("ipvs table changed", "ops", len(res.Ops), "adopted", len(res.Adopted))
	}
	return res, errors.Join(errs...)
}

func (r *Reconciler) do(op Op) error {
	var err error
	k := op.Service.Key
	switch op.Kind {
	case CreateService:
		err = r.h.CreateService(op.Service)
	case UpdateService:
		err = r.h.UpdateService(op.Service)
	case DeleteService:
		err = r.h.DeleteService(k)
	case CreateDest:
		err = r.h.CreateDest(k, op.Dest)
	case UpdateDest:
		err = r.h.UpdateDest(k, op.Dest)
	case DeleteDest:
		err = r.h.DeleteDest(k, op.Dest)
	}
	if err == nil {
		r.counts.add(op.Kind)
	}
	return err
}

// verify reads back every touched service, compares it with desired and
// records what it read in r.known.
func (r *Reconciler) verify(desired Table, touched map[ServiceKey]bool) []error {
	var errs []error
	keys := make([]ServiceKey, 0, len(touched))
	for k := range touched {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareServiceKeys)
	read := map[ServiceKey]*Service{}
	for _, k := range keys {
		r.counts.Reads++
		have, ok, err := r.h.Service(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("ipvs: verify %s: read back: %w", k, err))
			continue
		}
		read[k] = nil
		if ok {
			read[k] = &have
		}
		want, wantOK := desired.Service(k)
		switch {
		case wantOK && !ok:
			errs = append(errs, fmt.Errorf("ipvs: verify %s: missing from the kernel table after it was written", k))
		case !wantOK && ok && !r.owned[k]:
			// deleted by us: must be gone
			errs = append(errs, fmt.Errorf("ipvs: verify %s: still in the kernel table after it was deleted", k))
		case wantOK:
			if diff := serviceDiff(want, have); diff != "" {
				errs = append(errs, fmt.Errorf("ipvs: verify %s: kernel holds %s", k, diff))
			}
		}
	}
	if r.known != nil && len(read) > 0 {
		var t Table
		for _, s := range r.known.Services {
			if _, ok := read[s.Key]; !ok {
				t.Services = append(t.Services, s)
			}
		}
		for _, s := range read {
			if s != nil {
				t.Services = append(t.Services, *s)
			}
		}
		t.Sort()
		r.known = &t
	}
	return errs
}

// serviceDiff describes how have differs from want ("" when equal).
func serviceDiff(want, have Service) string {
	if !want.sameAttrs(have) {
		return fmt.Sprintf("%q, want %q", have.String(), want.String())
	}
	p := Plan(Table{Services: []Service{want}}, Table{Services: []Service{have}}, nil)
	if len(p) == 0 {
		return ""
	}
	return fmt.Sprintf("%d destination(s) differing, first: needs %s", len(p), p[0])
}

// Run calls Resync every interval until ctx ends, logging what it repairs
// and what fails.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := r.Resync()
		if len(res.Ops) > 0 {
			r.log.Warn("ipvs table was changed behind tandem's back: repaired", "ops", len(res.Ops))
		}
		if err != nil {
			r.log.Error("ipvs resync", "err", err)
		}
	}
}

// Release deletes every service the reconciler owns (the shutdown path,
// skipped with --dont-release-ipvs). Services others created stay.
func (r *Reconciler) Release() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]ServiceKey, 0, len(r.owned))
	for k := range r.owned {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareServiceKeys)
	var errs []error
	for _, k := range keys {
		op := Op{Kind: DeleteService, Service: Service{Key: k}}
		if err := r.do(op); err != nil {
			errs = append(errs, &OpError{Op: op, Err: err})
			continue
		}
		delete(r.owned, k)
	}
	r.desired = nil
	r.known = nil
	return errors.Join(errs...)
}

// Owned returns the keys of the services the reconciler owns, sorted.
func (r *Reconciler) Owned() []ServiceKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]ServiceKey, 0, len(r.owned))
	for k := range r.owned {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareServiceKeys)
	return keys
}

// Counts returns the operations issued so far.
func (r *Reconciler) Counts() Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts
}
