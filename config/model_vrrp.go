package config

import (
	"net/netip"
	"time"
)

// VRRPScript is a vrrp_script block.
type VRRPScript struct {
	Name     string        `kw:"-"`
	Script   *Script       `kw:"script"`
	Interval time.Duration `kw:"interval"`
	Timeout  time.Duration `kw:"timeout"`
	Weight   TrackWeight   `kw:"weight"`
	Rise     int           `kw:"rise" range:"1,2147483647"`
	Fall     int           `kw:"fall" range:"1,2147483647"`
	User     ScriptUser    `kw:"user"`
	InitFail bool          `kw:"init_fail"`
	Pos      Pos           `json:"-"`
}

// TrackWeight is a tracking weight with keepalived's "reverse" flag.
type TrackWeight struct {
	Weight  int
	Reverse bool
}

// TrackFile is a track_file (or deprecated vrrp_track_file) block.
type TrackFile struct {
	Name     string      `kw:"-"`
	File     string      `kw:"file"`
	Weight   TrackWeight `kw:"weight"`
	InitFile *InitFile   `kw:"init_file"`
	Pos      Pos         `json:"-"`
}

// InitFile is track_file init_file [VALUE] [overwrite].
type InitFile struct {
	Value     int
	Overwrite bool
}

// TrackProcess is a vrrp_track_process block.
type TrackProcess struct {
	Name           string        `kw:"-"`
	Process        []string      `kw:"process"`
	ParamMatch     string        `kw:"param_match"`
	Weight         TrackWeight   `kw:"weight"`
	Quorum         int           `kw:"quorum" range:"0,65535"`
	QuorumMax      *int          `kw:"quorum_max" range:"0,65535"`
	ForkDelay      time.Duration `kw:"fork_delay"`
	TerminateDelay time.Duration `kw:"terminate_delay"`
	FullCommand    bool          `kw:"full_command"`
	Pos            Pos           `json:"-"`
}

// GarpGroup is a garp_group block.
type GarpGroup struct {
	GarpInterval time.Duration `kw:"garp_interval"`
	GnaInterval  time.Duration `kw:"gna_interval"`
	Interface    string        `kw:"interface"`
	Interfaces   []string      `kw:"interfaces" list:""`
	Pos          Pos           `json:"-"`
}

// TrackRef is one line of a track_script/track_file/track_process/
// track_bfd/track_interface block: a name, and an optional weight that
// overrides the tracked object's own.
type TrackRef struct {
	Name      string
	Weight    *int
	Reverse   bool
	NoReverse bool
	Pos       Pos `json:"-"`
}

// TrackRefs is the list of a track_* block.
type TrackRefs []TrackRef

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct {
	Name                    string    `kw:"-"`
	Group                   []string  `kw:"group" list:""`
	TrackInterface          TrackRefs `kw:"track_interface"`
	TrackScript             TrackRefs `kw:"track_script"`
	TrackFile               TrackRefs `kw:"track_file"`
	TrackProcess            TrackRefs `kw:"track_process"`
	TrackBFD                TrackRefs `kw:"track_bfd"`
	NotifyMaster            *Script   `kw:"notify_master"`
	NotifyBackup            *Script   `kw:"notify_backup"`
	NotifyFault             *Script   `kw:"notify_fault"`
	NotifyStop              *Script   `kw:"notify_stop"`
	NotifyDeleted           *Script   `kw:"notify_deleted"`
	Notify                  *Script   `kw:"notify"`
	NotifyPriorityChanges   *bool     `kw:"notify_priority_changes"`
	SMTPAlert               *bool     `kw:"smtp_alert"`
	GlobalTracking          bool      `kw:"global_tracking"`
	SyncGroupTrackingWeight bool      `kw:"sync_group_tracking_weight"`
	Pos                     Pos       `json:"-"`
}

// State is a VRRP instance's configured initial state.
type State string

// Initial states.
const (
	StateBackup State = "BACKUP"
	StateMaster State = "MASTER"
)

