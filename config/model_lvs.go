package config

import (
	"net/netip"
	"time"
)

// SSLConfig is the root SSL block used by SSL_GET checkers.
type SSLConfig struct {
	Password    string `kw:"password"`
	CA          string `kw:"ca"`
	Certificate string `kw:"certificate"`
	Key         string `kw:"key"`
}

// VirtualServerGroup is a virtual_server_group block.
type VirtualServerGroup struct {
	Name    string
	Entries []VSGEntry
	Pos     Pos `json:"-"`
}

// VSGEntry is one line of a virtual_server_group: an address range and
// optional port, or a fwmark.
type VSGEntry struct {
	// First and Last bound an address range (equal for one address).
	First netip.Addr `json:",omitzero"`
	Last  netip.Addr `json:",omitzero"`
	// Range is the range as written ("10.0.0.1-10", "10.0.0.8/29").
	Range  string `json:",omitempty"`
	Port   int    `json:",omitempty"`
	FWMark uint32 `json:",omitempty"`
	Family string `json:",omitempty"` // inet or inet6 with a fwmark
}

// Addresses expands the entry's range (nil for a fwmark entry).
func (e VSGEntry) Addresses() []netip.Addr {
	if !e.First.IsValid() {
		return nil
	}
	var out []netip.Addr
	for a := e.First; ; a = a.Next() {
		out = append(out, a)
		if a == e.Last || !a.IsValid() {
			break
		}
	}
	return out
}

// LVSMethod is a forwarding method: NAT, DR or TUN with tunnel options.
type LVSMethod struct {
	Kind       string // NAT, DR or TUN
	TunnelType string `json:",omitempty"` // ipip, gue or gre
	TunnelPort int    `json:",omitempty"`
	Checksum   string `json:",omitempty"` // nocsum, csum or remcsum
}

// Protocol is an IPVS service protocol.
type Protocol string

// Protocols.
const (
	TCP  Protocol = "TCP"
	UDP  Protocol = "UDP"
	SCTP Protocol = "SCTP"
)

// CheckSettings are the checker timing settings that a virtual server
// passes to its real servers and a real server to its checkers. A nil
// field was not written at that level.
type CheckSettings struct {
	DelayLoop        *time.Duration `kw:"delay_loop"`
	ConnectTimeout   *time.Duration `kw:"connect_timeout"`
	Retry            *int           `kw:"retry,nb_get_retry" range:"0,2147483647" dep:"nb_get_retry=nb_get_retry is deprecated: use retry (keepalived 2.2.7 ignores nb_get_retry outside HTTP_GET/SSL_GET; tandem reads it as retry everywhere)"`
	DelayBeforeRetry *time.Duration `kw:"delay_before_retry"`
	Warmup           *time.Duration `kw:"warmup"`
	Alpha            *bool          `kw:"alpha"`
	InhibitOnFailure *bool          `kw:"inhibit_on_failure"`
	SMTPAlert        *bool          `kw:"smtp_alert"`
	Virtualhost      string         `kw:"virtualhost"`
}

// VirtualServer is a virtual_server block, addressed by IP and port, by
// fwmark or by virtual_server_group.
type VirtualServer struct {
	// Exactly one of Addr (with Port), FWMark or Group identifies it.
	Addr   netip.Addr `json:",omitzero"`
	Port   int        `json:",omitempty"`
	FWMark uint32     `json:",omitempty"`
	Group  string     `json:",omitempty"`

	Scheduler              string    `kw:"lvs_sched,lb_algo"`
	SchedFlags             []string  `kw:"-"` // flag-1..3, sh-port, sh-fallback, mh-port, mh-fallback
	OPS                    bool      `kw:"ops"`
	Hashed                 bool      `kw:"hashed"`
	Method                 LVSMethod `kw:"lvs_method,lb_kind"`
	PersistenceEngine      string    `kw:"persistence_engine"`
	PersistenceTimeout     *int      `kw:"-"`
	PersistenceGranularity string    `kw:"persistence_granularity"`
	Protocol               Protocol  `kw:"protocol"`
	HASuspend              bool      `kw:"ha_suspend"`
	SNMPName               string    `kw:"snmp_name"`
	Omega                  bool      `kw:"omega"`
	Quorum                 int       `kw:"quorum" range:"1,2147483647"`
	Hysteresis             int       `kw:"hysteresis" range:"0,2147483647"`
	QuorumUp               *Script   `kw:"quorum_up"`
	QuorumDown             *Script   `kw:"quorum_down"`
	IPFamily               string    `kw:"ip_family"`
	Weight                 int       `kw:"weight"`

	SorryServer          *SorryServer `kw:"sorry_server"`
	SorryServerInhibit   bool         `kw:"sorry_server_inhibit"`
	SorryServerLVSMethod *LVSMethod   `kw:"sorry_server_lvs_method"`

	// Settings are the checker defaults written on the virtual server.
	Settings CheckSettings

	RealServers []RealServer

	Pos Pos `json:"-"`
}

