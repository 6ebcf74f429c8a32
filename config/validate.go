package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// validate applies keepalived's cross-section rules. Where keepalived only
// warns and then runs with something other than what was written (a bad
// reference, an impossible value), tandem reports an error.
func validate(c *Config, s *diagSink) {
	v := &validator{c: c, s: s}
	v.scripts()
	v.instances()
	v.syncGroups()
	v.trackGroups()
	v.virtualServers()
}

type validator struct {
	c *Config
	s *diagSink
}

func names[T any](items []T, name func(*T) string) map[string]bool {
	m := make(map[string]bool, len(items))
	for i := range items {
		m[name(&items[i])] = true
	}
	return m
}

func (v *validator) scripts() {
	seen := map[string]Pos{}
	for _, sc := range v.c.Scripts {
		if p, dup := seen[sc.Name]; dup {
			v.s.errorf(sc.Pos, "vrrp_script %s is already defined at %s", sc.Name, p)
		}
		seen[sc.Name] = sc.Pos
		if sc.Interval <= 0 {
			v.s.errorf(sc.Pos, "vrrp_script %s: interval must be at least 1 second", sc.Name)
		}
	}
	files := map[string]Pos{}
	for _, tf := range v.c.TrackFiles {
		if p, dup := files[tf.Name]; dup {
			v.s.errorf(tf.Pos, "track_file %s is already defined at %s", tf.Name, p)
		}
		files[tf.Name] = tf.Pos
	}
}

func (v *validator) instances() {
	scripts := names(v.c.Scripts, func(s *VRRPScript) string { return s.Name })
	files := names(v.c.TrackFiles, func(t *TrackFile) string { return t.Name })
	procs := names(v.c.TrackProcesses, func(t *TrackProcess) string { return t.Name })
	bfds := names(v.c.BFDInstances, func(b *BFDInstance) string { return b.Name })
	type vridKey struct {
		iface string
		vrid  int
		v6    bool
		dst   string
	}
	vrids := map[vridKey]string{}
	byName := map[string]Pos{}
	for i := range v.c.Instances {
		in := &v.c.Instances[i]
		if p, dup := byName[in.Name]; dup {
			v.s.errorf(in.Pos, "vrrp_instance %s is already defined at %s", in.Name, p)
		}
		byName[in.Name] = in.Pos
		v.advertInt(in)
		if in.NoPreempt && in.State == StateMaster {
			v.s.warnf(in.Pos, "vrrp_instance %s: nopreempt is ignored with state MASTER (keepalived ignores it too): use state BACKUP", in.Name)
		}
		if in.PreemptDelay > 0 && in.State == StateMaster {
			v.s.warnf(in.Pos, "vrrp_instance %s: preempt_delay does not apply with state MASTER: use state BACKUP", in.Name)
		}
		if in.Authentication != nil {
			a := in.Authentication
			switch {
			case a.Type == "":
				v.s.warnf(a.Pos, "vrrp_instance %s: authentication has no auth_type: adverts are sent without authentication", in.Name)
			case in.Version == 3:
				v.s.warnf(a.Pos, "vrrp_instance %s: VRRPv3 has no authentication: the authentication block is ignored", in.Name)
			case a.Type == "PASS" && a.Pass == "":
				v.s.errorf(a.Pos, "vrrp_instance %s: auth_type PASS needs auth_pass", in.Name)
			case a.Type == "AH":
				v.s.warnf(a.Pos, "vrrp_instance %s: AH authentication is not supported by tandem (deprecated since RFC 3768): adverts will not interoperate with AH peers", in.Name)
			}
		}
		family := 0
		for _, a := range in.VirtualIPAddresses {
			f := 4
			if a.Prefix.Addr().Is6() {
				f = 6
			}
			if family == 0 {
				family = f
			} else if f != family {
				v.s.errorf(a.Pos, "vrrp_instance %s: virtual_ipaddress mixes IPv4 and IPv6 (put the other family in virtual_ipaddress_excluded)", in.Name)
				break
			}
		}
		if family == 6 && in.Version == 2 {
			v.s.errorf(in.Pos, "vrrp_instance %s: IPv6 addresses need VRRP version 3", in.Name)
		}
		if in.UnicastSrcIP.IsValid() {
			for _, p := range in.UnicastPeers {
				if p.Addr.Is4() != in.UnicastSrcIP.Is4() {
					v.s.errorf(in.Pos, "vrrp_instance %s: unicast_peer %s and unicast_src_ip %s are of different families", in.Name, p.Addr, in.UnicastSrcIP)
				}
			}
		}
		if in.McastDstIP.IsValid() && !in.McastDstIP.IsMulticast() {
			v.s.errorf(in.Pos, "vrrp_instance %s: mcast_dst_ip %s is not a multicast address", in.Name, in.McastDstIP)
		}
		v.refs(in.Name, "track_script", in.TrackScript, scripts)
		v.refs(in.Name, "track_file", in.TrackFile, files)
		v.refs(in.Name, "track_process", in.TrackProcess, procs)
		v.refs(in.Name, "track_bfd", in.TrackBFD, bfds)
		if in.VirtualRouterID > 0 {
			key := vridKey{iface: in.Interface, vrid: in.VirtualRouterID, v6: in.IsIPv6(), dst: in.McastDstIP.String()}
			if in.Unicast() {
				var peers []string
				for _, p := range in.UnicastPeers {
					peers = append(peers, p.Addr.String())
				}
				key.dst = "unicast:" + strings.Join(peers, ",")
			}
			if other, dup := vrids[key]; dup {
				v.s.errorf(in.Pos, "vrrp_instance %s: virtual_router_id %d is already used on %s by vrrp_instance %s", in.Name, in.VirtualRouterID, in.Interface, other)
			} else {
				vrids[key] = in.Name
			}
		}
	}
}

