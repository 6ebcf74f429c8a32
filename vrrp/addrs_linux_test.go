package vrrp_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/tandem-ha/tandem/testing/lab"
	"github.com/tandem-ha/tandem/vrrp"
)

// TestNetlinkAddrs adds VIPs with each option in a lab namespace and reads
// them back with ip(8).
func TestNetlinkAddrs(t *testing.T) {
	l := lab.New(t, lab.Options{Subnet: netip.MustParsePrefix("10.203.10.0/24"), Hosts: []string{"a"}})
	h := l.Host("a")
	nh, err := netlink.NewHandleAt(h.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	m := vrrp.NewNetlinkAddrs(nh)
	specs := []vrrp.AddrSpec{
		{Prefix: netip.MustParsePrefix("10.203.10.100/32"), Dev: "eth0"},
		{Prefix: netip.MustParsePrefix("10.203.10.101/24"), Dev: "eth0", Broadcast: "+", Label: "eth0:vip"},
		{Prefix: netip.MustParsePrefix("10.203.10.102/32"), Dev: "eth0", Scope: "host"},
	}
	for _, s := range specs {
		if err := m.Add(s); err != nil {
			t.Fatal(err)
		}
		if err := m.Add(s); err != nil {
			t.Fatalf("adding %v twice: %v", s.Prefix, err)
		}
	}
	out, err := h.Run(context.Background(), "ip", "-4", "-o", "addr", "show", "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"inet 10.203.10.100/32 scope global eth0",
		"inet 10.203.10.101/24 brd 10.203.10.255 scope global secondary eth0:vip",
		"inet 10.203.10.102/32 scope host eth0",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, s := range specs {
		if err := m.Remove(s); err != nil {
			t.Fatal(err)
		}
		if err := m.Remove(s); err != nil {
			t.Fatalf("removing %v twice: %v", s.Prefix, err)
		}
		if ok, _ := m.Has(s); ok {
			t.Errorf("%v still present", s.Prefix)
		}
	}
}
