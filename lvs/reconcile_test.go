package lvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/config"
)

func svc(addr string, dests ...string) Service {
	ap := netip.MustParseAddrPort(addr)
	s := Service{Key: ServiceKey{Family: FamilyIPv4, Protocol: ProtoTCP, Addr: ap.Addr(), Port: ap.Port()}, Scheduler: "wlc", Netmask: 32}
	for _, d := range dests {
		w := 1
		if i := strings.IndexByte(d, '='); i >= 0 {
			fmt.Sscan(d[i+1:], &w)
			d = d[:i]
		}
		dap := netip.MustParseAddrPort(d)
		s.Dests = append(s.Dests, Destination{Addr: dap.Addr(), Port: dap.Port(), Weight: w})
	}
	return s
}

func table(svcs ...Service) Table {
	t := Table{Services: svcs}
	t.Sort()
	return t
}

func mustApply(t *testing.T, r *Reconciler, want Table) Result {
	t.Helper()
	res, err := r.Apply(want)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func kernelTable(t *testing.T, h Handle) Table {
	t.Helper()
	s, err := h.Services()
	if err != nil {
		t.Fatal(err)
	}
	return table(s...)
}

func assertTable(t *testing.T, h Handle, want Table) {
	t.Helper()
	if got := kernelTable(t, h); got.String() != want.String() {
		t.Errorf("kernel table\n%s\nwant\n%s", got, want)
	}
}

func TestReconcileFromEmptyThenNoop(t *testing.T) {
	h := NewFakeHandle()
	r := NewReconciler(h, nil)
	want := table(svc("10.0.0.1:80", "10.1.0.1:80", "10.1.0.2:80=3"), svc("10.0.0.2:80", "10.1.0.1:80"))
	mustApply(t, r, want)
	assertTable(t, h, want)
	if c := r.Counts(); c.CreateService != 2 || c.CreateDest != 3 || c.Writes() != 5 {
		t.Errorf("counts %+v, want 2 services and 3 destinations created", c)
	}
	before := r.Counts()
	if res := mustApply(t, r, want); len(res.Ops) != 0 {
		t.Errorf("second apply did %v", res.Ops)
	}
	if d := r.Counts().Sub(before); d.Writes() != 0 {
		t.Errorf("second apply wrote %+v", d)
	}
}

func TestReconcileMinimalChanges(t *testing.T) {
	h := NewFakeHandle()
	r := NewReconciler(h, nil)
	mustApply(t, r, table(svc("10.0.0.1:80", "10.1.0.1:80", "10.1.0.2:80"), svc("10.0.0.2:80", "10.1.0.1:80")))
	changed := svc("10.0.0.1:80", "10.1.0.1:80=0", "10.1.0.3:80")
	changed.Scheduler = "rr"
	want := table(changed, svc("10.0.0.3:80"))
	before := r.Counts()
	res := mustApply(t, r, want)
	var ops []string
	for _, o := range res.Ops {
		ops = append(ops, o.String())
	}
	wantOps := []string{
		"delete destination 10.1.0.2:80 (Masq weight 1) of TCP  10.0.0.1:80",
		"update service TCP  10.0.0.1:80 rr",
		"create service TCP  10.0.0.3:80 wlc",
		"update destination 10.1.0.1:80 (Masq weight 0) of TCP  10.0.0.1:80",
		"create destination 10.1.0.3:80 (Masq weight 1) of TCP  10.0.0.1:80",
		"delete service TCP  10.0.0.2:80",
	}
	if !slices.Equal(ops, wantOps) {
		t.Errorf("ops\n%s\nwant\n%s", strings.Join(ops, "\n"), strings.Join(wantOps, "\n"))
	}
	if d := r.Counts().Sub(before); d.Writes() != 6 {
		t.Errorf("writes %+v", d)
	}
	assertTable(t, h, want)
}

func TestReconcileAdoptsExistingTable(t *testing.T) {
	h := NewFakeHandle()
	want := table(svc("10.0.0.1:80", "10.1.0.1:80", "10.1.0.2:80"), svc("10.0.0.2:80", "10.1.0.1:80"))
	mustApply(t, NewReconciler(h, nil), want)

	// A restarted daemon: a fresh reconciler over the programmed table.
	r := NewReconciler(h, nil)
	res := mustApply(t, r, want)
	if c := r.Counts(); c.Writes() != 0 {
		t.Errorf("restart issued %+v", c)
	}
	if len(res.Adopted) != 2 || len(r.Owned()) != 2 {
		t.Errorf("adopted %v, owned %v", res.Adopted, r.Owned())
	}

	// Adopted entries that differ are corrected in place.
	r = NewReconciler(h, nil)
	h.CreateDest(want.Services[0].Key, Destination{Addr: netip.MustParseAddr("10.9.9.9"), Port: 80, Weight: 1})
	h.UpdateDest(want.Services[0].Key, Destination{Addr: netip.MustParseAddr("10.1.0.1"), Port: 80, Weight: 5})
	mustApply(t, r, want)
	if c := r.Counts(); c.CreatesDeletes() != 1 || c.UpdateDest != 1 || c.DeleteDest != 1 {
		t.Errorf("correction issued %+v, want one update and one delete", c)
	}
	assertTable(t, h, want)
}

func TestReconcileOwnership(t *testing.T) {
	h := NewFakeHandle()
	foreign := svc("10.0.0.99:80", "10.1.0.9:80")
	h.CreateService(foreign)
	h.CreateDest(foreign.Key, foreign.Dests[0])

	r := NewReconciler(h, nil)
	mine := svc("10.0.0.1:80", "10.1.0.1:80")
	mustApply(t, r, table(mine, svc("10.0.0.2:80")))
	mustApply(t, r, table(mine))
	assertTable(t, h, table(mine, foreign))

	if err := r.Release(); err != nil {
		t.Fatal(err)
	}
	assertTable(t, h, table(foreign))
}

func TestReconcileRepairsExternalFlush(t *testing.T) {
	h := NewFakeHandle()
	r := NewReconciler(h, nil)
	want := table(svc("10.0.0.1:80", "10.1.0.1:80"), svc("10.0.0.2:80", "10.1.0.1:80"))
	mustApply(t, r, want)
	h.Flush()
	res, err := r.Resync()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ops) != 4 {
		t.Errorf("repair ops %v", res.Ops)
	}
	assertTable(t, h, want)
}

