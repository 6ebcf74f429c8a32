package config

import (
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// keepalived's checker defaults.
const (
	DefaultDelayLoop      = 60 * time.Second
	DefaultConnectTimeout = 5 * time.Second
)

func (d *decoder) virtualServerGroup(n *node) {
	name, ok := d.name(n)
	if !ok || !d.needBlock(n) {
		return
	}
	g := VirtualServerGroup{Name: name, Pos: n.pos}
	for _, c := range n.children {
		if e, ok := d.vsgEntry(c, name); ok {
			g.Entries = append(g.Entries, e)
		}
	}
	d.cfg.VirtualServerGroups = append(d.cfg.VirtualServerGroups, g)
}

func (d *decoder) vsgEntry(c *node, group string) (VSGEntry, bool) {
	if c.key == "fwmark" {
		if len(c.args) == 0 || len(c.args) > 2 {
			d.sink.errorf(c.pos, "virtual_server_group %s: want fwmark N [inet|inet6]", group)
			return VSGEntry{}, false
		}
		m, err := strconv.ParseUint(c.args[0], 0, 32)
		if err != nil || m == 0 {
			d.sink.errorf(c.pos, "virtual_server_group %s: fwmark %q is not a number in 1-4294967295", group, c.args[0])
			return VSGEntry{}, false
		}
		e := VSGEntry{FWMark: uint32(m)}
		if len(c.args) == 2 {
			if c.args[1] != "inet" && c.args[1] != "inet6" {
				d.sink.errorf(c.pos, "virtual_server_group %s: fwmark family %q is not inet or inet6", group, c.args[1])
				return VSGEntry{}, false
			}
			e.Family = c.args[1]
		}
		return e, true
	}
	first, last, ok := parseRange(c.key)
	if !ok {
		d.sink.errorf(c.pos, "virtual_server_group %s: %q is not an address, range (A.B.C.D-E, A-B) or prefix", group, c.key)
		return VSGEntry{}, false
	}
	e := VSGEntry{First: first, Last: last, Range: c.key}
	if len(c.args) > 1 {
		d.sink.errorf(c.pos, "virtual_server_group %s: want ADDRESS [PORT]", group)
		return VSGEntry{}, false
	}
	if len(c.args) == 1 {
		p, ok := d.port(c, c.args[0])
		if !ok {
			return VSGEntry{}, false
		}
		e.Port = p
	}
	return e, true
}

// parseRange reads "A", "A-B", "A.B.C.D-E" (last part replaced, decimal
// for IPv4 and hex for IPv6) and "A/N".
func parseRange(s string) (netip.Addr, netip.Addr, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Addr{}, netip.Addr{}, false
		}
		p = p.Masked()
		first := p.Addr()
		last := first
		bits := first.BitLen() - p.Bits()
		b := last.AsSlice()
		for i := len(b) - 1; bits > 0; i-- {
			n := min(bits, 8)
			b[i] |= byte(1<<n - 1)
			bits -= n
		}
		last, _ = netip.AddrFromSlice(b)
		return first, last, true
	}
	lo, hi, isRange := strings.Cut(s, "-")
	first, err := netip.ParseAddr(lo)
	if err != nil {
		return netip.Addr{}, netip.Addr{}, false
	}
	if !isRange {
		return first, first, true
	}
	if last, err := netip.ParseAddr(hi); err == nil {
		if last.BitLen() != first.BitLen() || last.Less(first) {
			return netip.Addr{}, netip.Addr{}, false
		}
		return first, last, true
	}
	b := first.AsSlice()
	if first.Is4() {
		v, err := strconv.Atoi(hi)
		if err != nil || v < int(b[3]) || v > 255 {
			return netip.Addr{}, netip.Addr{}, false
		}
		b[3] = byte(v)
	} else {
		v, err := strconv.ParseUint(hi, 16, 16)
		cur := uint64(b[14])<<8 | uint64(b[15])
		if err != nil || v < cur {
			return netip.Addr{}, netip.Addr{}, false
		}
		b[14], b[15] = byte(v>>8), byte(v)
	}
	last, _ := netip.AddrFromSlice(b)
	return first, last, true
}

