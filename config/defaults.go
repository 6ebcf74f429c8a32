package config

import (
	"net/netip"
	"time"
)

// keepalived's VRRP defaults.
const (
	DefaultGarpMasterDelay  = 5 * time.Second
	DefaultGarpMasterRepeat = 5
	DefaultAdvertInt        = time.Second
	DefaultPriority         = 100
	DefaultDownTimerAdverts = 3
)

// Default multicast groups for VRRP adverts.
var (
	DefaultMcastGroup4 = netip.MustParseAddr("224.0.0.18")
	DefaultMcastGroup6 = netip.MustParseAddr("ff02::12")
)

// applyDefaults fills what the file left unsaid, once every section is
// read (global_defs may come after the instances it provides defaults for).
func (d *decoder) applyDefaults() {
	g := &d.cfg.Global
	gs := d.globalSeen
	if !gs.has("vrrp_garp_master_delay") {
		g.VRRPGarpMasterDelay = DefaultGarpMasterDelay
	}
	if !gs.has("vrrp_garp_master_repeat") {
		g.VRRPGarpMasterRepeat = DefaultGarpMasterRepeat
	}
	if !gs.has("vrrp_garp_master_refresh_repeat") {
		g.VRRPGarpMasterRefreshRepeat = 1
	}
	if !gs.has("vrrp_down_timer_adverts") {
		g.VRRPDownTimerAdverts = DefaultDownTimerAdverts
	}
	if !gs.has("vrrp_version") {
		g.VRRPVersion = 2
	}
	if !gs.has("smtp_connect_timeout") {
		g.SMTPConnectTimeout = 30 * time.Second
	}
	if !gs.has("vrrp_mcast_group4") {
		g.VRRPMcastGroup4 = DefaultMcastGroup4
	}
	if !gs.has("vrrp_mcast_group6") {
		g.VRRPMcastGroup6 = DefaultMcastGroup6
	}
	if g.VRRPMinGarp && !gs.has("vrrp_garp_master_repeat") {
		g.VRRPGarpMasterRepeat = 1
	}
	if g.VRRPMinGarp && !gs.has("vrrp_garp_master_delay") {
		g.VRRPGarpMasterDelay = 0
	}
	for i := range d.cfg.Instances {
		v := &d.cfg.Instances[i]
		seen := d.instanceSeen[i]
		if !seen.has("state") {
			v.State = StateBackup
		}
		if !seen.has("priority") {
			v.Priority = DefaultPriority
		}
		if !seen.has("advert_int") {
			v.AdvertInt = DefaultAdvertInt
		}
		if !seen.has("version") {
			v.Version = g.VRRPVersion
			if v.IsIPv6() {
				v.Version = 3
			}
		}
		if !seen.has("garp_master_delay") {
			v.GarpMasterDelay = g.VRRPGarpMasterDelay
		}
		if !seen.has("garp_master_repeat") {
			v.GarpMasterRepeat = g.VRRPGarpMasterRepeat
		}
		if !seen.has("garp_master_refresh") {
			v.GarpMasterRefresh = g.VRRPGarpMasterRefresh
		}
		if !seen.has("garp_master_refresh_repeat") {
			v.GarpMasterRefreshRepeat = g.VRRPGarpMasterRefreshRepeat
		}
		if !seen.has("garp_lower_prio_delay") {
			v.GarpLowerPrioDelay = v.GarpMasterDelay
			if g.VRRPGarpLowerPrioDelay != nil {
				v.GarpLowerPrioDelay = *g.VRRPGarpLowerPrioDelay
			}
		}
		if !seen.has("garp_lower_prio_repeat") {
			v.GarpLowerPrioRepeat = v.GarpMasterRepeat
			if g.VRRPGarpLowerPrioRepeat != nil {
				v.GarpLowerPrioRepeat = *g.VRRPGarpLowerPrioRepeat
			}
		}
		if !seen.has("down_timer_adverts") {
			v.DownTimerAdverts = g.VRRPDownTimerAdverts
		}
		if !seen.has("lower_prio_no_advert") && g.VRRPLowerPrioNoAdvert != nil {
			v.LowerPrioNoAdvert = *g.VRRPLowerPrioNoAdvert
		}
		if !seen.has("higher_prio_send_advert") && g.VRRPHigherPrioSendAdvert != nil {
			v.HigherPrioSendAdvert = *g.VRRPHigherPrioSendAdvert
		}
		if !seen.has("check_unicast_src") && g.VRRPCheckUnicastSrc {
			v.CheckUnicastSrc = true
		}
		if !seen.has("v3_checksum_as_v2") && g.V3ChecksumAsV2 {
			v.V3ChecksumAsV2 = true
		}
	}
}

// IsIPv6 reports whether the instance's addresses are IPv6 (an IPv6
// instance always runs VRRPv3).
func (v *VRRPInstance) IsIPv6() bool {
	if len(v.VirtualIPAddresses) > 0 {
		return v.VirtualIPAddresses[0].Prefix.Addr().Is6()
	}
	if v.UnicastSrcIP.IsValid() {
		return v.UnicastSrcIP.Is6()
	}
	return v.NativeIPv6
}

// Unicast reports whether the instance sends adverts to unicast peers.
func (v *VRRPInstance) Unicast() bool { return len(v.UnicastPeers) > 0 }
