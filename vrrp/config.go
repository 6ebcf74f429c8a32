package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Defaults keepalived 2.2.7 applies, used for zero fields of InstanceConfig.
const (
	DefaultPriority          = 100
	DefaultAdvertInterval    = time.Second
	DefaultGARPMasterDelay   = 5 * time.Second
	DefaultGARPMasterRepeat  = 5
	DefaultGARPRefreshRepeat = 1
	DefaultDownTimerAdverts  = 3
)

// InstanceConfig is one vrrp_instance, as plain data. The zero value of
// every optional field means keepalived's default, as documented per field.
type InstanceConfig struct {
	// Name is the instance name, used in logs and transitions.
	Name string
	// Interface is the interface adverts are sent on and VIPs added to.
	Interface string
	// VRID is the virtual router id, 1..255 (required).
	VRID uint8
	// Priority is the base priority, 1..255. Zero means 255 when StartState
	// is StateMaster and 100 otherwise, as in keepalived.
	Priority uint8
	// AdvertInterval is advert_int. Zero means 1 s. VRRPv2 needs whole
	// seconds (1..255 s); VRRPv3 multiples of 10 ms up to 40.95 s.
	AdvertInterval time.Duration
	// Version is the VRRP version, 2 or 3; zero means 2.
	Version int
	// AuthType is the VRRPv2 authentication (AuthNone or AuthPass; AH is not
	// supported). Ignored for VRRPv3.
	AuthType AuthType
	// AuthPass is the PASS password; only its first 8 bytes are used.
	AuthPass string
	// VIPs are the virtual_ipaddress entries, carried in adverts.
	VIPs []netip.Prefix
	// ExcludedVIPs are virtual_ipaddress_excluded: added and removed with
	// the VIPs but not carried in adverts.
	ExcludedVIPs []netip.Prefix
	// NoPreempt lets a lower-priority master keep the role.
	NoPreempt bool
	// PreemptDelay delays preempting a lower-priority master: adverts of a
	// lower-priority master are accepted for this long after it is first
	// seen (keepalived's preempt_delay). Zero means no delay.
	PreemptDelay time.Duration
	// StartState is StateMaster or StateBackup; StateInit (zero) derives it
	// from the priority (255 means master). Only an owner (priority 255)
	// starting as master skips the Master_Down wait.
	StartState State
	// UnicastSrc is unicast_src_ip; when invalid, PacketConn.LocalAddr is
	// the source.
	UnicastSrc netip.Addr
	// UnicastPeers are the unicast_peer addresses; empty means multicast to
	// McastGroup.
	UnicastPeers []netip.Addr
	// McastGroup is mcast_dst_ip (or global vrrp_mcast_group4); the zero
	// value means 224.0.0.18.
	McastGroup netip.Addr
	// MinTTL and MaxTTL bound the TTL of unicast adverts; zero means no
	// bound. Multicast adverts must always have TTL 255.
	MinTTL, MaxTTL uint8
	// GARPMasterDelay is the delay of the second GARP burst after becoming
	// master. Zero means 5 s; a negative value disables the second burst.
	GARPMasterDelay time.Duration
	// GARPMasterRepeat is the number of GARPs per VIP in a burst; zero means 5.
	GARPMasterRepeat int
	// GARPMasterRefresh is the interval of periodic GARPs while master; zero
	// disables them.
	GARPMasterRefresh time.Duration
	// GARPMasterRefreshRepeat is the number of GARPs per VIP in a periodic
	// refresh; zero means 1.
	GARPMasterRefreshRepeat int
	// GARPLowerPrioDelay is the delay of a second GARP burst after a
	// lower-priority advert was received as master; zero means none.
	GARPLowerPrioDelay time.Duration
	// GARPLowerPrioRepeat is the number of GARPs per VIP sent when a
	// lower-priority advert is received as master; zero means none.
	GARPLowerPrioRepeat int
	// DownTimerAdverts is the number of adverts missed before Master_Down,
	// 1..100; zero means 3.
	DownTimerAdverts int
	// LowerPrioNoAdvert stops a master answering a lower-priority advert
	// with an immediate advert.
	LowerPrioNoAdvert bool
	// HigherPrioSendAdvert makes a master send one advert before stepping
	// down for a higher-priority advert.
	HigherPrioSendAdvert bool
	// V3ChecksumAsV2 is keepalived's v3_checksum_as_v2: VRRPv3 checksums
	// without the IPv4 pseudo-header.
	V3ChecksumAsV2 bool
}

