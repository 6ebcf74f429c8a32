package config

import (
	"net/netip"
	"time"
)

// Config is a parsed keepalived.conf: the typed model every other package
// reads. Fields hold keepalived's defaults where the file is silent.
type Config struct {
	// Process holds the root-level daemon settings (net_namespace, ...).
	Process Process
	// Global is the global_defs block.
	Global GlobalDefs

	LinkbeatInterfaces []LinkbeatInterface
	TrackGroups        []TrackGroup
	InterfaceDelays    []InterfaceDelay
	StaticAddresses    IPAddresses
	StaticRoutes       Routes
	StaticRules        Rules
	BFDInstances       []BFDInstance

	Scripts        []VRRPScript
	TrackFiles     []TrackFile
	TrackProcesses []TrackProcess
	GarpGroups     []GarpGroup
	SyncGroups     []SyncGroup
	Instances      []VRRPInstance

	SSL                 *SSLConfig
	VirtualServerGroups []VirtualServerGroup
	VirtualServers      []VirtualServer

	// Files lists every file read, the main one first.
	Files []string `json:"-"`
}

// Process holds root-level keywords that shape the daemon itself.
type Process struct {
	NetNamespace        string        `kw:"net_namespace"`
	NetNamespaceIPVS    string        `kw:"net_namespace_ipvs"`
	NamespaceWithIpsets bool          `kw:"namespace_with_ipsets"`
	UsePidDir           bool          `kw:"use_pid_dir"`
	Instance            string        `kw:"instance"`
	ChildWaitTime       time.Duration `kw:"child_wait_time"`
	LinkbeatUsePolling  bool          `kw:"linkbeat_use_polling"`
}

