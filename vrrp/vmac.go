package vrrp

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/tandem-ha/tandem/config"
)

// VMACNetwork is implemented by Networks that can create keepalived's
// virtual MAC interfaces (use_vmac): SystemNetwork, through netlink.
type VMACNetwork interface {
	// SetupVMAC creates (or re-creates, if a killed daemon left it) the
	// macvlan name on base with MAC mac, up, with keepalived's ARP sysctls,
	// and returns base's primary IPv4 address (the adverts' source) and a
	// function that deletes it and restores base's sysctls.
	SetupVMAC(base, name string, mac net.HardwareAddr, notPrimary []netip.Addr) (src netip.Addr, undo func(), err error)
}

// vmacSpec is an instance's use_vmac.
type vmacSpec struct {
	name     string
	mac      string
	xmitBase bool
}

// VMACName returns the name keepalived gives an instance's VMAC interface:
// use_vmac's NAME, or vmac_prefix (default "vrrp") "." VRID.
func VMACName(in *config.VRRPInstance, g *config.GlobalDefs) string {
	if in.UseVMAC == nil {
		return ""
	}
	if in.UseVMAC.Name != "" {
		return in.UseVMAC.Name
	}
	prefix := "vrrp"
	if g != nil && g.VMACPrefix != "" {
		prefix = g.VMACPrefix
	}
	return fmt.Sprintf("%s.%d", prefix, in.VirtualRouterID)
}

// VMACAddr returns the virtual router MAC of RFC 5798 for IPv4:
// 00:00:5e:00:01:VRID.
func VMACAddr(vrid uint8) net.HardwareAddr {
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, vrid}
}

func vmacOf(in *config.VRRPInstance, g *config.GlobalDefs) *vmacSpec {
	if in.UseVMAC == nil {
		return nil
	}
	v := &vmacSpec{name: VMACName(in, g), mac: VMACAddr(uint8(in.VirtualRouterID)).String(), xmitBase: in.VMACXmitBase}
	if in.UseVMAC.MAC != "" {
		v.mac = in.UseVMAC.MAC
	}
	return v
}
