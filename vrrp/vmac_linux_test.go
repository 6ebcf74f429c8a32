package vrrp_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

func sysctlOn(t *testing.T, h *lab.Host, ifname, key string) string {
	t.Helper()
	out, err := h.Run(context.Background(), "cat", "/proc/sys/net/ipv4/conf/"+ifname+"/"+key)
	if err != nil {
		t.Fatalf("read %s %s: %v %s", ifname, key, err, out)
	}
	return strings.TrimSpace(string(out))
}

func linkExists(h *lab.Host, name string) bool {
	_, err := h.Run(context.Background(), "ip", "link", "show", name)
	return err == nil
}

// TestVMAC: tandem is master with use_vmac (keepalived its backup): the VIP
// lives on the macvlan vrrp.46 whose MAC is 00:00:5e:00:01:2e, the client
// reaches the VIP at that MAC, adverts leave from it; the base interface
// gets arp_ignore/arp_filter 1 while the VMAC exists. A VMAC left by a
// SIGKILLed agent is replaced at the next start; a clean stop deletes it
// and restores the base's sysctls.
func TestVMAC(t *testing.T) {
	f := newFailoverLab(t, 46)
	vmac := net.HardwareAddr{0, 0, 0x5e, 0, 1, 46}
	before := [2]string{sysctlOn(t, f.tHost, "eth0", "arp_ignore"), sysctlOn(t, f.tHost, "eth0", "arp_filter")}
	tanConf := instConf{VRID: 46, Priority: 100, VIPs: []netip.Addr{f.vip}, Extra: "    use_vmac\n"}.String()
	c := f.capture(t)
	tan := startTandem(t, f.l, f.tHost, tanConf, "")
	lab.StartKeepalived(t, f.kHost, instConf{VRID: 46, Priority: 90, VIPs: []netip.Addr{f.vip}}.String())
	waitFor(t, 10*time.Second, "the VIP on tandem's vrrp.46", func() bool { return hasOn(f.tHost, "vrrp.46", f.vip) })
	time.Sleep(1500 * time.Millisecond)
	if len(holders(t, f.vip, f.kHost)) != 0 {
		t.Fatal("keepalived holds the VIP too")
	}
	if out, err := f.cli.Run(context.Background(), "ping", "-c1", "-W2", f.vip.String()); err != nil {
		t.Fatalf("client cannot ping the VIP: %v\n%s", err, out)
	}
	// Who answers ARP for the VIP, and with which MAC: exactly one reply,
	// from the VMAC. (The client's cache may later learn the base MAC from
	// the master's own ARP requests sourced from the VIP, as with
	// keepalived, since replies leave through the base interface.)
	out, err := f.cli.Run(context.Background(), "/bin/busybox", "arping", "-c", "1", "-w", "2", "-I", "eth0", f.vip.String())
	if err != nil {
		t.Fatalf("arping the VIP: %v\n%s", err, out)
	}
	if !strings.Contains(strings.ToLower(string(out)), "[00:00:5e:00:01:2e]") || strings.Count(string(out), "reply from") != 1 {
		t.Errorf("client's arping of the VIP:\n%s\nwant one reply from the VMAC %v", out, vmac)
	} else {
		t.Logf("client's arping of the VIP: %s", strings.TrimSpace(strings.Split(string(out), "\n")[1]))
	}
	if got := [2]string{sysctlOn(t, f.tHost, "eth0", "arp_ignore"), sysctlOn(t, f.tHost, "eth0", "arp_filter")}; got != [2]string{"1", "1"} {
		t.Errorf("eth0 arp_ignore, arp_filter = %v while the VMAC exists, want 1 1", got)
	}
	if got := sysctlOn(t, f.tHost, "vrrp.46", "accept_local") + sysctlOn(t, f.tHost, "vrrp.46", "rp_filter"); got != "10" {
		t.Errorf("vrrp.46 accept_local, rp_filter = %q, want 1 0", got)
	}
	ws := adverts(readCapture(t, c), f.tHost.IP, 46)
	if len(ws) == 0 || !bytes.Equal(ws[len(ws)-1].Frame[6:12], vmac) {
		t.Errorf("tandem's adverts do not come from the VMAC")
	}

	// A SIGKILLed agent leaves its VMAC; the next one replaces it.
	if err := tan.Kill(); err != nil {
		t.Fatal(err)
	}
	<-tan.Done()
	if !linkExists(f.tHost, "vrrp.46") {
		t.Fatal("the killed agent's VMAC is gone already (test premise)")
	}
	tan = startTandem(t, f.l, f.tHost, tanConf, "")
	waitFor(t, 10*time.Second, "the restarted agent to be master", func() bool {
		return strings.Contains(tan.Log(), `msg="vrrp: entering MASTER state"`) && hasOn(f.tHost, "vrrp.46", f.vip)
	})
	tan.stop(t)
	if linkExists(f.tHost, "vrrp.46") {
		t.Error("vrrp.46 still exists after a clean stop")
	}
	if got := [2]string{sysctlOn(t, f.tHost, "eth0", "arp_ignore"), sysctlOn(t, f.tHost, "eth0", "arp_filter")}; got != before {
		t.Errorf("eth0 arp_ignore, arp_filter = %v after stop, want %v as before", got, before)
	}
}