// GlobalDefs is the global_defs block. Settings tandem does not act on
// (process scheduling, SNMP, D-Bus, firewall integration) are kept in Other
// so a configuration renders back unchanged.
type GlobalDefs struct {
	RouterID              string        `kw:"router_id"`
	NotificationEmail     []string      `kw:"notification_email" list:""`
	NotificationEmailFrom string        `kw:"notification_email_from"`
	SMTPServer            SMTPServer    `kw:"smtp_server"`
	SMTPHeloName          string        `kw:"smtp_helo_name"`
	SMTPConnectTimeout    time.Duration `kw:"smtp_connect_timeout"`
	SMTPAlert             *bool         `kw:"smtp_alert"`
	SMTPAlertVRRP         *bool         `kw:"smtp_alert_vrrp"`
	SMTPAlertChecker      *bool         `kw:"smtp_alert_checker"`
	CheckerLogAllFailures *bool         `kw:"checker_log_all_failures"`
	NoEmailFaults         bool          `kw:"no_email_faults"`
	NoCheckerEmails       bool          `kw:"no_checker_emails"`

	StartupScript         *Script `kw:"startup_script"`
	StartupScriptTimeout  int     `kw:"startup_script_timeout" range:"1,1000"`
	ShutdownScript        *Script `kw:"shutdown_script"`
	ShutdownScriptTimeout int     `kw:"shutdown_script_timeout" range:"1,1000"`

	DefaultInterface  string     `kw:"default_interface"`
	DynamicInterfaces DynamicIfs `kw:"dynamic_interfaces"`
	VRRPMcastGroup4   netip.Addr `kw:"vrrp_mcast_group4"`
	VRRPMcastGroup6   netip.Addr `kw:"vrrp_mcast_group6"`
	VRRPVersion       int        `kw:"vrrp_version" range:"2,3"`
	V3ChecksumAsV2    bool       `kw:"v3_checksum_as_v2"`
	VRRPStrict        bool       `kw:"vrrp_strict"`

	VRRPGarpMasterDelay         time.Duration  `kw:"vrrp_garp_master_delay" range:"0,1000"`
	VRRPGarpMasterRepeat        int            `kw:"vrrp_garp_master_repeat" range:"1,255"`
	VRRPGarpMasterRefresh       time.Duration  `kw:"vrrp_garp_master_refresh"`
	VRRPGarpMasterRefreshRepeat int            `kw:"vrrp_garp_master_refresh_repeat" range:"1,255"`
	VRRPGarpLowerPrioDelay      *time.Duration `kw:"vrrp_garp_lower_prio_delay" range:"0,1000"`
	VRRPGarpLowerPrioRepeat     *int           `kw:"vrrp_garp_lower_prio_repeat" range:"0,255"`
	VRRPDownTimerAdverts        int            `kw:"vrrp_down_timer_adverts" range:"1,100"`
	VRRPGarpInterval            time.Duration  `kw:"vrrp_garp_interval"`
	VRRPGnaInterval             time.Duration  `kw:"vrrp_gna_interval"`
	VRRPMinGarp                 bool           `kw:"vrrp_min_garp"`
	VRRPGarpExtraIf             GarpExtraIf    `kw:"vrrp_garp_extra_if"`
	VRRPLowerPrioNoAdvert       *bool          `kw:"vrrp_lower_prio_no_advert"`
	VRRPHigherPrioSendAdvert    *bool          `kw:"vrrp_higher_prio_send_advert"`
	VRRPCheckUnicastSrc         bool           `kw:"vrrp_check_unicast_src"`
	VRRPSkipCheckAdvAddr        bool           `kw:"vrrp_skip_check_adv_addr"`
	VRRPNotifyPriorityChanges   *bool          `kw:"vrrp_notify_priority_changes"`
	VRRPStartupDelay            time.Duration  `kw:"vrrp_startup_delay,vrrp_delay_after_boot"`
	LogUnknownVRIDs             bool           `kw:"log_unknown_vrids"`
	VMACPrefix                  string         `kw:"vmac_prefix"`
	VMACAddrPrefix              string         `kw:"vmac_addr_prefix"`
	DisableLocalIGMP            bool           `kw:"disable_local_igmp"`

	ScriptUser           ScriptUser `kw:"script_user"`
	EnableScriptSecurity bool       `kw:"enable_script_security"`

	NotifyFifo                  *Fifo   `kw:"notify_fifo"`
	NotifyFifoScript            *Script `kw:"notify_fifo_script"`
	VRRPNotifyFifo              *Fifo   `kw:"vrrp_notify_fifo"`
	VRRPNotifyFifoScript        *Script `kw:"vrrp_notify_fifo_script"`
	LVSNotifyFifo               *Fifo   `kw:"lvs_notify_fifo"`
	LVSNotifyFifoScript         *Script `kw:"lvs_notify_fifo_script"`
	FifoWriteVRRPStatesOnReload bool    `kw:"fifo_write_vrrp_states_on_reload"`

	LVSSyncDaemon  *LVSSyncDaemon `kw:"lvs_sync_daemon"`
	LVSTimeouts    LVSTimeouts    `kw:"lvs_timeouts"`
	LVSFlush       bool           `kw:"lvs_flush"`
	LVSFlushOnStop FlushOnStop    `kw:"lvs_flush_on_stop,lvs_flush_onstop"`
	RSInitNotifies bool           `kw:"rs_init_notifies"`

	Umask      string `kw:"umask"`
	RandomSeed uint64 `kw:"random_seed"`

	// Other holds recognised settings tandem accepts but does not act on,
	// in the order written.
	Other []Directive
}

// otherGlobalKeywords are global_defs keywords tandem accepts without a
// typed field (they tune keepalived's own processes or integrations tandem
// does not have). They are kept verbatim in GlobalDefs.Other.
var otherGlobalKeywords = []string{
	"tmp_config_directory", "config_save_dir", "process_names", "process_name",
	"vrrp_process_name", "checker_process_name", "lvs_process_name", "bfd_process_name",
	"use_symlink_paths", "set_supplementary_groups", "max_auto_priority", "min_auto_priority_delay",
	"vrrp_vmac_garp_intvl", "vrrp_iptables", "vrrp_ipsets", "nftables", "nftables_priority",
	"nftables_ifindex", "nftables_ipvs", "nftables_ipvs_priority", "nftables_ipvs_start_fwmark",
	"nftables_counters", "vrrp_priority", "vrrp_no_swap", "vrrp_rt_priority", "vrrp_cpu_affinity",
	"vrrp_rlimit_rttime", "vrrp_rlimit_rtime", "checker_priority", "checker_no_swap",
	"checker_rt_priority", "checker_cpu_affinity", "checker_rlimit_rttime", "checker_rlimit_rtime",
	"bfd_priority", "bfd_no_swap", "bfd_rt_priority", "bfd_cpu_affinity", "bfd_rlimit_rttime",
	"bfd_rlimit_rtime", "snmp_socket", "enable_traps", "enable_snmp_vrrp", "enable_snmp_keepalived",
	"enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_snmp_checker",
	"snmp_vs_stats_update_interval", "snmp_rs_stats_update_interval", "enable_dbus",
	"dbus_service_name", "dbus_no_interface_name", "vrrp_netlink_cmd_rcv_bufs",
	"vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs",
	"vrrp_netlink_monitor_rcv_bufs_force", "process_monitor_rcv_bufs",
	"process_monitor_rcv_bufs_force", "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force",
	"lvs_netlink_monitor_rcv_bufs", "lvs_netlink_monitor_rcv_bufs_force", "vrrp_rx_bufs_policy",
	"vrrp_rx_bufs_multiplier", "vrrp_owner_ignore_adverts", "reload_check_config", "reload_time_file",
	"reload_repeat", "reload_file", "include_check", "data_use_instance", "json_version",
	"iproute_usr_dir", "iproute_etc_dir", "state_dump_file", "stats_dump_file", "json_dump_file",
	"namespace_with_ipsets", "linkbeat_use_polling",
}