var schedFlagWords = map[string]bool{
	"flag-1": true, "flag-2": true, "flag-3": true, "sh-port": true,
	"sh-fallback": true, "mh-port": true, "mh-fallback": true,
}

// checkerSeen remembers which timing keywords a checker had written,
// until its virtual server is complete and defaults can be resolved.
type checkerSeen struct {
	rs, chk int
	seen    kwSet
}

func (d *decoder) virtualServer(n *node) {
	vs := VirtualServer{Pos: n.pos}
	switch {
	case len(n.args) >= 1 && n.args[0] == "fwmark":
		if len(n.args) != 2 {
			d.sink.errorf(n.pos, "virtual_server fwmark needs one number")
			return
		}
		m, err := strconv.ParseUint(n.args[1], 0, 32)
		if err != nil || m == 0 {
			d.sink.errorf(n.pos, "virtual_server fwmark %q is not a number in 1-4294967295", n.args[1])
			return
		}
		vs.FWMark = uint32(m)
	case len(n.args) >= 1 && n.args[0] == "group":
		if len(n.args) != 2 {
			d.sink.errorf(n.pos, "virtual_server group needs one name")
			return
		}
		vs.Group = n.args[1]
	case len(n.args) == 1 || len(n.args) == 2:
		a, ok := d.addr(n, n.args[0])
		if !ok {
			return
		}
		vs.Addr = a
		if len(n.args) == 2 {
			p, ok := d.port(n, n.args[1])
			if !ok {
				return
			}
			vs.Port = p
		}
	default:
		d.sink.errorf(n.pos, "virtual_server needs IPADDR [PORT], fwmark N or group NAME")
		return
	}
	if !d.needBlock(n) {
		return
	}
	var pending []checkerSeen
	nrs := 0
	for _, c := range n.children {
		if c.key == "real_server" {
			nrs++
		}
	}
	vs.RealServers = make([]RealServer, 0, nrs)
	seen := d.fields(vsSpec, &vs, n, func(c *node) bool {
		switch {
		case schedFlagWords[c.key]:
			vs.SchedFlags = append(vs.SchedFlags, c.key)
		case c.key == "persistence_timeout":
			t := 360
			if len(c.args) > 0 {
				v, ok := d.integer(c, c.args[0], &fieldSpec{hasRange: true, min: 1, max: 2678400})
				if !ok {
					return true
				}
				t = int(v)
			}
			vs.PersistenceTimeout = &t
		case c.key == "real_server":
			if rs, seen, ok := d.realServer(c, &vs); ok {
				vs.RealServers = append(vs.RealServers, rs)
				for i, s := range seen {
					pending = append(pending, checkerSeen{rs: len(vs.RealServers) - 1, chk: i, seen: s})
				}
			}
		default:
			return d.decodeField(settingsSpec, reflect.ValueOf(&vs.Settings), c)
		}
		return true
	})
	if !seen.has("lvs_method") && !seen.has("lb_kind") {
		vs.Method = LVSMethod{Kind: "NAT"}
	}
	if !seen.has("protocol") {
		vs.Protocol = TCP
	}
	if !seen.has("quorum") {
		vs.Quorum = 1
	}
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		if rs.Method.Kind == "" {
			rs.Method = vs.Method
		}
		if rs.Port == 0 {
			rs.Port = vs.Port
		}
	}
	for _, p := range pending {
		rs := &vs.RealServers[p.rs]
		resolveChecker(&vs, rs, &rs.Checkers[p.chk], p.seen)
	}
	d.cfg.VirtualServers = append(d.cfg.VirtualServers, vs)
}

func (d *decoder) realServer(n *node, vs *VirtualServer) (RealServer, []kwSet, bool) {
	rs := RealServer{Pos: n.pos}
	if len(n.args) == 0 || len(n.args) > 2 {
		d.sink.errorf(n.pos, "real_server needs IPADDR [PORT]")
		return rs, nil, false
	}
	a, ok := d.addr(n, n.args[0])
	if !ok {
		return rs, nil, false
	}
	rs.Addr = a
	if len(n.args) == 2 {
		p, ok := d.port(n, n.args[1])
		if !ok {
			return rs, nil, false
		}
		rs.Port = p
	}
	if !d.needBlock(n) {
		return rs, nil, false
	}
	var checkerSeens []kwSet
	seen := d.fields(rsSpec, &rs, n, func(c *node) bool {
		if ct, ok := checkerType(c.key); ok {
			if chk, s, ok := d.checker(c, ct); ok {
				rs.Checkers = append(rs.Checkers, chk)
				checkerSeens = append(checkerSeens, s)
			}
			return true
		}
		return d.decodeField(settingsSpec, reflect.ValueOf(&rs.Settings), c)
	})
	if !seen.has("weight") {
		rs.Weight = 1
	}
	return rs, checkerSeens, true
}