// VRRPInstance is a vrrp_instance block.
type VRRPInstance struct {
	Name            string        `kw:"-"`
	State           State         `kw:"state" always:""`
	Interface       string        `kw:"interface"`
	VRF             string        `kw:"vrf"`
	VirtualRouterID int           `kw:"virtual_router_id" range:"1,255"`
	Priority        int           `kw:"priority" range:"1,255" always:""`
	AdvertInt       time.Duration `kw:"advert_int" always:""`
	Version         int           `kw:"version" range:"2,3" always:""`

	UseVMAC          *VMAC    `kw:"use_vmac"`
	UseVMACAddr      bool     `kw:"use_vmac_addr"`
	VMACXmitBase     bool     `kw:"vmac_xmit_base"`
	UseIPVlan        []string `kw:"use_ipvlan"`
	NativeIPv6       bool     `kw:"native_ipv6"`
	DontTrackPrimary bool     `kw:"dont_track_primary"`

	TrackInterface TrackRefs `kw:"track_interface"`
	TrackScript    TrackRefs `kw:"track_script"`
	TrackFile      TrackRefs `kw:"track_file"`
	TrackProcess   TrackRefs `kw:"track_process"`
	TrackBFD       TrackRefs `kw:"track_bfd"`

	McastSrcIP         netip.Addr   `kw:"mcast_src_ip"`
	UnicastSrcIP       netip.Addr   `kw:"unicast_src_ip"`
	McastDstIP         netip.Addr   `kw:"mcast_dst_ip"`
	TrackSrcIP         bool         `kw:"track_src_ip"`
	CheckUnicastSrc    bool         `kw:"check_unicast_src"`
	UnicastPeers       UnicastPeers `kw:"unicast_peer"`
	UnicastFaultNoPeer bool         `kw:"unicast_fault_no_peer"`
	UnicastTTL         *int         `kw:"unicast_ttl" range:"0,255"`
	OldUnicastChecksum string       `kw:"old_unicast_checksum"`
	V3ChecksumAsV2     bool         `kw:"v3_checksum_as_v2"`

	GarpMasterDelay         time.Duration `kw:"garp_master_delay" range:"0,1000" always:""`
	GarpMasterRepeat        int           `kw:"garp_master_repeat" range:"1,255" always:""`
	GarpMasterRefresh       time.Duration `kw:"garp_master_refresh"`
	GarpMasterRefreshRepeat int           `kw:"garp_master_refresh_repeat" range:"1,255" always:""`
	GarpLowerPrioDelay      time.Duration `kw:"garp_lower_prio_delay" range:"0,1000" always:""`
	GarpLowerPrioRepeat     int           `kw:"garp_lower_prio_repeat" range:"0,255" always:""`
	GarpExtraIf             GarpExtraIf   `kw:"garp_extra_if"`
	DownTimerAdverts        int           `kw:"down_timer_adverts" range:"1,100" always:""`
	LowerPrioNoAdvert       bool          `kw:"lower_prio_no_advert"`
	HigherPrioSendAdvert    bool          `kw:"higher_prio_send_advert"`

	Authentication *Authentication `kw:"authentication"`

	VirtualIPAddresses         IPAddresses `kw:"virtual_ipaddress"`
	VirtualIPAddressesExcluded IPAddresses `kw:"virtual_ipaddress_excluded"`
	NoVirtualIPAddress         bool        `kw:"no_virtual_ipaddress"`
	PromoteSecondaries         bool        `kw:"promote_secondaries"`
	VirtualRoutes              Routes      `kw:"virtual_routes"`
	VirtualRules               Rules       `kw:"virtual_rules"`

	Accept           *bool         `kw:"-"`
	NoPreempt        bool          `kw:"nopreempt"`
	PreemptDelay     time.Duration `kw:"preempt_delay" range:"0,1000"`
	SkipCheckAdvAddr *bool         `kw:"skip_check_adv_addr"`
	StrictMode       *bool         `kw:"strict_mode"`
	Debug            int           `kw:"debug" range:"0,4"`

	NotifyMaster           *Script `kw:"notify_master"`
	NotifyBackup           *Script `kw:"notify_backup"`
	NotifyFault            *Script `kw:"notify_fault"`
	NotifyStop             *Script `kw:"notify_stop"`
	NotifyDeleted          *Script `kw:"notify_deleted"`
	Notify                 *Script `kw:"notify"`
	NotifyMasterRxLowerPri *Script `kw:"notify_master_rx_lower_pri"`
	NotifyPriorityChanges  *bool   `kw:"notify_priority_changes"`
	SMTPAlert              *bool   `kw:"smtp_alert"`

	LVSSyncDaemonInterface string `kw:"lvs_sync_daemon_interface"`
	KernelRxBufSize        int    `kw:"kernel_rx_buf_size"`
	LinkbeatUsePolling     bool   `kw:"linkbeat_use_polling"`

	Pos Pos `json:"-"`
}

// VMAC is use_vmac [NAME] [MAC].
type VMAC struct {
	Name string
	MAC  string
}

// Authentication is a vrrp_instance authentication block.
type Authentication struct {
	Type string // PASS or AH
	Pass string // as written; only the first 8 bytes go on the wire
	Pos  Pos    `json:"-"`
}

// UnicastPeer is one unicast_peer entry.
type UnicastPeer struct {
	Addr   netip.Addr
	MinTTL *int
	MaxTTL *int
}

// UnicastPeers is the unicast_peer block.
type UnicastPeers []UnicastPeer

// IPAddress is one line of virtual_ipaddress, virtual_ipaddress_excluded or
// static_ipaddress: `ADDR[/LEN] [brd ADDR] [dev IF] [scope S] [label L] ...`.
type IPAddress struct {
	Prefix        netip.Prefix
	Broadcast     string // an address, "+" or "-"
	Dev           string
	Scope         string
	Label         string
	Peer          netip.Prefix
	Home          bool
	NoDAD         bool
	MngTmpAddr    bool
	NoPrefixRoute bool
	AutoJoin      bool
	NoTrack       bool
	UseVMAC       bool
	PreferredLft  string
	TrackGroup    string
	Pos           Pos `json:"-"`
}

// IPAddresses is an address block.
type IPAddresses []IPAddress

// Route is one line of virtual_routes or static_routes. The words are kept
// as written (ip-route syntax); the fields tandem needs are parsed out.
type Route struct {
	Words      []string
	Dst        netip.Prefix
	Src        netip.Addr
	Via        netip.Addr
	Dev        string
	Table      string
	Type       string // blackhole, unreachable, prohibit, throw, ... or empty
	NoTrack    bool
	TrackGroup string
	Pos        Pos `json:"-"`
}

// Routes is a route block.
type Routes []Route

// Rule is one line of virtual_rules or static_rules, in ip-rule syntax.
type Rule struct {
	Words      []string
	From       netip.Prefix
	To         netip.Prefix
	Table      string
	NoTrack    bool
	TrackGroup string
	Pos        Pos `json:"-"`
}

// Rules is a rule block.
type Rules []Rule
