package config

import (
	"reflect"
	"sort"
	"strings"
)

// decoder turns the statement tree into the typed model.
type decoder struct {
	sink    *diagSink
	section string // keyword of the section being decoded, for context
	cfg     *Config
	// Which keywords global_defs and each vrrp_instance had written, so
	// defaults fill in only where the file is silent.
	globalSeen   kwSet
	instanceSeen []kwSet
}

// Section tables, built once at initialisation and read-only afterwards.
var (
	processSpec    = specOf("top level", Process{})
	globalSpec     = specOf("global_defs", GlobalDefs{}, otherGlobalKeywords...)
	bfdSpec        = specOf("bfd_instance", BFDInstance{}, "min_rx", "min_tx", "idle_tx")
	scriptSpec     = specOf("vrrp_script", VRRPScript{})
	trackFileSpec  = specOf("track_file", TrackFile{})
	trackProcSpec  = specOf("vrrp_track_process", TrackProcess{}, "delay")
	garpGroupSpec  = specOf("garp_group", GarpGroup{})
	syncGroupSpec  = specOf("vrrp_sync_group", SyncGroup{})
	instanceSpec   = specOf("vrrp_instance", VRRPInstance{}, "accept", "no_accept", "preempt")
	sslSpec        = specOf("SSL", SSLConfig{})
	settingsSpec   = specOf("check settings", CheckSettings{})
	vsSpec         = specOf("virtual_server", VirtualServer{}, append(settingsSpec.known, "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback", "persistence_timeout", "real_server")...)
	rsSpec         = specOf("real_server", RealServer{}, append(settingsSpec.known, checkerTypes()...)...)
	checkerSpec    = specOf("checker", Checker{})
	httpSpec       = specOf("HTTP_GET", HTTPCheckSpec{}, "url")
	urlSpec        = specOf("url", URL{})
	miscSpec       = specOf("MISC_CHECK", MiscCheckSpec{})
	smtpSpec       = specOf("SMTP_CHECK", SMTPCheckSpec{}, "host")
	smtpHostSpec   = specOf("host", SMTPHost{})
	dnsSpec        = specOf("DNS_CHECK", DNSCheckSpec{})
	udpSpec        = specOf("UDP_CHECK", UDPCheckSpec{}, "require_reply", "payload")
	fileCheckSpec  = specOf("FILE_CHECK", FileCheckSpec{})
	bfdCheckSpec   = specOf("BFD_CHECK", BFDCheckSpec{})
	topLevelBlocks = []string{
		"global_defs", "linkbeat_interfaces", "track_group", "interface_up_down_delays",
		"static_ipaddress", "static_routes", "static_rules", "bfd_instance", "vrrp_script",
		"track_file", "vrrp_track_file", "vrrp_track_process", "garp_group", "vrrp_sync_group",
		"vrrp_instance", "SSL", "virtual_server_group", "virtual_server",
	}
)

func checkerTypes() []string {
	return []string{"TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK", "PING_CHECK", "UDP_CHECK", "FILE_CHECK", "BFD_CHECK"}
}

// fields decodes n's block into target (a pointer to a section struct).
// custom is consulted first for keywords handled by hand.
func (d *decoder) fields(spec *sectionSpec, target any, n *node, custom func(c *node) bool) kwSet {
	saved := d.section
	d.section = spec.name
	defer func() { d.section = saved }()
	seen := make(kwSet, 0, len(n.children))
	rv := reflect.ValueOf(target)
	for _, c := range n.children {
		if custom != nil && custom(c) {
			seen = append(seen, c.key)
			continue
		}
		if d.decodeField(spec, rv, c) {
			seen = append(seen, spec.byKW[c.key].names[0])
			continue
		}
		d.unknown(c, spec.name, spec.known)
	}
	return seen
}

// unknown warns about a keyword the section does not have, suggesting
// what was probably meant, and skips it (as a running keepalived does).
func (d *decoder) unknown(c *node, section string, known []string) {
	msg := "unknown keyword " + quoteMsg(c.key) + " in " + section
	if s := suggest(c.key, known); s != "" {
		msg += " (did you mean " + quoteMsg(s) + "?)"
	}
	if c.hasBlock {
		msg += "; its { } block is skipped"
	}
	if cost := unknownCost(section, c.key); cost != "" {
		msg += ": " + cost
	}
	d.sink.warnf(c.pos, "%s", msg)
}

