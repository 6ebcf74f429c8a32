package vrrp_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestTrackInterface: tandem is master (100) with track_interface
// { dum0 weight -30 }, keepalived backup at 90. dum0 going down lowers
// tandem to 70 and keepalived takes over; dum0 up again, tandem preempts.
// Then tandem's cable is pulled (eth0 loses carrier, tracked implicitly as
// keepalived does): tandem goes to FAULT and drops the VIP; with the cable
// back it leaves FAULT for BACKUP and preempts.
func TestTrackInterface(t *testing.T) {
	f := newFailoverLab(t, 49)
	// A veth pair inside the host: dum0 is up with carrier while dum1 is up.
	ipCmd(t, "-n", f.tHost.NSName, "link", "add", "dum0", "type", "veth", "peer", "name", "dum1")
	ipCmd(t, "-n", f.tHost.NSName, "link", "set", "dum1", "up")
	ipCmd(t, "-n", f.tHost.NSName, "link", "set", "dum0", "up")
	time.Sleep(500 * time.Millisecond)
	tan := startTandem(t, f.l, f.tHost, instConf{VRID: 49, Priority: 100, VIPs: []netip.Addr{f.vip},
		Extra: "    track_interface {\n        dum0 weight -30\n    }\n"}.String(), "")
	ka := &node{f: f, host: f.kHost, conf: instConf{VRID: 49, Priority: 90, VIPs: []netip.Addr{f.vip}}}
	ka.start(t)
	f.onlyHolder(t, f.tHost, 10*time.Second)

	ipCmd(t, "-n", f.tHost.NSName, "link", "set", "dum0", "down")
	f.onlyHolder(t, f.kHost, 10*time.Second)
	if !strings.Contains(tan.Log(), `msg="vrrp: effective priority changed" instance=VI_1 vrid=49 from=100 to=70`) {
		t.Error("tandem's priority did not drop to 70 with dum0 down")
	}
	ipCmd(t, "-n", f.tHost.NSName, "link", "set", "dum0", "up")
	f.onlyHolder(t, f.tHost, 10*time.Second)

	if err := f.l.SetLinkUp(f.tHost.Name, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "tandem in FAULT without its VIP", func() bool {
		return strings.Contains(tan.Log(), `msg="vrrp: entering FAULT state"`) && len(holders(t, f.vip, f.tHost)) == 0
	})
	f.onlyHolder(t, f.kHost, 10*time.Second)
	if err := f.l.SetLinkUp(f.tHost.Name, true); err != nil {
		t.Fatal(err)
	}
	f.onlyHolder(t, f.tHost, 10*time.Second)
	if !strings.Contains(tan.Log(), `msg="vrrp: entering BACKUP state" instance=VI_1 vrid=49 from=FAULT reason="fault cleared"`) {
		t.Error("tandem did not leave FAULT for BACKUP")
	}
}