func TestReconcileReportsFailedOps(t *testing.T) {
	h := NewFakeHandle()
	h.Fail = func(op Op) error {
		if op.Kind == CreateService && op.Service.Key.Port == 81 {
			return syscall.EINVAL
		}
		if op.Kind == CreateDest && op.Dest.Addr == netip.MustParseAddr("10.1.0.2") {
			return syscall.ENOMEM
		}
		return nil
	}
	r := NewReconciler(h, nil)
	_, err := r.Apply(table(svc("10.0.0.1:80", "10.1.0.1:80", "10.1.0.2:80"), svc("10.0.0.1:81", "10.1.0.1:81")))
	if err == nil {
		t.Fatal("no error")
	}
	want := "ipvs: create service TCP  10.0.0.1:81 wlc: invalid argument\n" +
		"ipvs: create destination 10.1.0.2:80 (Masq weight 1) of TCP  10.0.0.1:80: cannot allocate memory"
	if err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
	var oe *OpError
	if !errors.As(err, &oe) || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("error %v is not an OpError wrapping errno", err)
	}
	// The rest was applied.
	assertTable(t, h, table(svc("10.0.0.1:80", "10.1.0.1:80")))
}

// lyingHandle accepts every write and keeps nothing, as moby/ipvs does on
// a kernel without IPVS.
type lyingHandle struct{ FakeHandle }

func (*lyingHandle) CreateService(Service) error              { return nil }
func (*lyingHandle) CreateDest(ServiceKey, Destination) error { return nil }

func TestReconcileVerifiesWrites(t *testing.T) {
	h := &lyingHandle{*NewFakeHandle()}
	_, err := NewReconciler(h, nil).Apply(table(svc("10.0.0.1:80", "10.1.0.1:80")))
	if err == nil || !strings.Contains(err.Error(), "ipvs: verify TCP  10.0.0.1:80: missing from the kernel table after it was written") {
		t.Errorf("error %v", err)
	}
}

func TestReconcileOnePercentChange(t *testing.T) {
	h := NewFakeHandle()
	r := NewReconciler(h, nil)
	big := bigTable(100, 10, 0)
	mustApply(t, r, big)
	before := r.Counts()
	mustApply(t, r, bigTable(100, 10, 10))
	if d := r.Counts().Sub(before); d.Writes() != 10 || d.UpdateDest != 4 || d.DeleteDest != 3 || d.CreateDest != 3 {
		t.Errorf("1%% change: %+v, want 4 updates, 3 deletes and 3 creates of destinations", d)
	}
	assertTable(t, h, bigTable(100, 10, 10))
}