func quoteMsg(s string) string { return `"` + s + `"` }

// unknownCost says what a skipped keyword costs where that is not obvious.
func unknownCost(section, key string) string {
	switch section {
	case "authentication":
		return "without a valid auth_type keepalived sends adverts with no authentication"
	case "vrrp_instance":
		if strings.HasPrefix(key, "virtual_ipaddress") || strings.HasPrefix(key, "virtual_router") {
			return "this instance will not be configured as intended"
		}
	case "vrrp_sync_group":
		return "instance names belong inside group { }"
	}
	return ""
}

// suggest finds the known keyword closest to word: a keyword glued to its
// value ("auth_typePASS"), a case slip, or a small edit distance.
func suggest(word string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(k, word) {
			return k
		}
	}
	best := ""
	bestDist := min(len(word)/3+1, 3)
	for _, k := range known {
		if dd := editDistance(strings.ToLower(word), strings.ToLower(k)); dd <= bestDist && (best == "" || dd < bestDist) {
			best, bestDist = k, dd
		}
	}
	if best != "" && bestDist <= 1 {
		return best
	}
	// A keyword glued to its value: "auth_typePASS", "priority100".
	glued := ""
	for _, k := range known {
		if len(word) > len(k) && strings.HasPrefix(word, k) && len(k) > len(glued) {
			if c := word[len(k)]; c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '.' {
				glued = k
			}
		}
	}
	if glued != "" {
		return glued + " " + word[len(glued):]
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev[j-1]) // transposition, roughly
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// name returns the single name argument of a named section.
func (d *decoder) name(n *node) (string, bool) {
	if len(n.args) == 0 {
		d.sink.errorf(n.pos, "%s needs a name", n.key)
		return "", false
	}
	if len(n.args) > 1 {
		d.sink.warnf(n.pos, "%s %s: extra words %q ignored", n.key, n.args[0], strings.Join(n.args[1:], " "))
	}
	return n.args[0], true
}

func (d *decoder) needBlock(n *node) bool {
	if !n.hasBlock {
		d.sink.errorf(n.pos, "%s needs a { } block", n.key)
		return false
	}
	return true
}

// top decodes the top level of the configuration.
func (d *decoder) top(nodes []*node) {
	cfg := d.cfg
	for _, n := range nodes {
		if d.decodeField(processSpec, reflect.ValueOf(&cfg.Process), n) {
			continue
		}
		switch n.key {
		case "global_defs":
			if d.needBlock(n) {
				d.globalDefs(n)
			}
		case "linkbeat_interfaces":
			if d.needBlock(n) {
				for _, c := range n.children {
					li := LinkbeatInterface{Name: c.key}
					if len(c.args) > 0 {
						li.Kind = strings.ToUpper(c.args[0])
						if li.Kind != "MII" && li.Kind != "ETHTOOL" && li.Kind != "IOCTL" {
							d.sink.errorf(c.pos, "linkbeat_interfaces %s: %q is not MII, ETHTOOL or IOCTL", c.key, c.args[0])
						}
					}
					cfg.LinkbeatInterfaces = append(cfg.LinkbeatInterfaces, li)
				}
			}
		case "track_group":
			d.trackGroup(n)
		case "interface_up_down_delays":
			d.interfaceDelays(n)
		case "static_ipaddress":
			(&cfg.StaticAddresses).decodeKW(d, n)
		case "static_routes":
			(&cfg.StaticRoutes).decodeKW(d, n)
		case "static_rules":
			(&cfg.StaticRules).decodeKW(d, n)
		case "bfd_instance":
			d.bfdInstance(n)
		case "vrrp_script":
			d.vrrpScript(n)
		case "track_file", "vrrp_track_file":
			d.trackFile(n)
		case "vrrp_track_process":
			d.trackProcess(n)
		case "garp_group":
			if d.needBlock(n) {
				g := GarpGroup{Pos: n.pos}
				d.fields(garpGroupSpec, &g, n, nil)
				cfg.GarpGroups = append(cfg.GarpGroups, g)
			}
		case "vrrp_sync_group":
			d.syncGroup(n)
		case "vrrp_instance":
			d.vrrpInstance(n)
		case "SSL":
			if d.needBlock(n) {
				s := &SSLConfig{}
				d.fields(sslSpec, s, n, nil)
				cfg.SSL = s
			}
		case "virtual_server_group":
			d.virtualServerGroup(n)
		case "virtual_server":
			d.virtualServer(n)
		default:
			known := append(append([]string{}, topLevelBlocks...), processSpec.known...)
			sort.Strings(known)
			d.unknown(n, "the top level", known)
		}
	}
}

