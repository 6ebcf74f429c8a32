package vrrp

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/tandem-ha/tandem/config"
)

// FromConfig turns a parsed vrrp_instance (with keepalived's defaults filled
// in by config.Load) into an InstanceConfig. g supplies the global defaults
// the instance does not carry itself (the multicast group). Features tandem
// does not implement for VRRP (IPv6, AH authentication) are errors.
func FromConfig(in *config.VRRPInstance, g *config.GlobalDefs) (InstanceConfig, error) {
	fail := func(format string, args ...any) (InstanceConfig, error) {
		return InstanceConfig{}, fmt.Errorf("vrrp_instance %s: %s", in.Name, fmt.Sprintf(format, args...))
	}
	if in.IsIPv6() {
		return fail("IPv6 VRRP is not supported")
	}
	if in.Interface == "" {
		return fail("no interface")
	}
	if in.VirtualRouterID < 1 || in.VirtualRouterID > 255 {
		return fail("virtual_router_id %d: must be 1..255", in.VirtualRouterID)
	}
	if in.Priority < 1 || in.Priority > 255 {
		return fail("priority %d: must be 1..255", in.Priority)
	}
	c := InstanceConfig{
		Name:                    in.Name,
		Interface:               in.Interface,
		VRID:                    uint8(in.VirtualRouterID),
		Priority:                uint8(in.Priority),
		AdvertInterval:          in.AdvertInt,
		Version:                 in.Version,
		NoPreempt:               in.NoPreempt,
		PreemptDelay:            in.PreemptDelay,
		StartState:              StateBackup,
		UnicastSrc:              in.UnicastSrcIP,
		GARPMasterDelay:         in.GarpMasterDelay,
		GARPMasterRepeat:        in.GarpMasterRepeat,
		GARPMasterRefresh:       in.GarpMasterRefresh,
		GARPMasterRefreshRepeat: in.GarpMasterRefreshRepeat,
		GARPLowerPrioDelay:      in.GarpLowerPrioDelay,
		GARPLowerPrioRepeat:     in.GarpLowerPrioRepeat,
		DownTimerAdverts:        in.DownTimerAdverts,
		LowerPrioNoAdvert:       in.LowerPrioNoAdvert,
		HigherPrioSendAdvert:    in.HigherPrioSendAdvert,
		V3ChecksumAsV2:          in.V3ChecksumAsV2,
	}
	if in.State == config.StateMaster {
		c.StartState = StateMaster
	}
	// In keepalived.conf garp_master_delay 0 means no second burst; in
	// InstanceConfig zero means the default, so say "none" explicitly.
	if c.GARPMasterDelay == 0 {
		c.GARPMasterDelay = -1
	}
	if a := in.Authentication; a != nil && c.Version == 2 {
		switch strings.ToUpper(a.Type) {
		case "PASS":
			c.AuthType, c.AuthPass = AuthPass, a.Pass
		case "AH":
			return fail("authentication AH is not supported")
		default:
			return fail("auth_type %q: must be PASS or AH", a.Type)
		}
	}
	for _, a := range in.VirtualIPAddresses {
		c.VIPs = append(c.VIPs, a.Prefix)
	}
	for _, a := range in.VirtualIPAddressesExcluded {
		if a.Prefix.Addr().Is6() {
			return fail("virtual_ipaddress_excluded %s: IPv6 is not supported", a.Prefix)
		}
		c.ExcludedVIPs = append(c.ExcludedVIPs, a.Prefix)
	}
	for _, p := range in.UnicastPeers {
		c.UnicastPeers = append(c.UnicastPeers, p.Addr)
		if p.MinTTL != nil && c.MinTTL == 0 {
			c.MinTTL = uint8(*p.MinTTL)
		}
		if p.MaxTTL != nil && c.MaxTTL == 0 {
			c.MaxTTL = uint8(*p.MaxTTL)
		}
	}
	c.McastGroup = in.McastDstIP
	if !c.McastGroup.IsValid() && g != nil {
		c.McastGroup = g.VRRPMcastGroup4
	}
	if _, _, err := c.normalize(); err != nil {
		return fail("%v", err)
	}
	return c, nil
}

// AddrSpecs returns the virtual_ipaddress and virtual_ipaddress_excluded
// entries of in with their dev, brd, scope and label options.
func AddrSpecs(in *config.VRRPInstance) []AddrSpec {
	var out []AddrSpec
	for _, list := range []config.IPAddresses{in.VirtualIPAddresses, in.VirtualIPAddressesExcluded} {
		for _, a := range list {
			s := AddrSpec{Prefix: a.Prefix, Dev: a.Dev, Broadcast: a.Broadcast, Scope: a.Scope, Label: a.Label}
			if s.Dev == "" {
				s.Dev = in.Interface
			}
			out = append(out, s)
		}
	}
	return out
}

// SourceAddr returns the configured source of in's adverts: unicast_src_ip
// or mcast_src_ip; invalid means the interface's primary address.
func SourceAddr(in *config.VRRPInstance) netip.Addr {
	if in.Unicast() && in.UnicastSrcIP.IsValid() {
		return in.UnicastSrcIP
	}
	return in.McastSrcIP
}