// bigTable returns services×dests entries, the first changed of which
// (in order) are changed: 40% get a new weight, 30% are removed and 30%
// get a new destination beside them. Each change is one operation.
func bigTable(services, dests, changed int) Table {
	var t Table
	n := 0
	for i := range services {
		s := Service{Key: ServiceKey{Family: FamilyIPv4, Protocol: ProtoTCP, Addr: netip.AddrFrom4([4]byte{10, 100, byte(i >> 8), byte(i)}), Port: 80}, Scheduler: "wlc", Netmask: 32}
		for j := range dests {
			d := Destination{Addr: netip.AddrFrom4([4]byte{10, 101, byte(j), 1}), Port: 8080, Weight: 1}
			if n < changed {
				switch n % 10 {
				case 0, 1, 2, 3:
					d.Weight = 2
				case 4, 5, 6:
					d.Port = 0 // removed
				default:
					s.Dests = append(s.Dests, Destination{Addr: netip.AddrFrom4([4]byte{10, 102, byte(j), 1}), Port: 8080, Weight: 1})
				}
			}
			n++
			if d.Port != 0 {
				s.Dests = append(s.Dests, d)
			}
		}
		t.Services = append(t.Services, s)
	}
	t.Sort()
	return t
}

func TestSetup(t *testing.T) {
	h := NewFakeHandle()
	h.CreateService(svc("10.0.0.1:80"))
	g := &config.GlobalDefs{LVSFlush: true, LVSTimeouts: config.LVSTimeouts{TCP: time.Hour, UDP: time.Minute}}
	if err := Setup(h, g); err != nil {
		t.Fatal(err)
	}
	if got := kernelTable(t, h); len(got.Services) != 0 {
		t.Errorf("lvs_flush left %v", got)
	}
	if got := h.Timeouts(); got != (Timeouts{TCP: time.Hour, UDP: time.Minute}) {
		t.Errorf("timeouts %+v", got)
	}
	g.LVSSyncDaemon = &config.LVSSyncDaemon{Interface: "eth1"}
	if err := Setup(h, g); !errors.Is(err, ErrNotSupported) {
		t.Errorf("lvs_sync_daemon: %v, want ErrNotSupported", err)
	}
}

// BenchmarkPlan measures the diff of a 1,000×10 table with a 1% change
// (no kernel involved).
func BenchmarkPlan(b *testing.B) {
	from, to := bigTable(1000, 10, 0), bigTable(1000, 10, 100)
	for b.Loop() {
		if ops := Plan(to, from, nil); len(ops) != 100 {
			b.Fatalf("%d ops", len(ops))
		}
	}
}

func TestReconcilerRunRepairsPeriodically(t *testing.T) {
	h := NewFakeHandle()
	r := NewReconciler(h, nil)
	want := table(svc("10.0.0.1:80", "10.1.0.1:80"))
	mustApply(t, r, want)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, 10*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()

	h.Flush()
	deadline := time.Now().Add(5 * time.Second)
	for kernelTable(t, h).String() != want.String() {
		if time.Now().After(deadline) {
			t.Fatalf("not repaired: %s", kernelTable(t, h))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReconcileApplyUsesKnownTable(t *testing.T) {
	h := NewFakeHandle()
	r := NewReconciler(h, nil)
	mustApply(t, r, bigTable(100, 10, 0))
	before := r.Counts()
	mustApply(t, r, bigTable(100, 10, 10))
	// 10 changes in the first service: one read-back, no whole-table read.
	if d := r.Counts().Sub(before); d.Reads != 1 || d.Writes() != 10 {
		t.Errorf("change cost %+v, want 10 writes and 1 read", d)
	}
}

func TestReconcileApplyRetriesAfterChangeBehindItsBack(t *testing.T) {
	h := NewFakeHandle()
	r := NewReconciler(h, nil)
	mustApply(t, r, table(svc("10.0.0.1:80", "10.1.0.1:80")))
	h.Flush() // the reconciler does not know
	want := table(svc("10.0.0.1:80", "10.1.0.1:80", "10.1.0.2:80"))
	res := mustApply(t, r, want) // CreateDest fails (no service), then a fresh read repairs
	if len(res.Ops) != 3 {
		t.Errorf("ops %v", res.Ops)
	}
	assertTable(t, h, want)
}
