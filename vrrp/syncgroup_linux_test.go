package vrrp_test

import (
	"context"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// ipCmd runs ip(8) with args, failing t on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(context.Background(), "ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// secondLink gives hosts a and b an eth1 each, plugged into a second
// bridge br1 of the lab's switch, addressed from net (.1 and .2), and
// returns the switch-side port of a's eth1: setting it down pulls a's
// cable (a loses carrier, b keeps it).
func secondLink(t *testing.T, l *lab.Lab, a, b *lab.Host, pfx netip.Prefix) string {
	t.Helper()
	sw := l.SwitchNS()
	ipCmd(t, "-n", sw, "link", "add", "br1", "type", "bridge", "mcast_snooping", "0")
	ipCmd(t, "-n", sw, "link", "set", "br1", "up")
	ip := pfx.Addr()
	for i, h := range []*lab.Host{a, b} {
		ip = ip.Next()
		port := []string{"pa1", "pb1"}[i]
		ipCmd(t, "-n", h.NSName, "link", "add", "eth1", "type", "veth", "peer", "name", port, "netns", sw)
		ipCmd(t, "-n", sw, "link", "set", port, "master", "br1", "up")
		ipCmd(t, "-n", h.NSName, "addr", "add", netip.PrefixFrom(ip, pfx.Bits()).String(), "dev", "eth1")
		ipCmd(t, "-n", h.NSName, "link", "set", "eth1", "up")
	}
	time.Sleep(1500 * time.Millisecond) // carrier comes up asynchronously
	return "pa1"
}

// TestSyncGroupLinkDown: tandem is master of VI_A (eth0) and VI_B (eth1),
// both in vrrp_sync_group G, keepalived their backup with the same group.
// When tandem's eth1 loses carrier, VI_B goes to FAULT and takes VI_A with
// it (VI_A resigns with priority 0): keepalived ends up holding both VIPs.
// When the cable is back, tandem takes both back.
func TestSyncGroupLinkDown(t *testing.T) {
	f := newFailoverLab(t, 42)
	port := secondLink(t, f.l, f.tHost, f.kHost, netip.MustParsePrefix("10.203.43.0/24"))
	vipB := netip.MustParseAddr("10.203.43.100")
	conf := func(prio int) string {
		a := instConf{Name: "VI_A", VRID: 42, Priority: prio, VIPs: []netip.Addr{f.vip}}.String()
		b := strings.Replace(instConf{Name: "VI_B", VRID: 43, Priority: prio, VIPs: []netip.Addr{vipB}}.String(), "interface eth0", "interface eth1", 1)
		return "vrrp_sync_group G {\n    group {\n        VI_A\n        VI_B\n    }\n}\n" + a + b
	}
	c := f.capture(t)
	tan := startTandem(t, f.l, f.tHost, conf(100), "")
	lab.StartKeepalived(t, f.kHost, conf(90))
	holdsBoth := func(h *lab.Host) func() bool {
		return func() bool {
			return hasOn(h, "eth0", f.vip) && hasOn(h, "eth1", vipB)
		}
	}
	waitFor(t, 10*time.Second, "tandem to hold both VIPs", holdsBoth(f.tHost))

	pulled := time.Now()
	ipCmd(t, "-n", f.l.SwitchNS(), "link", "set", port, "down")
	waitFor(t, 10*time.Second, "keepalived to hold both VIPs", holdsBoth(f.kHost))
	t.Logf("both VIPs on keepalived %v after tandem's eth1 lost carrier", time.Since(pulled).Round(10*time.Millisecond))
	if hasOn(f.tHost, "eth0", f.vip) || hasOn(f.tHost, "eth1", vipB) {
		t.Error("tandem still holds a VIP in FAULT")
	}
	log := tan.Log()
	for _, name := range []string{"VI_A", "VI_B"} {
		if !strings.Contains(log, `msg="vrrp: entering FAULT state" instance=`+name+" ") {
			t.Errorf("tandem's %s did not enter FAULT", name)
		}
	}
	ws := adverts(readCapture(t, c), f.tHost.IP, 42)
	if len(ws) == 0 || ws[len(ws)-1].Advert.Priority != 0 {
		t.Error("tandem's VI_A did not resign with priority 0 when its group went to FAULT")
	}

	ipCmd(t, "-n", f.l.SwitchNS(), "link", "set", port, "up")
	waitFor(t, 15*time.Second, "tandem to take both VIPs back", holdsBoth(f.tHost))
}

// hasOn reports whether h has ip on ifname.
func hasOn(h *lab.Host, ifname string, ip netip.Addr) bool {
	addrs, _ := h.Addrs(ifname)
	for _, a := range addrs {
		if a == ip {
			return true
		}
	}
	return false
}

// TestSyncGroupWaitsForAllMembers: one daemon is master of VI_A and VI_B
// (group G), the other their backup with the same group. eth1's segment is
// partitioned (carrier kept): the backup's VI_B hears no master any more,
// but VI_A still does, so the backup group takes over neither: one member
// may not drag the group away from a live master. Run with keepalived as
// the backup first (the reference), then with tandem.
func TestSyncGroupWaitsForAllMembers(t *testing.T) {
	t.Run("keepalived-backup", func(t *testing.T) { syncGroupWaits(t, 51, false) })
	t.Run("tandem-backup", func(t *testing.T) { syncGroupWaits(t, 53, true) })
}

func syncGroupWaits(t *testing.T, third int, tandemBackup bool) {
	f := newFailoverLab(t, third)
	secondLink(t, f.l, f.tHost, f.kHost, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 203, byte(third + 1), 0}), 24))
	vipB := netip.AddrFrom4([4]byte{10, 203, byte(third + 1), 100})
	conf := func(prio int) string {
		a := instConf{Name: "VI_A", VRID: 51, Priority: prio, VIPs: []netip.Addr{f.vip}}.String()
		b := strings.Replace(instConf{Name: "VI_B", VRID: 52, Priority: prio, VIPs: []netip.Addr{vipB}}.String(), "interface eth0", "interface eth1", 1)
		return "vrrp_sync_group G {\n    group {\n        VI_A\n        VI_B\n    }\n}\n" + a + b
	}
	master, backup := f.kHost, f.tHost
	var proc *lab.Proc
	if tandemBackup {
		lab.StartKeepalived(t, f.kHost, conf(100))
		proc = startTandem(t, f.l, f.tHost, conf(90), "").Proc
	} else {
		master, backup = f.tHost, f.kHost
		startTandem(t, f.l, f.tHost, conf(100), "")
		proc = lab.StartKeepalived(t, f.kHost, conf(90))
	}
	waitFor(t, 10*time.Second, "the master to hold both VIPs", func() bool {
		return hasOn(master, "eth0", f.vip) && hasOn(master, "eth1", vipB)
	})
	time.Sleep(time.Second)
	port := map[bool]string{true: "pa1", false: "pb1"}[tandemBackup]
	ipCmd(t, "-n", f.l.SwitchNS(), "link", "set", port, "nomaster")
	time.Sleep(3*time.Second + skew(90) + 2*time.Second)
	if hasOn(backup, "eth0", f.vip) || hasOn(backup, "eth1", vipB) {
		t.Fatalf("the backup group took over although VI_A still hears the master:\n%s", proc.Log())
	}
	t.Logf("the backup's VI_B lost the master but its group stayed BACKUP")
}
