package lab

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// subnet is this package's lab subnet; other packages use others.
var subnet = netip.MustParsePrefix("10.123.1.0/24")

// waitFor polls cond until it holds or timeout passes, then fails t with
// cond's last explanation.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping pings to from h once, waiting at most a second.
func ping(ctx context.Context, h *Host, to netip.Addr) error {
	_, err := h.Run(ctx, "ping", "-c", "1", "-W", "1", to.String())
	return err
}

func TestHostsReachEachOther(t *testing.T) {
	l := New(t, Options{Subnet: subnet})
	ctx := t.Context()
	h1, h2, h3 := l.Host("h1"), l.Host("h2"), l.Host("h3")

	if h1.IP != netip.MustParseAddr("10.123.1.1") || h3.IP != netip.MustParseAddr("10.123.1.3") {
		t.Errorf("addresses: h1 %v, h3 %v; want 10.123.1.1, 10.123.1.3", h1.IP, h3.IP)
	}
	if got := h2.MAC.String(); got != "02:00:0a:7b:01:02" {
		t.Errorf("h2 MAC = %s, want 02:00:0a:7b:01:02", got)
	}
	for _, pair := range [][2]*Host{{h1, h2}, {h2, h3}, {h3, h1}} {
		if err := ping(ctx, pair[0], pair[1].IP); err != nil {
			t.Fatalf("ping %s -> %s: %v", pair[0].Name, pair[1].Name, err)
		}
	}
	if mac, err := h1.Neigh(h2.IP); err != nil || !bytes.Equal(mac, h2.MAC) {
		t.Errorf("h1's ARP entry for h2 = %v, %v; want %v", mac, err, h2.MAC)
	}
	if mac, err := h1.Neigh(l.IP(200)); err != nil || mac != nil {
		t.Errorf("h1's ARP entry for an unused address = %v, %v; want none", mac, err)
	}

	// Run sees the namespace's own interfaces, in /sys too.
	out, err := h3.Run(ctx, "cat", "/sys/class/net/eth0/address")
	if err != nil || strings.TrimSpace(string(out)) != h3.MAC.String() {
		t.Errorf("h3 /sys/class/net/eth0/address = %q, %v; want %s", out, err, h3.MAC)
	}

	// Do runs Go code in the namespace, and only there.
	var inside []string
	err = h2.Do(func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			inside = append(inside, i.Name+" "+i.HardwareAddr.String())
		}
		return err
	})
	if err != nil || len(inside) != 2 || inside[1] != "eth0 "+h2.MAC.String() {
		t.Errorf("interfaces seen by h2.Do = %q, %v; want lo and eth0 %s", inside, err, h2.MAC)
	}
	if _, err := net.InterfaceByName(h2.Link); err == nil {
		// The test machine may have an eth0; it must not be h2's.
		if i, _ := net.InterfaceByName(h2.Link); bytes.Equal(i.HardwareAddr, h2.MAC) {
			t.Errorf("h2's eth0 is visible outside h2.Do")
		}
	}
}

func TestCutLink(t *testing.T) {
	l := New(t, Options{Subnet: subnet, Hosts: []string{"a", "b"}})
	ctx := t.Context()
	a, b := l.Host("a"), l.Host("b")
	if err := ping(ctx, a, b.IP); err != nil {
		t.Fatalf("before the cut: %v", err)
	}

	if err := l.CutLink("b"); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, a, b.IP); err == nil {
		t.Errorf("a reaches b through a cut link")
	}
	if up := carrier(t, b); !up {
		t.Errorf("b lost carrier on a cut link; want it to see its link up")
	}
	if err := l.RestoreLink("b"); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, a, b.IP); err != nil {
		t.Errorf("after RestoreLink: %v", err)
	}

	if err := l.SetLinkUp("b", false); err != nil {
		t.Fatal(err)
	}
	if carrier(t, b) {
		t.Errorf("b has carrier after SetLinkUp(false)")
	}
	if err := l.SetLinkUp("b", true); err != nil {
		t.Fatal(err)
	}
	if !carrier(t, b) {
		t.Errorf("b has no carrier after SetLinkUp(true)")
	}
	if err := ping(ctx, a, b.IP); err != nil {
		t.Errorf("after SetLinkUp: %v", err)
	}
}

