package config

import (
	"net/netip"
	"strings"
)

// Address, route and rule lines use ip(8) syntax. Addresses are parsed
// completely and a bad one is an error; routes and rules keep their words
// (so anything ip accepts renders back) with the fields tandem acts on
// parsed out, and a line that does not parse is skipped with a warning,
// as keepalived skips it ("Invalid rule to address ...").

func (l *IPAddresses) decodeKW(d *decoder, n *node) {
	*l = append(*l, decodeLines(d, n, "addresses", d.ipAddress)...)
}

func (d *decoder) ipAddress(c *node, block string) (IPAddress, bool) {
	a := IPAddress{Pos: c.pos}
	p, ok := parsePrefix(c.key)
	if !ok {
		d.sink.errorf(c.pos, "%s: %q is not an IP address or ADDRESS/PREFIXLEN", block, c.key)
		return a, false
	}
	a.Prefix = p
	args := c.args
	val := func() (string, bool) {
		if len(args) < 2 {
			d.sink.errorf(c.pos, "%s %s: %s needs a value", block, c.key, args[0])
			return "", false
		}
		v := args[1]
		args = args[2:]
		return v, true
	}
	for len(args) > 0 {
		opt := args[0]
		var v string
		var ok bool
		switch opt {
		case "brd", "broadcast":
			if v, ok = val(); !ok {
				return a, false
			}
			if v != "+" && v != "-" {
				if _, err := netip.ParseAddr(v); err != nil {
					d.sink.errorf(c.pos, "%s %s: broadcast %q is not an address, + or -", block, c.key, v)
					return a, false
				}
			}
			a.Broadcast = v
		case "dev":
			if a.Dev, ok = val(); !ok {
				return a, false
			}
		case "scope":
			if v, ok = val(); !ok {
				return a, false
			}
			switch v {
			case "site", "link", "host", "nowhere", "global":
			default:
				if !isNumber(v) {
					d.sink.errorf(c.pos, "%s %s: scope %q is not site, link, host, nowhere or global", block, c.key, v)
					return a, false
				}
			}
			a.Scope = v
		case "label":
			if a.Label, ok = val(); !ok {
				return a, false
			}
		case "peer":
			if v, ok = val(); !ok {
				return a, false
			}
			pp, good := parsePrefix(v)
			if !good {
				d.sink.errorf(c.pos, "%s %s: peer %q is not an address", block, c.key, v)
				return a, false
			}
			a.Peer = pp
		case "preferred_lft":
			if a.PreferredLft, ok = val(); !ok {
				return a, false
			}
		case "track_group":
			if a.TrackGroup, ok = val(); !ok {
				return a, false
			}
		case "home":
			a.Home, args = true, args[1:]
		case "-nodad", "nodad":
			a.NoDAD, args = true, args[1:]
		case "mngtmpaddr":
			a.MngTmpAddr, args = true, args[1:]
		case "noprefixroute":
			a.NoPrefixRoute, args = true, args[1:]
		case "autojoin":
			a.AutoJoin, args = true, args[1:]
		case "no_track":
			a.NoTrack, args = true, args[1:]
		case "use_vmac":
			a.UseVMAC, args = true, args[1:]
		default:
			d.sink.errorf(c.pos, "%s %s: unknown option %q", block, c.key, opt)
			return a, false
		}
	}
	if c.hasBlock {
		d.sink.errorf(c.pos, "%s %s: unexpected { } block", block, c.key)
	}
	return a, true
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Words renders the address line.
func (a IPAddress) Words() []string {
	var w []string
	if a.Prefix.Bits() == a.Prefix.Addr().BitLen() {
		w = append(w, a.Prefix.Addr().String())
	} else {
		w = append(w, a.Prefix.String())
	}
	if a.Broadcast != "" {
		w = append(w, "brd", a.Broadcast)
	}
	if a.Dev != "" {
		w = append(w, "dev", quote(a.Dev))
	}
	if a.UseVMAC {
		w = append(w, "use_vmac")
	}
	if a.Scope != "" {
		w = append(w, "scope", a.Scope)
	}
	if a.Label != "" {
		w = append(w, "label", quote(a.Label))
	}
	if a.Peer.IsValid() {
		w = append(w, "peer", a.Peer.String())
	}
	for _, f := range []struct {
		on   bool
		word string
	}{{a.Home, "home"}, {a.NoDAD, "-nodad"}, {a.MngTmpAddr, "mngtmpaddr"}, {a.NoPrefixRoute, "noprefixroute"}, {a.AutoJoin, "autojoin"}, {a.NoTrack, "no_track"}} {
		if f.on {
			w = append(w, f.word)
		}
	}
	if a.PreferredLft != "" {
		w = append(w, "preferred_lft", a.PreferredLft)
	}
	if a.TrackGroup != "" {
		w = append(w, "track_group", quote(a.TrackGroup))
	}
	return w
}

func (l *IPAddresses) renderKW(w *writer, kw string) {
	w.open(kw)
	for _, a := range *l {
		words := a.Words() // already quoted where needed
		w.line(words[0], words[1:]...)
	}
	w.close()
}

// routeValueWords are ip-route options that take one value.
var routeValueWords = map[string]bool{
	"src": true, "via": true, "gw": true, "or": true, "dev": true, "oif": true, "table": true, "scope": true,
	"metric": true, "priority": true, "preference": true, "tos": true, "dsfield": true, "protocol": true,
	"proto": true, "mtu": true, "advmss": true, "rtt": true, "rttvar": true, "reordering": true,
	"window": true, "cwnd": true, "ssthresh": true, "realms": true, "rto_min": true, "initcwnd": true,
	"initrwnd": true, "features": true, "quickack": true, "congctl": true, "pref": true, "hoplimit": true,
	"fastopen_no_cookie": true, "vrf": true, "weight": true, "track_group": true, "encap": true,
	"ttl-propagate": true, "expires": true, "nhid": true,
}

var routeTypes = map[string]bool{
	"unicast": true, "local": true, "broadcast": true, "multicast": true, "throw": true,
	"unreachable": true, "prohibit": true, "blackhole": true, "nat": true,
}

// decodeLines decodes each line of n's block with parse, keeping the
// lines that parse.
func decodeLines[T any](d *decoder, n *node, what string, parse func(c *node, block string) (T, bool)) []T {
	if !n.hasBlock {
		d.sink.errorf(n.pos, "%s needs a { } block of %s", n.key, what)
		return nil
	}
	var out []T
	for _, c := range n.children {
		if v, ok := parse(c, n.key); ok {
			out = append(out, v)
		}
	}
	return out
}

// renderLines writes a block of ip-syntax lines.
func renderLines(w *writer, kw string, lines [][]string) {
	w.open(kw)
	for _, words := range lines {
		q := quoteAll(words)
		w.line(q[0], q[1:]...)
	}
	w.close()
}

func (l *Routes) decodeKW(d *decoder, n *node) {
	*l = append(*l, decodeLines(d, n, "routes", d.route)...)
}

func (d *decoder) route(c *node, block string) (Route, bool) {
	r := Route{Words: c.words(), Pos: c.pos}
	words := r.Words
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "lock" || w == "inet6" || w == "inet" || w == "onlink" || w == "append" || w == "nexthop" {
			continue
		}
		if w == "no_track" {
			r.NoTrack = true
			continue
		}
		if routeTypes[w] && i == 0 {
			r.Type = w
			continue
		}
		if w == "to" {
			continue
		}
		if routeValueWords[w] {
			if i+1 >= len(words) {
				d.sink.warnf(c.pos, "%s: %s needs a value", block, w)
				return r, false
			}
			v := words[i+1]
			i++
			switch w {
			case "src":
				a, err := netip.ParseAddr(v)
				if err != nil {
					d.sink.warnf(c.pos, "%s: src %q is not an IP address", block, v)
					return r, false
				}
				r.Src = a
			case "via", "gw", "or":
				a, err := netip.ParseAddr(strings.TrimPrefix(strings.TrimPrefix(v, "inet6 "), "inet "))
				if err != nil {
					d.sink.warnf(c.pos, "%s: %s %q is not an IP address; the route is skipped", block, w, v)
					return r, false
				}
				if !r.Via.IsValid() {
					r.Via = a
				}
			case "dev", "oif":
				if r.Dev == "" {
					r.Dev = v
				}
			case "table":
				r.Table = v
			case "track_group":
				r.TrackGroup = v
			}
			continue
		}
		if !r.Dst.IsValid() {
			if w == "default" {
				r.Dst = netip.MustParsePrefix("0.0.0.0/0")
				continue
			}
			if p, ok := parsePrefix(w); ok {
				r.Dst = p
				continue
			}
		}
		d.sink.warnf(c.pos, "%s: unexpected %q in route %q", block, w, strings.Join(words, " "))
		return r, false
	}
	if !r.Dst.IsValid() {
		d.sink.warnf(c.pos, "%s: route %q has no destination address", block, strings.Join(words, " "))
		return r, false
	}
	return r, true
}