func (v *validator) advertInt(in *VRRPInstance) {
	ai := in.AdvertInt
	if in.Version == 3 {
		if ai < 10*time.Millisecond || ai > 40950*time.Millisecond {
			v.s.errorf(in.Pos, "vrrp_instance %s: advert_int %s is out of range for VRRPv3 (0.01-40.95 seconds)", in.Name, formatSeconds(ai))
		} else if ai%(10*time.Millisecond) != 0 {
			v.s.warnf(in.Pos, "vrrp_instance %s: advert_int %s is rounded to centiseconds on the wire", in.Name, formatSeconds(ai))
		}
		return
	}
	if ai < time.Second || ai > 255*time.Second || ai%time.Second != 0 {
		v.s.errorf(in.Pos, "vrrp_instance %s: advert_int %s is out of range for VRRPv2 (whole seconds 1-255; fractions need version 3)", in.Name, formatSeconds(ai))
	}
}

func (v *validator) refs(owner, kind string, refs TrackRefs, defined map[string]bool) {
	for _, r := range refs {
		if !defined[r.Name] {
			what := map[string]string{"track_script": "vrrp_script", "track_file": "track_file", "track_process": "vrrp_track_process", "track_bfd": "bfd_instance"}[kind]
			msg := fmt.Sprintf("%s: %s %q: no %s of that name is defined", owner, kind, r.Name, what)
			known := make([]string, 0, len(defined))
			for k := range defined {
				known = append(known, k)
			}
			sort.Strings(known)
			if s := suggest(r.Name, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			v.s.errorf(r.Pos, "%s", msg)
		}
	}
}

func (v *validator) syncGroups() {
	instances := names(v.c.Instances, func(i *VRRPInstance) string { return i.Name })
	scripts := names(v.c.Scripts, func(s *VRRPScript) string { return s.Name })
	files := names(v.c.TrackFiles, func(t *TrackFile) string { return t.Name })
	procs := names(v.c.TrackProcesses, func(t *TrackProcess) string { return t.Name })
	bfds := names(v.c.BFDInstances, func(b *BFDInstance) string { return b.Name })
	member := map[string]string{}
	for _, g := range v.c.SyncGroups {
		for _, m := range g.Group {
			if !instances[m] {
				v.s.errorf(g.Pos, "vrrp_sync_group %s: no vrrp_instance %q is defined", g.Name, m)
				continue
			}
			if other, dup := member[m]; dup {
				v.s.errorf(g.Pos, "vrrp_sync_group %s: vrrp_instance %s is already in vrrp_sync_group %s", g.Name, m, other)
				continue
			}
			member[m] = g.Name
		}
		v.refs("vrrp_sync_group "+g.Name, "track_script", g.TrackScript, scripts)
		v.refs("vrrp_sync_group "+g.Name, "track_file", g.TrackFile, files)
		v.refs("vrrp_sync_group "+g.Name, "track_process", g.TrackProcess, procs)
		v.refs("vrrp_sync_group "+g.Name, "track_bfd", g.TrackBFD, bfds)
	}
}

func (v *validator) trackGroups() {
	instances := names(v.c.Instances, func(i *VRRPInstance) string { return i.Name })
	groups := map[string]bool{}
	for _, tg := range v.c.TrackGroups {
		groups[tg.Name] = true
		for _, m := range tg.Instances {
			if !instances[m] {
				v.s.errorf(tg.Pos, "track_group %s: no vrrp_instance %q is defined", tg.Name, m)
			}
		}
	}
	check := func(p Pos, name string) {
		if name != "" && !groups[name] {
			v.s.errorf(p, "track_group %q is not defined", name)
		}
	}
	for _, a := range v.c.StaticAddresses {
		check(a.Pos, a.TrackGroup)
	}
	for _, r := range v.c.StaticRoutes {
		check(r.Pos, r.TrackGroup)
	}
	for _, r := range v.c.StaticRules {
		check(r.Pos, r.TrackGroup)
	}
}

// Schedulers are the IPVS schedulers keepalived accepts.
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"}

var dnsTypes = map[string]bool{"A": true, "NS": true, "CNAME": true, "SOA": true, "MX": true, "TXT": true, "AAAA": true}

func (v *validator) virtualServers() {
	groups := map[string]*VirtualServerGroup{}
	for i := range v.c.VirtualServerGroups {
		g := &v.c.VirtualServerGroups[i]
		if _, dup := groups[g.Name]; dup {
			v.s.errorf(g.Pos, "virtual_server_group %s is already defined", g.Name)
		}
		groups[g.Name] = g
	}
	files := names(v.c.TrackFiles, func(t *TrackFile) string { return t.Name })
	bfds := names(v.c.BFDInstances, func(b *BFDInstance) string { return b.Name })
	seen := map[string]Pos{}
	for i := range v.c.VirtualServers {
		vs := &v.c.VirtualServers[i]
		id := vs.String()
		if p, dup := seen[id]; dup {
			v.s.errorf(vs.Pos, "virtual_server %s is already defined at %s", id, p)
		}
		seen[id] = vs.Pos
		if vs.Group != "" && groups[vs.Group] == nil {
			v.s.errorf(vs.Pos, "virtual_server group %s: no virtual_server_group of that name is defined", vs.Group)
		}
		if vs.Addr.IsValid() && vs.Port == 0 && !vs.Persistent() {
			v.s.errorf(vs.Pos, "virtual_server %s has no port: the port may only be omitted for a persistent service", vs.Addr)
		}
		if vs.Scheduler != "" && !contains(Schedulers, vs.Scheduler) {
			v.s.errorf(vs.Pos, "virtual_server %s: unknown scheduler %q (want one of %s)", id, vs.Scheduler, strings.Join(Schedulers, " "))
		}
		if vs.FWMark != 0 && vs.Protocol != TCP {
			v.s.warnf(vs.Pos, "virtual_server %s: protocol is ignored for a fwmark service", id)
		}
		if vs.IPFamily != "" && vs.IPFamily != "inet" && vs.IPFamily != "inet6" {
			v.s.errorf(vs.Pos, "virtual_server %s: ip_family %q is not inet or inet6", id, vs.IPFamily)
		}
		if len(vs.RealServers) == 0 && vs.SorryServer == nil {
			v.s.warnf(vs.Pos, "virtual_server %s has no real_server: its IPVS service will have no destinations", id)
		}
		rsSeen := map[string]Pos{}
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			if p, dup := rsSeen[rs.String()]; dup {
				v.s.errorf(rs.Pos, "virtual_server %s: real_server %s is already defined at %s", id, rs, p)
			}
			rsSeen[rs.String()] = rs.Pos
			if vs.Addr.IsValid() && rs.Addr.Is4() != vs.Addr.Is4() && rs.Method.Kind != "TUN" {
				v.s.errorf(rs.Pos, "virtual_server %s: real_server %s is of another address family (only TUN real servers may be)", id, rs)
			}
			for k := range rs.Checkers {
				v.checker(rs, &rs.Checkers[k], files, bfds)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var digestRE = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

func (v *validator) checker(rs *RealServer, c *Checker, files, bfds map[string]bool) {
	where := string(c.Type) + " check of real_server " + rs.String()
	if c.Type != FileCheck && c.Type != BFDCheck {
		if c.ConnectTimeout <= 0 {
			v.s.errorf(c.Pos, "%s: connect_timeout must be positive", where)
		}
		if c.DelayLoop <= 0 {
			v.s.errorf(c.Pos, "%s: delay_loop must be positive", where)
		}
	}
	switch c.Type {
	case HTTPGet, SSLGet:
		if len(c.HTTP.URLs) == 0 {
			v.s.errorf(c.Pos, "%s has no url { } block: nothing would be checked", where)
		}
		switch c.HTTP.HTTPProtocol {
		case "", "1.0", "1.0C", "1.0c", "1.1":
		default:
			v.s.errorf(c.Pos, "%s: http_protocol %q is not 1.0, 1.0C or 1.1", where, c.HTTP.HTTPProtocol)
		}
		for _, u := range c.HTTP.URLs {
			if u.Path == "" {
				v.s.errorf(u.Pos, "%s: url has no path", where)
			}
			if u.Digest != "" && !digestRE.MatchString(u.Digest) {
				v.s.errorf(u.Pos, "%s: digest %q is not 32 hex digits (an MD5 sum from genhash)", where, u.Digest)
			}
			if u.Regex != "" {
				if _, err := regexp.Compile(u.Regex); err != nil {
					v.s.errorf(u.Pos, "%s: regex %q: %v (tandem uses Go's RE2 syntax, not PCRE: no look-arounds or back-references)", where, u.Regex, err)
				}
			}
		}
	case MiscCheck:
		if c.Misc.Path == nil {
			v.s.errorf(c.Pos, "%s has no misc_path", where)
		}
	case DNSCheck:
		if c.DNS.Type != "" && !dnsTypes[strings.ToUpper(c.DNS.Type)] {
			v.s.errorf(c.Pos, "%s: type %q is not A, NS, CNAME, SOA, MX, TXT or AAAA", where, c.DNS.Type)
		}
	case UDPCheck:
		if _, err := ParseHexString(c.UDP.Payload, false); err != nil {
			v.s.errorf(c.Pos, "%s: payload: %v", where, err)
		}
		if c.UDP.RequireReply != nil {
			if _, err := ParseHexString(*c.UDP.RequireReply, true); err != nil {
				v.s.errorf(c.Pos, "%s: require_reply: %v", where, err)
			}
		}
		if c.UDP.MaxReplyLength > 0 && c.UDP.MinReplyLength > c.UDP.MaxReplyLength {
			v.s.errorf(c.Pos, "%s: min_reply_length %d is above max_reply_length %d", where, c.UDP.MinReplyLength, c.UDP.MaxReplyLength)
		}
	case FileCheck:
		if c.File.TrackFile == "" {
			v.s.errorf(c.Pos, "%s has no track_file", where)
		} else if !files[c.File.TrackFile] {
			v.s.errorf(c.Pos, "%s: no track_file %q is defined", where, c.File.TrackFile)
		}
	case BFDCheck:
		if c.BFD.Name == "" || !bfds[c.BFD.Name] {
			v.s.errorf(c.Pos, "%s: no bfd_instance %q is defined", where, c.BFD.Name)
		}
	}
}

// ParseHexString reads keepalived's free-format hex strings: white space
// separates groups, each group is read two digits at a time from the left,
// and a lone last digit is a byte of its own ("Ab12f 3 456" is
// AB 12 0F 03 45 06). With wildcards, X/x nibbles match anything; the mask
// returned has 0 bits there.
func ParseHexString(s string, wildcards bool) (HexPattern, error) {
	var p HexPattern
	nibble := func(ch byte) (byte, byte, error) {
		if wildcards && (ch == 'x' || ch == 'X') {
			return 0, 0, nil
		}
		if !isHex(ch) {
			return 0, 0, fmt.Errorf("%q is not a hex digit", ch)
		}
		return byte(hexVal(ch)), 0xf, nil
	}
	for _, group := range strings.Fields(s) {
		for i := 0; i < len(group); i += 2 {
			hi, hm, err := nibble(group[i])
			if err != nil {
				return p, err
			}
			if i+1 == len(group) {
				p.Bytes = append(p.Bytes, hi)
				p.Mask = append(p.Mask, hm)
				break
			}
			lo, lm, err := nibble(group[i+1])
			if err != nil {
				return p, err
			}
			p.Bytes = append(p.Bytes, hi<<4|lo)
			p.Mask = append(p.Mask, hm<<4|lm)
		}
	}
	return p, nil
}

// HexPattern is a byte string with a per-bit mask of the bits that count.
type HexPattern struct {
	Bytes []byte
	Mask  []byte
}

// Match reports whether data matches the pattern up to the shorter of the
// two lengths, as keepalived's UDP_CHECK compares replies.
func (p HexPattern) Match(data []byte) bool {
	n := min(len(data), len(p.Bytes))
	for i := 0; i < n; i++ {
		if data[i]&p.Mask[i] != p.Bytes[i]&p.Mask[i] {
			return false
		}
	}
	return true
}