// carrier reports whether h's Link has carrier.
func carrier(t *testing.T, h *Host) bool {
	var up bool
	err := h.Do(func() error {
		link, err := netlink.LinkByName(h.Link)
		if err == nil {
			up = link.Attrs().RawFlags&syscall.IFF_RUNNING != 0
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// keepalivedConf configures a VRRPv2 instance like the ones tandem must
// interoperate with.
func keepalivedConf(h *Host, prio int, vip netip.Addr) string {
	return fmt.Sprintf(`global_defs {
	router_id %s
}
vrrp_instance VI_1 {
	state BACKUP
	interface %s
	virtual_router_id 51
	priority %d
	advert_int 1
	authentication {
		auth_type PASS
		auth_pass tandem
	}
	virtual_ipaddress {
		%s/24
	}
}
`, h.Name, h.Link, prio, vip)
}

// holders returns the names of the hosts holding ip.
func holders(t *testing.T, l *Lab, ip netip.Addr) []string {
	var names []string
	for _, h := range l.Hosts() {
		has, err := h.HasAddr(ip)
		if err != nil {
			t.Fatal(err)
		}
		if has {
			names = append(names, h.Name)
		}
	}
	return names
}

func TestStockKeepalivedFailover(t *testing.T) {
	l := New(t, Options{Subnet: subnet})
	ctx := t.Context()
	h1, h2, client := l.Host("h1"), l.Host("h2"), l.Host("h3")
	vip := l.IP(100)

	capture, err := l.Capture(ctx, "", "ip proto 112")
	if err != nil {
		t.Fatal(err)
	}
	ka1 := StartKeepalived(t, h1, keepalivedConf(h1, 100, vip))
	ka2 := StartKeepalived(t, h2, keepalivedConf(h2, 90, vip))

	waitFor(t, 10*time.Second, func() (bool, string) {
		got := holders(t, l, vip)
		return len(got) == 1 && got[0] == "h1", fmt.Sprintf("VIP held by %v, want [h1]", got)
	})
	for _, ka := range []*Proc{ka1, ka2} {
		select {
		case <-ka.Done():
			t.Fatalf("%s exited: %v\n%s", ka.Name, ka.Wait(), ka.Log())
		default:
		}
	}
	if err := ping(ctx, client, vip); err != nil {
		t.Fatal(err)
	}
	if mac, _ := client.Neigh(vip); !bytes.Equal(mac, h1.MAC) {
		t.Errorf("client reaches the VIP at %v, want h1's %v", mac, h1.MAC)
	}

	// The pcap can be read while tcpdump still writes it.
	waitFor(t, 10*time.Second, func() (bool, string) {
		frames, err := ReadPcap(capture.Path())
		n := 0
		for _, f := range frames {
			if p, ok := f.IPv4(); ok && p.Src == h1.IP {
				n++
			}
		}
		return n >= 3, fmt.Sprintf("%d adverts from h1 captured (%v), want 3", n, err)
	})

	// A crash: keepalived dies without a priority 0 advert and leaves the
	// VIP on h1; h2 takes over once h1's adverts stop.
	crash := time.Now()
	if err := ka1.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() (bool, string) {
		has, err := h2.HasAddr(vip)
		return has && err == nil, fmt.Sprintf("VIP held by %v, want h2 among them", holders(t, l, vip))
	})
	t.Logf("h2 holds the VIP %v after h1's crash", time.Since(crash).Round(time.Millisecond))
	waitFor(t, 10*time.Second, func() (bool, string) {
		mac, err := client.Neigh(vip)
		return bytes.Equal(mac, h2.MAC), fmt.Sprintf("client's ARP entry for the VIP is %v, %v; want h2's %v", mac, err, h2.MAC)
	})

	path, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	frames, err := ReadPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	var lastH1, firstH2 time.Time
	for _, f := range frames {
		p, ok := f.IPv4()
		if !ok || p.Protocol != 112 || len(p.Payload) < 8 {
			t.Fatalf("captured a frame that is no VRRP advert: % x", f.Data)
		}
		if p.Dst != netip.MustParseAddr("224.0.0.18") || p.TTL != 255 || p.Payload[0] != 0x21 || p.Payload[1] != 51 {
			t.Errorf("advert %v -> %v TTL %d, version/type %#x, VRID %d; want to 224.0.0.18, TTL 255, 0x21, VRID 51",
				p.Src, p.Dst, p.TTL, p.Payload[0], p.Payload[1])
		}
		switch {
		case p.Src == h1.IP && bytes.Equal(f.Src(), h1.MAC) && p.Payload[2] == 100:
			lastH1 = f.Time
		case p.Src == h2.IP && bytes.Equal(f.Src(), h2.MAC) && p.Payload[2] == 90:
			// h2 may have been master for a moment at startup, before
			// h1 preempted it.
			if firstH2.IsZero() || firstH2.Before(lastH1) {
				firstH2 = f.Time
			}
		default:
			t.Errorf("advert from %v (%v) with priority %d", p.Src, f.Src(), p.Payload[2])
		}
	}
	if lastH1.IsZero() || !lastH1.Before(crash) || !firstH2.After(lastH1) {
		t.Fatalf("%d adverts: h1's last at %v, h2's first at %v; want h2's after h1's", len(frames), lastH1, firstH2)
	}
	t.Logf("%d adverts; h2's first came %v after h1's last", len(frames), firstH2.Sub(lastH1).Round(time.Millisecond))
}

func TestTeardownLeavesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("lab: network namespace tests need root")
	}
	var id string
	var pids []int
	t.Run("lab", func(t *testing.T) {
		l := New(t, Options{Subnet: subnet, Hosts: []string{"h1"}})
		id = l.ID
		h1 := l.Host("h1")
		sleeper, err := h1.Start(t.Context(), "sleep", "1000")
		if err != nil {
			t.Fatal(err)
		}
		// Escapes the process group: only the namespace scan finds it.
		escaper, err := h1.Start(t.Context(), "setsid", "-f", "sleep", "1001")
		if err != nil {
			t.Fatal(err)
		}
		escaper.Wait()
		StartKeepalived(t, h1, keepalivedConf(h1, 100, l.IP(100)))
		waitFor(t, 10*time.Second, func() (bool, string) {
			_, err := os.Stat(filepath.Join(keepalivedRunDir, h1.NSName))
			return err == nil, "keepalived made no " + keepalivedRunDir + "/" + h1.NSName
		})
		ids := map[nsID]bool{}
		for _, name := range []string{l.SwitchNS(), h1.NSName} {
			nsid, err := nsIDOf(filepath.Join(netnsDir, name))
			if err != nil {
				t.Fatal(err)
			}
			ids[nsid] = true
		}
		pids = procsIn(ids)
		if len(pids) < 4 { // sleep, sleep, keepalived and its VRRP child
			t.Fatalf("processes in the lab: %v, want at least 4", pids)
		}
		if !contains(pids, sleeper.Pid()) {
			t.Fatalf("sleep (pid %d) not among the lab's processes %v", sleeper.Pid(), pids)
		}
	})
	if id == "" {
		t.Fatal("no lab was built")
	}
	for _, dir := range []string{netnsDir, keepalivedRunDir} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), id) {
				t.Errorf("left behind: %s/%s", dir, e.Name())
			}
		}
	}
	for _, pid := range pids {
		if pidAlive(pid) {
			t.Errorf("left behind: process %d", pid)
		}
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestLeftoversOfDeadRunsAreReaped(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("lab: network namespace tests need root")
	}
	// No process ever has a pid above the kernel's limit of 2^22.
	name := fmt.Sprintf("tlab-%d-%08x-h1", 1<<22+1, rand.Uint32())
	kaDir := filepath.Join(keepalivedRunDir, name)
	orphan := exec.Command("ip", "netns", "exec", name, "sleep", "1000")
	orphan.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	exited := make(chan error, 1)
	// Under the lab lock, so that no test process reaps the leftover
	// before it is complete.
	err := withLock(func() error {
		if err := ensureNetnsDirLocked(); err != nil {
			return err
		}
		ns, err := createNetns(name)
		if err != nil {
			return err
		}
		ns.Close()
		t.Cleanup(func() { deleteNetns(name) })
		nsid, err := nsIDOf(filepath.Join(netnsDir, name))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(kaDir, 0o755); err != nil {
			return err
		}
		// A process left running in the dead run's namespace, in a
		// process group of its own.
		if err := orphan.Start(); err != nil {
			return err
		}
		go func() { exited <- orphan.Wait() }()
		t.Cleanup(func() { orphan.Process.Kill() })
		deadline := time.Now().Add(5 * time.Second)
		for !contains(procsIn(map[nsID]bool{nsid: true}), orphan.Process.Pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("sleep not running in %s after 5s", name)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	New(t, Options{Subnet: subnet, Hosts: []string{"h1"}})

	if _, err := os.Lstat(filepath.Join(netnsDir, name)); !os.IsNotExist(err) {
		t.Errorf("leftover namespace %s still there (%v)", name, err)
	}
	if _, err := os.Lstat(kaDir); !os.IsNotExist(err) {
		t.Errorf("leftover %s still there (%v)", kaDir, err)
	}
	select {
	case err := <-exited:
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("leftover process ended with %v, want SIGKILL", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("leftover process (pid %d) still running", orphan.Process.Pid)
	}
}

// TestKilledRunIsReaped SIGKILLs a test process that holds a lab, then checks
// that its processes died with it and that the next lab deletes its
// namespaces.
func TestKilledRunIsReaped(t *testing.T) {
	if os.Getenv("LAB_KILLED_RUN") != "" {
		killedRun()
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("lab: network namespace tests need root")
	}
	child := exec.Command(os.Args[0], "-test.run=^TestKilledRunIsReaped$")
	child.Env = append(os.Environ(), "LAB_KILLED_RUN="+t.TempDir())
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	var id string
	var pid int
	if _, err := fmt.Fscanln(out, &id, &pid); err != nil {
		t.Fatalf("child's lab: %v", err)
	}
	left := func() []string {
		var names []string
		entries, _ := os.ReadDir(netnsDir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), id+"-") {
				names = append(names, e.Name())
			}
		}
		return names
	}
	if got := left(); len(got) != 2 {
		t.Fatalf("the child's lab has namespaces %v; want its switch and h1", got)
	}
	child.Process.Kill()
	child.Wait()

	waitFor(t, 5*time.Second, func() (bool, string) {
		return !pidAlive(pid), fmt.Sprintf("the killed run's sleep (pid %d) outlived it", pid)
	})
	New(t, Options{Subnet: subnet, Hosts: []string{"h1"}})
	if got := left(); len(got) != 0 {
		t.Errorf("namespaces %v of the killed run survived New", got)
	}
}

// killedRun is the child of TestKilledRunIsReaped: it builds a lab, starts a
// process in it, says so, and waits to be killed.
func killedRun() {
	l, err := Create(Options{Subnet: subnet, Hosts: []string{"h1"}, Dir: os.Getenv("LAB_KILLED_RUN")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p, err := l.Host("h1").Start(context.Background(), "sleep", "1000")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.ID, p.Pid())
	select {}
}

func TestCreateRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]Options{
		"no subnet":        {},
		"outside 10/8":     {Subnet: netip.MustParsePrefix("192.168.1.0/24")},
		"IPv6":             {Subnet: netip.MustParsePrefix("fd00::/64")},
		"too many hosts":   {Subnet: netip.MustParsePrefix("10.1.1.0/30"), Hosts: []string{"a", "b", "c"}},
		"reserved name":    {Subnet: subnet, Hosts: []string{"switch"}},
		"long name":        {Subnet: subnet, Hosts: []string{"a-very-long-hostname"}},
		"upper case":       {Subnet: subnet, Hosts: []string{"H1"}},
		"name given twice": {Subnet: subnet, Hosts: []string{"a", "a"}},
	} {
		if l, err := Create(opts); err == nil {
			l.Close()
			t.Errorf("%s: created a lab", name)
		}
	}
}