// Directive is a keyword kept verbatim: its arguments and, when it had a
// block, the block's statements.
type Directive struct {
	Keyword  string      `json:"keyword"`
	Args     []string    `json:"args,omitempty"`
	Block    []Directive `json:"block,omitempty"`
	HasBlock bool        `json:"has_block,omitempty"`
}

// SMTPServer is global_defs smtp_server: a host name or address and port.
type SMTPServer struct {
	Host string
	Port int
}

// ScriptUser is the user (and group) scripts run as by default.
type ScriptUser struct {
	User  string
	Group string
}

// Fifo is a notify FIFO and the user/group owning it.
type Fifo struct {
	Path  string
	User  string
	Group string
}

// DynamicIfs is global_defs dynamic_interfaces [allow_if_changes].
type DynamicIfs struct {
	Enabled        bool
	AllowIfChanges bool
}

// GarpExtraIf is garp_extra_if [all] SECONDS.
type GarpExtraIf struct {
	All      bool
	Interval time.Duration
}

// FlushOnStop is lvs_flush_on_stop: "" (off), "RS" (everything) or "VS".
type FlushOnStop string

// LVSTimeouts are the IPVS connection timeouts (zero: leave unchanged).
type LVSTimeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// LVSSyncDaemon is global_defs lvs_sync_daemon.
type LVSSyncDaemon struct {
	Interface string
	Instance  string
	SyncID    *int
	MaxLen    int
	Port      int
	TTL       int
	Group     netip.Addr
}

// Script is a program keepalived runs: the command as written, the argv
// it splits into, and the user/group it runs as (empty: the default
// script_user).
type Script struct {
	Cmd   string
	Args  []string
	User  string
	Group string
}

// LinkbeatInterface is one entry of linkbeat_interfaces.
type LinkbeatInterface struct {
	Name string
	Kind string // MII, ETHTOOL, IOCTL or empty
}

// TrackGroup is a static track group: the VRRP instances that follow
// static addresses, routes and rules naming it.
type TrackGroup struct {
	Name      string
	Instances []string
	Pos       Pos `json:"-"`
}

// InterfaceDelay is one entry of interface_up_down_delays.
type InterfaceDelay struct {
	Interface string
	Down      time.Duration
	Up        time.Duration
}

// BFDInstance is a bfd_instance block.
type BFDInstance struct {
	Name        string        `kw:"-"`
	NeighborIP  netip.Addr    `kw:"neighbor_ip,neighbour_ip"`
	SourceIP    netip.Addr    `kw:"source_ip"`
	MinRx       time.Duration `kw:"-"`
	MinTx       time.Duration `kw:"-"`
	IdleTx      time.Duration `kw:"-"`
	Multiplier  int           `kw:"multiplier" range:"1,255"`
	Passive     bool          `kw:"passive"`
	TTL         int           `kw:"ttl" range:"1,255"`
	HopLimit    int           `kw:"hoplimit" range:"1,255"`
	MaxHops     int           `kw:"max_hops" range:"0,255"`
	Multihop    bool          `kw:"multihop"`
	Weight      TrackWeight   `kw:"weight"`
	VRRPOnly    bool          `kw:"vrrp"`
	CheckerOnly bool          `kw:"checker"`
	Pos         Pos           `json:"-"`
}