// SorryServer is the server used when the pool has no quorum.
type SorryServer struct {
	Addr netip.Addr
	Port int
}

// RealServer is a real_server block.
type RealServer struct {
	Addr netip.Addr
	Port int

	Weight     int       `kw:"weight" range:"0,2147483647" always:""`
	Method     LVSMethod `kw:"lvs_method"`
	NotifyUp   *Script   `kw:"notify_up"`
	NotifyDown *Script   `kw:"notify_down"`
	UThreshold int       `kw:"uthreshold" range:"0,2147483647"`
	LThreshold int       `kw:"lthreshold" range:"0,2147483647"`
	SNMPName   string    `kw:"snmp_name"`

	// Settings are the checker defaults written on the real server.
	Settings CheckSettings

	Checkers []Checker

	Pos Pos `json:"-"`
}

// CheckerType names a health checker.
type CheckerType string

// Checker types.
const (
	TCPCheck  CheckerType = "TCP_CHECK"
	HTTPGet   CheckerType = "HTTP_GET"
	SSLGet    CheckerType = "SSL_GET"
	MiscCheck CheckerType = "MISC_CHECK"
	SMTPCheck CheckerType = "SMTP_CHECK"
	DNSCheck  CheckerType = "DNS_CHECK"
	PingCheck CheckerType = "PING_CHECK"
	UDPCheck  CheckerType = "UDP_CHECK"
	FileCheck CheckerType = "FILE_CHECK"
	BFDCheck  CheckerType = "BFD_CHECK"
)

// Checker is one health checker of a real server. Timing fields hold the
// effective values: what the checker says, else its real server, else its
// virtual server, else keepalived's default for the checker type.
type Checker struct {
	Type CheckerType

	ConnectIP        netip.Addr    `kw:"connect_ip"`
	ConnectPort      int           `kw:"connect_port" range:"0,65535"`
	BindTo           netip.Addr    `kw:"bindto"`
	BindPort         int           `kw:"bind_port" range:"0,65535"`
	BindIf           string        `kw:"bind_if"`
	FWMark           uint32        `kw:"fwmark"`
	ConnectTimeout   time.Duration `kw:"connect_timeout" always:""`
	Retry            int           `kw:"retry,nb_get_retry" range:"0,2147483647" always:"" dep:"nb_get_retry=nb_get_retry is deprecated: use retry (keepalived 2.2.7 ignores nb_get_retry outside HTTP_GET/SSL_GET; tandem reads it as retry everywhere)"`
	DelayBeforeRetry time.Duration `kw:"delay_before_retry" always:""`
	Warmup           time.Duration `kw:"warmup" always:""`
	DelayLoop        time.Duration `kw:"delay_loop" always:""`
	Alpha            bool          `kw:"alpha"`
	LogAllFailures   *bool         `kw:"log_all_failures"`

	HTTP *HTTPCheckSpec `json:",omitempty"`
	Misc *MiscCheckSpec `json:",omitempty"`
	SMTP *SMTPCheckSpec `json:",omitempty"`
	DNS  *DNSCheckSpec  `json:",omitempty"`
	UDP  *UDPCheckSpec  `json:",omitempty"`
	File *FileCheckSpec `json:",omitempty"`
	BFD  *BFDCheckSpec  `json:",omitempty"`

	Pos Pos `json:"-"`
}