func checkerType(s string) (CheckerType, bool) {
	for _, t := range checkerTypes() {
		if s == t {
			return CheckerType(t), true
		}
	}
	return "", false
}

// connectionKeywords are the standard checker options MISC_CHECK lacks
// (it has misc_timeout instead of connect_timeout).
var connectionKeywords = map[string]bool{
	"connect_ip": true, "connect_port": true, "bindto": true, "bind_port": true, "bind_if": true, "fwmark": true,
	"connect_timeout": true,
}

func (d *decoder) checker(n *node, t CheckerType) (Checker, kwSet, bool) {
	c := Checker{Type: t, Pos: n.pos}
	if !d.needBlock(n) {
		return c, nil, false
	}
	var spec *sectionSpec
	var target any
	switch t {
	case HTTPGet, SSLGet:
		c.HTTP = &HTTPCheckSpec{}
		spec, target = httpSpec, c.HTTP
	case MiscCheck:
		c.Misc = &MiscCheckSpec{}
		spec, target = miscSpec, c.Misc
	case SMTPCheck:
		c.SMTP = &SMTPCheckSpec{}
		spec, target = smtpSpec, c.SMTP
	case DNSCheck:
		c.DNS = &DNSCheckSpec{}
		spec, target = dnsSpec, c.DNS
	case UDPCheck:
		c.UDP = &UDPCheckSpec{}
		spec, target = udpSpec, c.UDP
	case FileCheck:
		c.File = &FileCheckSpec{}
		spec, target = fileCheckSpec, c.File
	case BFDCheck:
		c.BFD = &BFDCheckSpec{}
		spec, target = bfdCheckSpec, c.BFD
	}
	standard := t != FileCheck && t != BFDCheck
	// known lists the keywords for suggestions; built only when needed.
	known := func() []string {
		var k []string
		if spec != nil {
			k = append(k, spec.known...)
		}
		if standard {
			for _, kw := range checkerSpec.known {
				if t != MiscCheck || !connectionKeywords[kw] {
					k = append(k, kw)
				}
			}
		} else if t == BFDCheck {
			k = append(k, "alpha")
		}
		return k
	}
	saved := d.section
	d.section = string(t)
	defer func() { d.section = saved }()
	var seen kwSet
	rv := reflect.ValueOf(&c)
	for _, ch := range n.children {
		switch {
		case spec != nil && d.customChecker(&c, ch):
		case spec != nil && d.decodeField(spec, reflect.ValueOf(target), ch):
		case (standard && (t != MiscCheck || !connectionKeywords[ch.key]) || t == BFDCheck && ch.key == "alpha") && d.decodeField(checkerSpec, rv, ch):
			seen = append(seen, checkerSpec.byKW[ch.key].names[0])
		default:
			d.unknown(ch, string(t), known())
		}
	}
	return c, seen, true
}

// customChecker handles checker keywords with syntax of their own.
func (d *decoder) customChecker(c *Checker, n *node) bool {
	switch {
	case c.HTTP != nil && n.key == "url":
		if !d.needBlock(n) {
			return true
		}
		u := URL{Pos: n.pos}
		d.fields(urlSpec, &u, n, nil)
		c.HTTP.URLs = append(c.HTTP.URLs, u)
		return true
	case c.UDP != nil && n.key == "payload":
		if len(n.args) == 0 {
			d.sink.errorf(n.pos, "payload needs a hex string")
		}
		c.UDP.Payload = strings.Join(n.args, " ")
		return true
	case c.UDP != nil && n.key == "require_reply":
		s := strings.Join(n.args, " ")
		c.UDP.RequireReply = &s
		return true
	case c.SMTP != nil && n.key == "host":
		if d.needBlock(n) {
			h := SMTPHost{Pos: n.pos}
			d.fields(smtpHostSpec, &h, n, nil)
			c.SMTP.Hosts = append(c.SMTP.Hosts, h)
		}
		return true
	}
	return false
}

