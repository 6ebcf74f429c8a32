//go:build linux

package lvs

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/tandem-ha/tandem/config"
)

// The TestKernel* tests program the real kernel's IPVS table. They run
// only inside the VM that TestInVM boots (TANDEM_IN_VM set), one after
// the other, each on an emptied table.

const inVMEnv = "TANDEM_IN_VM"

// kernel returns a handle on the guest's IPVS table, emptied before and
// after the test.
func kernel(t testing.TB) *KernelHandle {
	t.Helper()
	if os.Getenv(inVMEnv) == "" {
		t.Skip("programs the kernel's IPVS table: runs inside the VM booted by TestInVM")
	}
	h, err := OpenKernel("")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Flush()
		h.Close()
	})
	return h
}

// showKernel logs the kernel table as ipvsadm -Ln shows it, read back
// from the kernel.
func showKernel(t testing.TB, h Handle, title string) Table {
	t.Helper()
	s, err := h.Services()
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	tab := Table{Services: s}
	tab.Sort()
	t.Logf("%s: kernel IPVS table read back:\n%s", title, tab)
	return tab
}

func TestOpenKernelWithoutIPVS(t *testing.T) {
	if _, err := netlink.GenlFamilyGet("IPVS"); err == nil {
		t.Skip("this kernel has IPVS")
	}
	_, err := OpenKernel("")
	if !errors.Is(err, ErrNoIPVS) || !strings.HasPrefix(err.Error(), "kernel has no IPVS: load ip_vs or use a kernel with CONFIG_IP_VS") {
		t.Fatalf("OpenKernel on a kernel without IPVS: %v", err)
	}
	t.Logf("as expected: %v", err)
}

// applyConfig runs the configuration through the pool and reconciler and
// checks that the kernel reads back exactly the desired table.
func applyConfig(t *testing.T, h Handle, r *Reconciler, p *Pool, health Health) Table {
	t.Helper()
	want, _, err := p.Update(health, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(want); err != nil {
		t.Fatal(err)
	}
	got := kernelTableOf(t, h)
	if got.String() != want.String() {
		t.Fatalf("kernel holds\n%s\nwant\n%s", got, want)
	}
	return got
}

func kernelTableOf(t *testing.T, h Handle) Table {
	t.Helper()
	s, err := h.Services()
	if err != nil {
		t.Fatal(err)
	}
	tab := Table{Services: s}
	tab.Sort()
	return tab
}

var schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}

func TestKernelSchedulersMethodsAndAttributes(t *testing.T) {
	h := kernel(t)
	var conf strings.Builder
	for i, s := range schedulers {
		flags := ""
		switch s {
		case "sh", "mh":
			flags = s + "-port\n\t" + s + "-fallback"
		case "rr":
			flags = "flag-1\n\tflag-3"
		}
		fmt.Fprintf(&conf, `virtual_server 10.50.0.%d 80 {
	lvs_sched %s
	%s
	real_server 10.51.0.1 80 { weight 3 }
	real_server 10.51.0.2 80 { lvs_method DR }
	real_server 10.51.0.3 80 { lvs_method TUN
		uthreshold 100
		lthreshold 10 }
}
`, i+1, s, flags)
	}
	conf.WriteString(`virtual_server 10.50.1.1 53 {
	protocol UDP
	ops
	persistence_timeout 30
	persistence_granularity 255.255.255.0
	real_server 10.51.0.1 53 { }
}
virtual_server 10.50.1.2 3868 {
	protocol SCTP
	persistence_timeout
	real_server 10.51.0.1 3868 { }
}
virtual_server fwmark 7 {
	lvs_method DR
	real_server 10.51.0.1 0 { }
}
virtual_server fwmark 8 {
	ip_family inet6
	real_server 2001:db8::1 0 { lvs_method DR }
}
virtual_server 2001:db8:1::1 443 {
	persistence_timeout 10
	persistence_granularity 64
	real_server 2001:db8::1 443 { weight 2 }
	real_server 2001:db8::2 443 { lvs_method TUN }
}
`)
	p := NewPool(loadConfig(t, conf.String()), PoolOptions{})
	r := NewReconciler(h, nil)
	got := applyConfig(t, h, r, p, nil)
	showKernel(t, h, "every scheduler, method and service attribute")
	if n := len(got.Services); n != len(schedulers)+5 {
		t.Errorf("%d services in the kernel", n)
	}
	if c := r.Counts(); c.Reads == 0 || c.UpdateService+c.UpdateDest != 0 {
		t.Errorf("counts %+v: want creates only", c)
	}
}

func TestKernelTunnelOptionsRefused(t *testing.T) {
	h := kernel(t)
	p := NewPool(loadConfig(t, `virtual_server 10.50.0.1 80 {
	real_server 10.51.0.1 80 { lvs_method TUN type gue port 6080 }
}`), PoolOptions{})
	want, _, _ := p.Update(nil, nil)
	_, err := NewReconciler(h, nil).Apply(want)
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("TUN type gue: %v, want ErrNotSupported", err)
	}
	t.Logf("as expected: %v", err)
}