// normalize returns c with defaults filled in, or an error for values that
// cannot work. Like keepalived, an initial MASTER state clears nopreempt and
// preempt_delay, and an owner cannot be nopreempt.
func (c InstanceConfig) normalize() (InstanceConfig, []string, error) {
	var warn []string
	if c.VRID == 0 {
		return c, nil, errors.New("virtual_router_id must be 1..255")
	}
	if c.Version == 0 {
		c.Version = 2
	}
	if c.Version != 2 && c.Version != 3 {
		return c, nil, fmt.Errorf("version %d: must be 2 or 3", c.Version)
	}
	if c.Priority == 0 {
		c.Priority = DefaultPriority
		if c.StartState == StateMaster {
			c.Priority = PriorityOwner
		}
	}
	switch c.StartState {
	case StateInit:
		c.StartState = StateBackup
		if c.Priority == PriorityOwner {
			c.StartState = StateMaster
		}
	case StateBackup, StateMaster:
	default:
		return c, nil, fmt.Errorf("start state %s: must be MASTER or BACKUP", c.StartState)
	}
	if c.AdvertInterval == 0 {
		c.AdvertInterval = DefaultAdvertInterval
	}
	if c.Version == 2 {
		if c.AdvertInterval%time.Second != 0 || c.AdvertInterval < time.Second || c.AdvertInterval > 255*time.Second {
			return c, nil, fmt.Errorf("advert_int %s: VRRPv2 needs whole seconds 1..255", c.AdvertInterval)
		}
		switch c.AuthType {
		case AuthNone, AuthPass:
		default:
			return c, nil, fmt.Errorf("auth_type %s is not supported", c.AuthType)
		}
	} else {
		if c.AdvertInterval%(10*time.Millisecond) != 0 || c.AdvertInterval > 4095*10*time.Millisecond || c.AdvertInterval < 0 {
			return c, nil, fmt.Errorf("advert_int %s: VRRPv3 needs multiples of 10ms up to 40.95s", c.AdvertInterval)
		}
		c.AuthType, c.AuthPass = AuthNone, ""
	}
	if len(c.VIPs) > MaxAddrs {
		return c, nil, fmt.Errorf("%d VIPs: at most %d fit in an advert", len(c.VIPs), MaxAddrs)
	}
	for _, p := range append(append([]netip.Prefix(nil), c.VIPs...), c.ExcludedVIPs...) {
		if !p.IsValid() || !p.Addr().Is4() {
			return c, nil, fmt.Errorf("virtual address %s: only IPv4 is supported", p)
		}
	}
	for _, p := range c.UnicastPeers {
		if !p.Is4() {
			return c, nil, fmt.Errorf("unicast_peer %s: only IPv4 is supported", p)
		}
	}
	if !c.McastGroup.IsValid() {
		c.McastGroup = MulticastGroup()
	}
	if !c.McastGroup.Is4() || !c.McastGroup.IsMulticast() {
		return c, nil, fmt.Errorf("mcast_dst_ip %s: not an IPv4 multicast group", c.McastGroup)
	}
	if c.UnicastSrc.IsValid() && !c.UnicastSrc.Is4() {
		return c, nil, fmt.Errorf("unicast_src_ip %s: only IPv4 is supported", c.UnicastSrc)
	}
	if c.GARPMasterDelay == 0 {
		c.GARPMasterDelay = DefaultGARPMasterDelay
	}
	if c.GARPMasterRepeat <= 0 {
		c.GARPMasterRepeat = DefaultGARPMasterRepeat
	}
	if c.GARPMasterRefreshRepeat <= 0 {
		c.GARPMasterRefreshRepeat = DefaultGARPRefreshRepeat
	}
	if c.DownTimerAdverts == 0 {
		c.DownTimerAdverts = DefaultDownTimerAdverts
	}
	if c.DownTimerAdverts < 1 || c.DownTimerAdverts > 100 {
		return c, nil, fmt.Errorf("down_timer_adverts %d: must be 1..100", c.DownTimerAdverts)
	}
	if c.Priority == PriorityOwner && c.NoPreempt {
		warn = append(warn, "nopreempt is incompatible with priority 255, clearing nopreempt")
		c.NoPreempt = false
	}
	if c.StartState == StateMaster {
		if c.NoPreempt {
			warn = append(warn, "nopreempt does not work with initial state MASTER, clearing")
			c.NoPreempt = false
		}
		if c.PreemptDelay != 0 {
			warn = append(warn, "preempt_delay does not work with initial state MASTER, clearing")
			c.PreemptDelay = 0
		}
	}
	if c.NoPreempt && c.PreemptDelay != 0 {
		warn = append(warn, "preempt_delay is incompatible with nopreempt, clearing preempt_delay")
		c.PreemptDelay = 0
	}
	return c, warn, nil
}