// resolveChecker fills a checker's timing from its real server, then its
// virtual server, then keepalived's default for the checker type.
func resolveChecker(vs *VirtualServer, rs *RealServer, c *Checker, seen kwSet) {
	dur := func(rsv, vsv *time.Duration, def time.Duration) time.Duration {
		if rsv != nil {
			return *rsv
		}
		if vsv != nil {
			return *vsv
		}
		return def
	}
	if !seen.has("delay_loop") {
		c.DelayLoop = dur(rs.Settings.DelayLoop, vs.Settings.DelayLoop, DefaultDelayLoop)
	}
	if !seen.has("connect_timeout") {
		c.ConnectTimeout = dur(rs.Settings.ConnectTimeout, vs.Settings.ConnectTimeout, DefaultConnectTimeout)
	}
	if !seen.has("retry") {
		switch {
		case rs.Settings.Retry != nil:
			c.Retry = *rs.Settings.Retry
		case vs.Settings.Retry != nil:
			c.Retry = *vs.Settings.Retry
		case c.Type == DNSCheck:
			c.Retry = 3
		case c.Type == MiscCheck:
			c.Retry = 0
		default:
			c.Retry = 1
		}
	}
	if !seen.has("delay_before_retry") {
		def := time.Second
		switch c.Type {
		case DNSCheck:
			def = c.DelayLoop
		case HTTPGet, SSLGet:
			def = 3 * time.Second
		}
		c.DelayBeforeRetry = dur(rs.Settings.DelayBeforeRetry, vs.Settings.DelayBeforeRetry, def)
	}
	if !seen.has("warmup") {
		c.Warmup = dur(rs.Settings.Warmup, vs.Settings.Warmup, c.DelayLoop)
	}
	if !seen.has("alpha") {
		switch {
		case rs.Settings.Alpha != nil:
			c.Alpha = *rs.Settings.Alpha
		case vs.Settings.Alpha != nil:
			c.Alpha = *vs.Settings.Alpha
		}
	}
}

// InhibitOnFailure reports whether rs of vs is set to weight 0 rather
// than removed when it fails.
func (vs *VirtualServer) InhibitOnFailure(rs *RealServer) bool {
	if rs.Settings.InhibitOnFailure != nil {
		return *rs.Settings.InhibitOnFailure
	}
	return vs.Settings.InhibitOnFailure != nil && *vs.Settings.InhibitOnFailure
}

// Virtualhost is the Host header an HTTP checker of rs sends for u: the
// url's, else the checker's, else the real server's, else the virtual
// server's; empty means the connect address.
func (vs *VirtualServer) Virtualhost(rs *RealServer, c *Checker, u *URL) string {
	switch {
	case u != nil && u.Virtualhost != "":
		return u.Virtualhost
	case c != nil && c.HTTP != nil && c.HTTP.Virtualhost != "":
		return c.HTTP.Virtualhost
	case rs.Settings.Virtualhost != "":
		return rs.Settings.Virtualhost
	}
	return vs.Settings.Virtualhost
}

// Persistent reports whether the virtual server has persistence.
func (vs *VirtualServer) Persistent() bool { return vs.PersistenceTimeout != nil }

// String identifies the virtual server the way keepalived logs it:
// [ADDR]:PROTO:PORT, FWM N or group NAME.
func (vs *VirtualServer) String() string {
	switch {
	case vs.FWMark != 0:
		return "FWM " + strconv.FormatUint(uint64(vs.FWMark), 10)
	case vs.Group != "":
		return "group " + vs.Group
	}
	return "[" + vs.Addr.String() + "]:" + strings.ToLower(string(vs.Protocol)) + ":" + strconv.Itoa(vs.Port)
}

// String identifies the real server as [ADDR]:PORT.
func (rs *RealServer) String() string {
	return "[" + rs.Addr.String() + "]:" + strconv.Itoa(rs.Port)
}