func TestKernelHealthQuorumSorry(t *testing.T) {
	h := kernel(t)
	c := loadConfig(t, `virtual_server 10.50.0.1 80 {
	lvs_sched wrr
	quorum 3
	hysteresis 1
	sorry_server 10.52.0.1 8080
	sorry_server_inhibit
	real_server 10.51.0.1 80 { weight 2
		TCP_CHECK { } }
	real_server 10.51.0.2 80 { inhibit_on_failure
		TCP_CHECK { } }
	real_server 10.51.0.3 80 { TCP_CHECK { } }
}`)
	p := NewPool(c, PoolOptions{})
	r := NewReconciler(h, nil)
	vs := "[10.50.0.1]:tcp:80"
	r1, r2, r3 := rsKey(vs, "10.51.0.1:80"), rsKey(vs, "10.51.0.2:80"), rsKey(vs, "10.51.0.3:80")
	up, down := State{Up: true}, State{Up: false}
	steps := []struct {
		name   string
		health Health
		want   []string
	}{
		{"all up", Health{r1: up, r2: up, r3: up}, []string{"TCP 10.50.0.1:80 wrr", "-> 10.51.0.1:80 Masq 2", "-> 10.51.0.2:80 Masq 1", "-> 10.51.0.3:80 Masq 1", "-> 10.52.0.1:8080 Masq 0"}},
		{"r3 down: removed", Health{r1: up, r2: up, r3: down}, []string{"TCP 10.50.0.1:80 wrr", "-> 10.51.0.1:80 Masq 2", "-> 10.51.0.2:80 Masq 1", "-> 10.52.0.1:8080 Masq 0"}},
		{"r2 down: inhibited, quorum kept by hysteresis", Health{r1: up, r2: down, r3: down}, []string{"TCP 10.50.0.1:80 wrr", "-> 10.51.0.1:80 Masq 2", "-> 10.51.0.2:80 Masq 0", "-> 10.52.0.1:8080 Masq 0"}},
		{"dynamic weight 1: quorum lost, sorry server", Health{r1: {Up: true, Weight: ptr(1)}, r2: down, r3: down}, []string{"TCP 10.50.0.1:80 wrr", "-> 10.51.0.2:80 Masq 0", "-> 10.52.0.1:8080 Masq 1"}},
		{"all back", Health{r1: up, r2: up, r3: up}, []string{"TCP 10.50.0.1:80 wrr", "-> 10.51.0.1:80 Masq 2", "-> 10.51.0.2:80 Masq 1", "-> 10.51.0.3:80 Masq 1", "-> 10.52.0.1:8080 Masq 0"}},
	}
	for _, s := range steps {
		got := applyConfig(t, h, r, p, s.health)
		if l := lines(got); !slices.Equal(l, s.want) {
			t.Errorf("%s: kernel\n%s\nwant\n%s", s.name, strings.Join(l, "\n"), strings.Join(s.want, "\n"))
		}
		showKernel(t, h, s.name)
	}
}