func (d *decoder) globalDefs(n *node) {
	g := &d.cfg.Global
	seen := d.fields(globalSpec, g, n, func(c *node) bool {
		for _, k := range otherGlobalKeywords {
			if c.key == k {
				g.Other = append(g.Other, directiveOf(c))
				return true
			}
		}
		return false
	})
	d.globalSeen = append(d.globalSeen, seen...)
}

func directiveOf(n *node) Directive {
	dir := Directive{Keyword: n.key, Args: append([]string(nil), n.args...), HasBlock: n.hasBlock}
	for _, c := range n.children {
		dir.Block = append(dir.Block, directiveOf(c))
	}
	return dir
}

func (d *decoder) trackGroup(n *node) {
	name, ok := d.name(n)
	if !ok || !d.needBlock(n) {
		return
	}
	tg := TrackGroup{Name: name, Pos: n.pos}
	for _, c := range n.children {
		if c.key != "group" {
			d.unknown(c, "track_group", []string{"group"})
			continue
		}
		for _, m := range c.children {
			tg.Instances = append(tg.Instances, m.words()...)
		}
	}
	d.cfg.TrackGroups = append(d.cfg.TrackGroups, tg)
}

func (d *decoder) interfaceDelays(n *node) {
	if !d.needBlock(n) {
		return
	}
	span := &fieldSpec{hasRange: true, min: 0, max: 255}
	for _, c := range n.children {
		if len(c.args) == 0 || len(c.args) > 2 {
			d.sink.errorf(c.pos, "interface_up_down_delays: want IFNAME DOWN_DELAY [UP_DELAY]")
			continue
		}
		down, ok := d.seconds(c, c.args[0], span)
		if !ok {
			continue
		}
		up := down
		if len(c.args) == 2 {
			if up, ok = d.seconds(c, c.args[1], span); !ok {
				continue
			}
		}
		d.cfg.InterfaceDelays = append(d.cfg.InterfaceDelays, InterfaceDelay{Interface: c.key, Down: down, Up: up})
	}
}

func (d *decoder) bfdInstance(n *node) {
	name, ok := d.name(n)
	if !ok || !d.needBlock(n) {
		return
	}
	b := BFDInstance{Name: name, Pos: n.pos, MinRx: 10e6, MinTx: 10e6, IdleTx: 1000e6, Multiplier: 5, TTL: 255, HopLimit: 64}
	d.fields(bfdSpec, &b, n, func(c *node) bool {
		var dst *int64
		// Milliseconds, within keepalived's ranges.
		ms := &fieldSpec{hasRange: true, min: 1, max: 4294967}
		switch c.key {
		case "min_rx":
			dst = (*int64)(&b.MinRx)
		case "min_tx":
			dst = (*int64)(&b.MinTx)
		case "idle_tx":
			dst = (*int64)(&b.IdleTx)
			ms.min = 1000
		default:
			return false
		}
		if s, ok := d.oneArg(c); ok {
			// Given in milliseconds; seconds() parses the same decimal form.
			if v, ok := d.seconds(c, s, ms); ok {
				*dst = int64(v) / 1000
			}
		}
		return true
	})
	d.cfg.BFDInstances = append(d.cfg.BFDInstances, b)
}