func (l *Routes) renderKW(w *writer, kw string) {
	lines := make([][]string, len(*l))
	for i, r := range *l {
		lines[i] = r.Words
	}
	renderLines(w, kw, lines)
}

func quoteAll(words []string) []string {
	out := make([]string, len(words))
	for i, s := range words {
		out[i] = quote(s)
	}
	return out
}

// ruleValueWords are ip-rule options that take one value.
var ruleValueWords = map[string]bool{
	"from": true, "to": true, "table": true, "lookup": true, "iif": true, "oif": true, "tos": true,
	"dsfield": true, "fwmark": true, "preference": true, "priority": true, "pref": true, "realms": true,
	"goto": true, "uidrange": true, "protocol": true, "ip_proto": true, "ipproto": true, "sport": true,
	"dport": true, "suppress_prefixlength": true, "suppress_ifgroup": true, "tun_id": true,
	"track_group": true, "nat": true, "map-to": true, "action": true, "type": true,
}

func (l *Rules) decodeKW(d *decoder, n *node) {
	*l = append(*l, decodeLines(d, n, "rules", d.rule)...)
}

func (d *decoder) rule(c *node, block string) (Rule, bool) {
	r := Rule{Words: c.words(), Pos: c.pos}
	words := r.Words
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch w {
		case "no_track":
			r.NoTrack = true
			continue
		case "inet", "inet6", "not", "l3mdev":
			continue
		case "blackhole", "unreachable", "prohibit":
			continue
		}
		if !ruleValueWords[w] {
			d.sink.warnf(c.pos, "%s: unexpected %q in rule %q", block, w, strings.Join(words, " "))
			return r, false
		}
		if i+1 >= len(words) {
			d.sink.warnf(c.pos, "%s: %s needs a value", block, w)
			return r, false
		}
		v := words[i+1]
		i++
		switch w {
		case "from", "to":
			p, ok := parsePrefix(v)
			if !ok && v != "all" {
				d.sink.warnf(c.pos, "%s: %s %q is not an address or prefix; the rule is skipped", block, w, v)
				return r, false
			}
			if w == "from" {
				r.From = p
			} else {
				r.To = p
			}
		case "table", "lookup":
			r.Table = v
		case "track_group":
			r.TrackGroup = v
		}
	}
	return r, true
}

func (l *Rules) renderKW(w *writer, kw string) {
	lines := make([][]string, len(*l))
	for i, r := range *l {
		lines[i] = r.Words
	}
	renderLines(w, kw, lines)
}