func TestKernelAdoptAfterRestart(t *testing.T) {
	h := kernel(t)
	c := loadConfig(t, `virtual_server 10.50.0.1 80 {
	persistence_timeout 600
	real_server 10.51.0.1 80 { weight 5 }
	real_server 10.51.0.2 80 { lvs_method DR }
}
virtual_server fwmark 3 {
	real_server 10.51.0.1 0 { }
}`)
	want, _, err := NewPool(c, PoolOptions{}).Update(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := NewReconciler(h, nil)
	if _, err := first.Apply(want); err != nil {
		t.Fatal(err)
	}
	t.Logf("first instance: %+v", first.Counts())

	// The daemon restarts: a new netlink handle, a new reconciler.
	h2, err := OpenKernel("")
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	second := NewReconciler(h2, nil)
	res, err := second.Apply(want)
	if err != nil {
		t.Fatal(err)
	}
	c2 := second.Counts()
	t.Logf("second instance: adopted %v, counts %+v", res.Adopted, c2)
	if c2.Writes() != 0 {
		t.Errorf("the restarted reconciler wrote %+v, want nothing", c2)
	}
	if len(res.Adopted) != 2 {
		t.Errorf("adopted %v, want both services", res.Adopted)
	}
	showKernel(t, h2, "after the restart")
}

func TestKernelRepairsExternalFlush(t *testing.T) {
	h := kernel(t)
	c := loadConfig(t, `virtual_server 10.50.0.1 80 {
	real_server 10.51.0.1 80 { }
	real_server 10.51.0.2 80 { }
}`)
	want, _, _ := NewPool(c, PoolOptions{}).Update(nil, nil)
	r := NewReconciler(h, nil)
	if _, err := r.Apply(want); err != nil {
		t.Fatal(err)
	}
	// ipvsadm -C from someone else, then an edit.
	other, err := OpenKernel("")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Flush(); err != nil {
		t.Fatal(err)
	}
	showKernel(t, h, "after an external flush")
	before := r.Counts()
	res, err := r.Resync()
	if err != nil {
		t.Fatal(err)
	}
	d := r.Counts().Sub(before)
	if d.CreateService != 1 || d.CreateDest != 2 || d.Writes() != 3 {
		t.Errorf("repair wrote %+v", d)
	}
	t.Logf("repaired with %d ops", len(res.Ops))
	if got := kernelTableOf(t, h); got.String() != want.String() {
		t.Errorf("after repair\n%s\nwant\n%s", got, want)
	}
	// Someone changes a weight and adds a destination.
	other.UpdateDest(want.Services[0].Key, Destination{Addr: want.Services[0].Dests[0].Addr, Port: 80, Weight: 9})
	res, err = r.Resync()
	if err != nil || len(res.Ops) != 1 {
		t.Errorf("second repair: %v, %v", res.Ops, err)
	}
}

func TestKernelReleaseKeepsForeignServices(t *testing.T) {
	h := kernel(t)
	foreign := svc("10.50.9.9:80", "10.51.0.9:80")
	if err := h.CreateService(foreign); err != nil {
		t.Fatal(err)
	}
	h.CreateDest(foreign.Key, foreign.Dests[0])
	r := NewReconciler(h, nil)
	if _, err := r.Apply(table(svc("10.50.0.1:80", "10.51.0.1:80"))); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(); err != nil {
		t.Fatal(err)
	}
	got := showKernel(t, h, "after release")
	if got.String() != table(foreign).String() {
		t.Errorf("after release\n%s\nwant only the foreign service", got)
	}
}

func TestKernelTimeouts(t *testing.T) {
	h := kernel(t)
	g := &config.GlobalDefs{LVSTimeouts: config.LVSTimeouts{TCP: 2 * time.Hour, TCPFin: 30 * time.Second, UDP: 90 * time.Second}}
	if err := Setup(h, g); err != nil {
		t.Fatal(err)
	}
	got, err := h.GetTimeouts()
	if err != nil {
		t.Fatal(err)
	}
	if got != (Timeouts{TCP: 2 * time.Hour, TCPFin: 30 * time.Second, UDP: 90 * time.Second}) {
		t.Errorf("timeouts read back %+v", got)
	}
	g.LVSSyncDaemon = &config.LVSSyncDaemon{Interface: "eth0"}
	if err := Setup(h, g); !errors.Is(err, ErrNotSupported) {
		t.Errorf("lvs_sync_daemon: %v", err)
	}
}

// BenchmarkKernelReconcile programs a 1,000-service × 10-destination
// table into an empty kernel table, then applies a 1% change (100
// destinations: 40 weight changes, 30 removals, 30 additions), and
// reports the netlink writes and the time of each step, and of a periodic
// resync (a whole-table read) that finds nothing to do.
func BenchmarkKernelReconcile(b *testing.B) {
	h := kernel(b)
	full, changed := bigTable(1000, 10, 0), bigTable(1000, 10, 100)
	var fullOps, changeOps, resyncOps Counts
	var fullTime, changeTime, resyncTime time.Duration
	for b.Loop() {
		h.Flush()
		r := NewReconciler(h, nil)
		start := time.Now()
		if _, err := r.Apply(full); err != nil {
			b.Fatal(err)
		}
		fullTime += time.Since(start)
		fullOps = r.Counts()
		start = time.Now()
		if _, err := r.Apply(changed); err != nil {
			b.Fatal(err)
		}
		changeTime += time.Since(start)
		changeOps = r.Counts().Sub(fullOps)
		before := r.Counts()
		start = time.Now()
		if _, err := r.Resync(); err != nil {
			b.Fatal(err)
		}
		resyncTime += time.Since(start)
		resyncOps = r.Counts().Sub(before)
	}
	n := float64(b.N)
	b.ReportMetric(float64(fullOps.Writes()), "writes/full")
	b.ReportMetric(fullTime.Seconds()*1000/n, "ms/full")
	b.ReportMetric(float64(changeOps.Writes()), "writes/1%")
	b.ReportMetric(changeTime.Seconds()*1000/n, "ms/1%")
	b.ReportMetric(float64(changeOps.Reads), "reads/1%")
	b.ReportMetric(resyncTime.Seconds()*1000/n, "ms/resync")
	b.Logf("from empty: %+v in %s; 1%% change: %+v in %s; periodic resync (whole-table read, no change): %+v in %s",
		fullOps, fullTime/time.Duration(b.N), changeOps, changeTime/time.Duration(b.N), resyncOps, resyncTime/time.Duration(b.N))
	if resyncOps.Writes() != 0 {
		b.Errorf("a resync of an unchanged table wrote %+v", resyncOps)
	}
	if changeOps.Writes() != 100 {
		b.Errorf("the 1%% change took %d writes, want 100", changeOps.Writes())
	}
}