// HTTPCheckSpec holds HTTP_GET/SSL_GET settings.
type HTTPCheckSpec struct {
	HTTPProtocol string `kw:"http_protocol"`
	Virtualhost  string `kw:"virtualhost"`
	EnableSNI    bool   `kw:"enable_sni"`
	SNIName      string `kw:"sni_name"`
	FastRecovery *bool  `kw:"fast_recovery"`
	TLSCompliant bool   `kw:"tls_compliant"`
	URLs         []URL
}

// URL is one url block of an HTTP checker.
type URL struct {
	Path           string      `kw:"path"`
	Digest         string      `kw:"digest"`
	StatusCodes    StatusCodes `kw:"status_code"`
	Virtualhost    string      `kw:"virtualhost"`
	Regex          string      `kw:"regex"`
	RegexNoMatch   bool        `kw:"regex_no_match"`
	RegexOptions   []string    `kw:"regex_options"`
	RegexMinOffset int         `kw:"regex_min_offset" range:"0,2147483647"`
	RegexMaxOffset int         `kw:"regex_max_offset" range:"0,2147483647"`
	RegexStack     []string    `kw:"regex_stack"`
	Pos            Pos         `json:"-"`
}

// StatusCodes is a set of HTTP status ranges; empty means 200-299.
type StatusCodes []StatusRange

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct {
	From, To int
}

// Contains reports whether code is accepted (200-299 when empty).
func (s StatusCodes) Contains(code int) bool {
	if len(s) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range s {
		if code >= r.From && code <= r.To {
			return true
		}
	}
	return false
}

// MiscCheckSpec holds MISC_CHECK settings.
type MiscCheckSpec struct {
	Path    *Script       `kw:"misc_path"`
	Timeout time.Duration `kw:"misc_timeout"`
	Dynamic bool          `kw:"misc_dynamic"`
	User    ScriptUser    `kw:"user"`
}

// SMTPCheckSpec holds SMTP_CHECK settings.
type SMTPCheckSpec struct {
	HeloName string `kw:"helo_name"`
	// Hosts are the legacy host { } sub-blocks: further servers checked by
	// the same checker, each with its own connection settings.
	Hosts []SMTPHost
}

// SMTPHost is an SMTP_CHECK host { } sub-block.
type SMTPHost struct {
	ConnectIP      netip.Addr     `kw:"connect_ip"`
	ConnectPort    int            `kw:"connect_port" range:"0,65535"`
	BindTo         netip.Addr     `kw:"bindto"`
	BindPort       int            `kw:"bind_port" range:"0,65535"`
	BindIf         string         `kw:"bind_if"`
	FWMark         uint32         `kw:"fwmark"`
	ConnectTimeout *time.Duration `kw:"connect_timeout"`
	Pos            Pos            `json:"-"`
}

// DNSCheckSpec holds DNS_CHECK settings.
type DNSCheckSpec struct {
	Type string `kw:"type"`
	Name string `kw:"name"`
}

// UDPCheckSpec holds UDP_CHECK settings. Payload and Reply are the hex
// strings as written.
type UDPCheckSpec struct {
	Payload        string  `kw:"-"`
	RequireReply   *string `kw:"-"`
	MinReplyLength int     `kw:"min_reply_length" range:"0,65535"`
	MaxReplyLength int     `kw:"max_reply_length" range:"0,65535"`
}

// FileCheckSpec holds FILE_CHECK settings.
type FileCheckSpec struct {
	TrackFile string       `kw:"track_file"`
	Dynamic   bool         `kw:"dynamic"`
	Weight    *TrackWeight `kw:"weight"`
}

// BFDCheckSpec holds BFD_CHECK settings.
type BFDCheckSpec struct {
	Name string `kw:"name"`
}