func (d *decoder) vrrpScript(n *node) {
	name, ok := d.name(n)
	if !ok || !d.needBlock(n) {
		return
	}
	s := VRRPScript{Name: name, Pos: n.pos}
	seen := d.fields(scriptSpec, &s, n, nil)
	if !seen.has("interval") {
		s.Interval = 1e9
	}
	if !seen.has("rise") {
		s.Rise = 1
	}
	if !seen.has("fall") {
		s.Fall = 1
	}
	if s.Script == nil {
		d.sink.warnf(n.pos, "vrrp_script %s has no script: keepalived drops it, and instances tracking it ignore it", name)
	}
	d.cfg.Scripts = append(d.cfg.Scripts, s)
}

func (d *decoder) trackFile(n *node) {
	name, ok := d.name(n)
	if !ok || !d.needBlock(n) {
		return
	}
	if n.key == "vrrp_track_file" {
		d.sink.warnf(n.pos, "vrrp_track_file is deprecated: use track_file")
	}
	t := TrackFile{Name: name, Pos: n.pos}
	seen := d.fields(trackFileSpec, &t, n, nil)
	if !seen.has("weight") {
		t.Weight.Weight = 1
	}
	if t.File == "" {
		d.sink.errorf(n.pos, "track_file %s has no file", name)
	}
	d.cfg.TrackFiles = append(d.cfg.TrackFiles, t)
}

func (d *decoder) trackProcess(n *node) {
	name, ok := d.name(n)
	if !ok || !d.needBlock(n) {
		return
	}
	t := TrackProcess{Name: name, Pos: n.pos}
	seen := d.fields(trackProcSpec, &t, n, func(c *node) bool {
		if c.key != "delay" {
			return false
		}
		if s, ok := d.oneArg(c); ok {
			if v, ok := d.seconds(c, s, nil); ok {
				t.ForkDelay, t.TerminateDelay = v, v
			}
		}
		return true
	})
	if !seen.has("weight") {
		t.Weight.Weight = 1
	}
	if !seen.has("quorum") {
		t.Quorum = 1
	}
	if len(t.Process) == 0 {
		d.sink.errorf(n.pos, "vrrp_track_process %s has no process", name)
	}
	if t.ParamMatch != "" && t.ParamMatch != "initial" && t.ParamMatch != "partial" {
		d.sink.errorf(n.pos, "vrrp_track_process %s: param_match %q is not initial or partial", name, t.ParamMatch)
	}
	d.cfg.TrackProcesses = append(d.cfg.TrackProcesses, t)
}

func (d *decoder) syncGroup(n *node) {
	name, ok := d.name(n)
	if !ok || !d.needBlock(n) {
		return
	}
	g := SyncGroup{Name: name, Pos: n.pos}
	d.fields(syncGroupSpec, &g, n, nil)
	if len(g.Group) == 0 {
		d.sink.warnf(n.pos, "vrrp_sync_group %s has no group { } of instances: it has no effect", name)
	}
	d.cfg.SyncGroups = append(d.cfg.SyncGroups, g)
}

func (d *decoder) vrrpInstance(n *node) {
	name, ok := d.name(n)
	if !ok || !d.needBlock(n) {
		return
	}
	v := VRRPInstance{Name: name, Pos: n.pos}
	seen := d.fields(instanceSpec, &v, n, func(c *node) bool {
		switch c.key {
		case "accept", "no_accept":
			b := c.key == "accept"
			v.Accept = &b
		case "preempt":
			v.NoPreempt = false
		default:
			return false
		}
		return true
	})
	// Required keywords are checked here, where a keyword that was written
	// with a bad value (already reported) is known to have been written.
	if !seen.has("virtual_router_id") {
		d.sink.errorf(n.pos, "vrrp_instance %s has no virtual_router_id (1-255)", name)
	}
	if !seen.has("interface") && !seen.has("unicast_peer") {
		d.sink.errorf(n.pos, "vrrp_instance %s has no interface (only unicast instances may omit it)", name)
	}
	d.cfg.Instances = append(d.cfg.Instances, v)
	d.instanceSeen = append(d.instanceSeen, seen)
}

// kwSet is the set of keywords a section had written; sections are small,
// so a slice beats a map.
type kwSet []string

func (s kwSet) has(kw string) bool {
	for _, k := range s {
		if k == kw {
			return true
		}
	}
	return false
}
