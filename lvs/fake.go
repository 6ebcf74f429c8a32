package lvs

import (
	"slices"
	"sync"
	"syscall"
)

// FakeHandle is an in-memory IPVS table for unit tests of code that
// programs IPVS. It answers like the kernel: EEXIST for an entry that
// exists, ENOENT (ESRCH for a service) for one that does not.
type FakeHandle struct {
	mu       sync.Mutex
	svcs     map[ServiceKey]*Service
	timeouts Timeouts
	// Fail, when set, is asked before every write; a non-nil error fails it.
	Fail func(op Op) error
}

// NewFakeHandle returns an empty fake table.
func NewFakeHandle() *FakeHandle { return &FakeHandle{svcs: map[ServiceKey]*Service{}} }

func (f *FakeHandle) fail(op Op) error {
	if f.Fail == nil {
		return nil
	}
	return f.Fail(op)
}

// Services returns a copy of the table.
func (f *FakeHandle) Services() ([]Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := Table{}
	for _, s := range f.svcs {
		c := *s
		c.Dests = slices.Clone(s.Dests)
		t.Services = append(t.Services, c)
	}
	t.Sort()
	return t.Services, nil
}

// Service returns a copy of one service.
func (f *FakeHandle) Service(k ServiceKey) (Service, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.svcs[k]
	if !ok {
		return Service{}, false, nil
	}
	c := *s
	c.Dests = slices.Clone(s.Dests)
	return c, true, nil
}

// CreateService adds a service without destinations.
func (f *FakeHandle) CreateService(s Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(Op{Kind: CreateService, Service: s}); err != nil {
		return err
	}
	if _, ok := f.svcs[s.Key]; ok {
		return syscall.EEXIST
	}
	s.Dests = nil
	s.Flags &^= FlagHashed
	f.svcs[s.Key] = &s
	return nil
}

// UpdateService changes a service's attributes.
func (f *FakeHandle) UpdateService(s Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(Op{Kind: UpdateService, Service: s}); err != nil {
		return err
	}
	cur, ok := f.svcs[s.Key]
	if !ok {
		return syscall.ESRCH
	}
	s.Dests = cur.Dests
	*cur = s
	return nil
}

// DeleteService removes a service and its destinations.
func (f *FakeHandle) DeleteService(k ServiceKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(Op{Kind: DeleteService, Service: Service{Key: k}}); err != nil {
		return err
	}
	if _, ok := f.svcs[k]; !ok {
		return syscall.ESRCH
	}
	delete(f.svcs, k)
	return nil
}

func (f *FakeHandle) dest(k ServiceKey, d Destination) (*Service, int, error) {
	s, ok := f.svcs[k]
	if !ok {
		return nil, 0, syscall.ESRCH
	}
	i := slices.IndexFunc(s.Dests, func(x Destination) bool { return x.AddrPort() == d.AddrPort() })
	return s, i, nil
}

// CreateDest adds a destination to a service.
func (f *FakeHandle) CreateDest(k ServiceKey, d Destination) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(Op{Kind: CreateDest, Service: Service{Key: k}, Dest: d}); err != nil {
		return err
	}
	s, i, err := f.dest(k, d)
	if err != nil {
		return err
	}
	if i >= 0 {
		return syscall.EEXIST
	}
	s.Dests = append(s.Dests, d)
	slices.SortFunc(s.Dests, func(a, b Destination) int { return a.AddrPort().Compare(b.AddrPort()) })
	return nil
}

// UpdateDest changes a destination.
func (f *FakeHandle) UpdateDest(k ServiceKey, d Destination) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(Op{Kind: UpdateDest, Service: Service{Key: k}, Dest: d}); err != nil {
		return err
	}
	s, i, err := f.dest(k, d)
	if err != nil {
		return err
	}
	if i < 0 {
		return syscall.ENOENT
	}
	s.Dests[i] = d
	return nil
}

// DeleteDest removes a destination.
func (f *FakeHandle) DeleteDest(k ServiceKey, d Destination) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(Op{Kind: DeleteDest, Service: Service{Key: k}, Dest: d}); err != nil {
		return err
	}
	s, i, err := f.dest(k, d)
	if err != nil {
		return err
	}
	if i < 0 {
		return syscall.ENOENT
	}
	s.Dests = slices.Delete(s.Dests, i, i+1)
	return nil
}

// Flush deletes every service.
func (f *FakeHandle) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.svcs)
	return nil
}

// SetTimeouts records the timeouts (zero fields unchanged).
func (f *FakeHandle) SetTimeouts(t Timeouts) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.TCP != 0 {
		f.timeouts.TCP = t.TCP
	}
	if t.TCPFin != 0 {
		f.timeouts.TCPFin = t.TCPFin
	}
	if t.UDP != 0 {
		f.timeouts.UDP = t.UDP
	}
	return nil
}

// Timeouts returns the timeouts set so far.
func (f *FakeHandle) Timeouts() Timeouts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.timeouts
}
