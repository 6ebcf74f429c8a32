package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// This file holds the keywords whose values have a syntax of their own.

func (s *SMTPServer) decodeKW(d *decoder, n *node) {
	if len(n.args) == 0 {
		d.sink.errorf(n.pos, "smtp_server needs a host")
		return
	}
	s.Host, s.Port = n.args[0], 25
	if len(n.args) > 1 {
		p, err := strconv.Atoi(n.args[1])
		if err != nil || p < 1 || p > 65535 {
			d.sink.errorf(n.pos, "smtp_server: port %q is not in 1-65535", n.args[1])
			return
		}
		s.Port = p
	}
}

func (s *SMTPServer) renderKW(w *writer, kw string) {
	w.line(kw, quote(s.Host), strconv.Itoa(s.Port))
}

func (u *ScriptUser) decodeKW(d *decoder, n *node) {
	if len(n.args) == 0 || len(n.args) > 2 {
		d.sink.errorf(n.pos, "%s takes USER [GROUP]", n.key)
		return
	}
	u.User = n.args[0]
	if len(n.args) > 1 {
		u.Group = n.args[1]
	}
}

func (u *ScriptUser) renderKW(w *writer, kw string) {
	if u.Group != "" {
		w.line(kw, quote(u.User), quote(u.Group))
		return
	}
	w.line(kw, quote(u.User))
}

func (f *Fifo) decodeKW(d *decoder, n *node) {
	if len(n.args) == 0 || len(n.args) > 3 {
		d.sink.errorf(n.pos, "%s takes FIFO_NAME [USER [GROUP]]", n.key)
		return
	}
	f.Path = n.args[0]
	if len(n.args) > 1 {
		f.User = n.args[1]
	}
	if len(n.args) > 2 {
		f.Group = n.args[2]
	}
}

func (f *Fifo) renderKW(w *writer, kw string) {
	words := []string{quote(f.Path)}
	if f.User != "" {
		words = append(words, quote(f.User))
		if f.Group != "" {
			words = append(words, quote(f.Group))
		}
	}
	w.line(kw, words...)
}

func (x *DynamicIfs) decodeKW(d *decoder, n *node) {
	x.Enabled = true
	for _, a := range n.args {
		if a == "allow_if_changes" {
			x.AllowIfChanges = true
		} else {
			d.sink.warnf(n.pos, "dynamic_interfaces: unknown option %q (want allow_if_changes)", a)
		}
	}
}

func (x *DynamicIfs) renderKW(w *writer, kw string) {
	if x.AllowIfChanges {
		w.line(kw, "allow_if_changes")
		return
	}
	w.line(kw)
}

func (g *GarpExtraIf) decodeKW(d *decoder, n *node) {
	args := n.args
	if len(args) > 0 && args[0] == "all" {
		g.All = true
		args = args[1:]
	}
	if len(args) != 1 {
		d.sink.errorf(n.pos, "%s takes [all] SECONDS", n.key)
		return
	}
	v, ok := d.seconds(n, args[0], &fieldSpec{hasRange: true, min: 0, max: 86400})
	if ok {
		g.Interval = v
	}
}

func (g *GarpExtraIf) renderKW(w *writer, kw string) {
	if g.All {
		w.line(kw, "all", formatSeconds(g.Interval))
		return
	}
	w.line(kw, formatSeconds(g.Interval))
}

func (f *FlushOnStop) decodeKW(d *decoder, n *node) {
	switch {
	case len(n.args) == 0:
		*f = "RS"
	case n.args[0] == "VS" || n.args[0] == "RS":
		*f = FlushOnStop(n.args[0])
	default:
		d.sink.errorf(n.pos, "%s: unknown option %q (want VS or nothing)", n.key, n.args[0])
	}
}

func (f *FlushOnStop) renderKW(w *writer, kw string) {
	if *f == "VS" {
		w.line(kw, "VS")
		return
	}
	w.line(kw)
}

func (t *LVSTimeouts) decodeKW(d *decoder, n *node) {
	if len(n.args) == 0 || len(n.args)%2 != 0 {
		d.sink.errorf(n.pos, "lvs_timeouts takes [tcp SECS] [tcpfin SECS] [udp SECS]")
		return
	}
	for i := 0; i+1 < len(n.args); i += 2 {
		v, ok := d.seconds(n, n.args[i+1], &fieldSpec{hasRange: true, min: 1, max: 86400 * 31})
		if !ok {
			return
		}
		switch n.args[i] {
		case "tcp":
			t.TCP = v
		case "tcpfin":
			t.TCPFin = v
		case "udp":
			t.UDP = v
		default:
			d.sink.errorf(n.pos, "lvs_timeouts: unknown timeout %q (want tcp, tcpfin or udp)", n.args[i])
			return
		}
	}
}

func (t *LVSTimeouts) renderKW(w *writer, kw string) {
	var words []string
	if t.TCP > 0 {
		words = append(words, "tcp", strconv.Itoa(int(t.TCP/time.Second)))
	}
	if t.TCPFin > 0 {
		words = append(words, "tcpfin", strconv.Itoa(int(t.TCPFin/time.Second)))
	}
	if t.UDP > 0 {
		words = append(words, "udp", strconv.Itoa(int(t.UDP/time.Second)))
	}
	w.line(kw, words...)
}

func (s *LVSSyncDaemon) decodeKW(d *decoder, n *node) {
	if len(n.args) == 0 {
		d.sink.errorf(n.pos, "lvs_sync_daemon needs an interface")
		return
	}
	s.Interface = n.args[0]
	args := n.args[1:]
	if len(args) > 0 && args[0] != "inst" && args[0] != "id" && args[0] != "maxlen" && args[0] != "port" && args[0] != "ttl" && args[0] != "group" {
		s.Instance, args = args[0], args[1:]
	}
	for len(args) > 0 {
		if len(args) < 2 {
			d.sink.errorf(n.pos, "lvs_sync_daemon: %s needs a value", args[0])
			return
		}
		key, val := args[0], args[1]
		args = args[2:]
		num := func(lo, hi int64) (int, bool) {
			v, ok := d.integer(n, val, &fieldSpec{hasRange: true, min: float64(lo), max: float64(hi)})
			return int(v), ok
		}
		switch key {
		case "inst":
			s.Instance = val
		case "id":
			if v, ok := num(0, 255); ok {
				s.SyncID = &v
			}
		case "maxlen":
			s.MaxLen, _ = num(1, 65507)
		case "port":
			s.Port, _ = num(1, 65535)
		case "ttl":
			s.TTL, _ = num(1, 255)
		case "group":
			if a, ok := d.addr(n, val); ok {
				s.Group = a
			}
		default:
			d.sink.errorf(n.pos, "lvs_sync_daemon: unknown option %q", key)
			return
		}
	}
}

func (s *LVSSyncDaemon) renderKW(w *writer, kw string) {
	words := []string{quote(s.Interface)}
	if s.Instance != "" {
		words = append(words, "inst", quote(s.Instance))
	}
	if s.SyncID != nil {
		words = append(words, "id", strconv.Itoa(*s.SyncID))
	}
	if s.MaxLen > 0 {
		words = append(words, "maxlen", strconv.Itoa(s.MaxLen))
	}
	if s.Port > 0 {
		words = append(words, "port", strconv.Itoa(s.Port))
	}
	if s.TTL > 0 {
		words = append(words, "ttl", strconv.Itoa(s.TTL))
	}
	if s.Group.IsValid() {
		words = append(words, "group", s.Group.String())
	}
	w.line(kw, words...)
}

// Script keywords come in two forms. Notify-style keywords take the
// command as one (usually quoted) word followed by [USER [GROUP]];
// "script" and "misc_path" take the whole rest of the line as the command.
// As keepalived does for these keywords, the line is re-read with the
// script splitter, which knows both quote kinds and backslash escapes.
var wholeLineScripts = map[string]bool{"script": true, "misc_path": true}

func (s *Script) decodeKW(d *decoder, n *node) {
	rest := n.rest
	if rest == "" {
		rest = strings.Join(n.args, " ")
	}
	words, err := splitScript(rest)
	if err != nil {
		d.sink.errorf(n.pos, "%s: %v", n.key, err)
		return
	}
	if len(words) == 0 {
		d.sink.errorf(n.pos, "%s needs a command", n.key)
		return
	}
	if wholeLineScripts[n.key] {
		s.Cmd = rest
		if len(words) == 1 {
			s.Cmd = words[0]
		}
	} else {
		s.Cmd = words[0]
		if len(words) > 1 {
			s.User = words[1]
		}
		if len(words) > 2 {
			s.Group = words[2]
		}
		if len(words) > 3 {
			d.sink.errorf(n.pos, "%s: too many words: a command with arguments must be one quoted word (%s \"%s\")", n.key, n.key, strings.Join(words, " "))
			return
		}
	}
	args, err := splitScript(s.Cmd)
	if err != nil {
		d.sink.errorf(n.pos, "%s: %v", n.key, err)
		return
	}
	if len(args) == 0 {
		d.sink.errorf(n.pos, "%s needs a command", n.key)
		return
	}
	s.Args = args
}

func (s *Script) renderKW(w *writer, kw string) {
	cmd := s.Cmd
	if cmd == "" {
		cmd = strings.Join(s.Args, " ")
	}
	words := []string{`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(cmd) + `"`}
	if s.User != "" {
		words = append(words, quote(s.User))
		if s.Group != "" {
			words = append(words, quote(s.Group))
		}
	}
	w.line(kw, words...)
}

func (t *TrackWeight) decodeKW(d *decoder, n *node) {
	if len(n.args) == 0 || len(n.args) > 2 {
		d.sink.errorf(n.pos, "weight takes a number and optionally reverse")
		return
	}
	lo, hi := -253.0, 253.0
	switch d.section {
	case "track_file", "vrrp_track_file", "FILE_CHECK":
		lo, hi = -2147483647, 2147483647
	case "vrrp_track_process":
		lo, hi = -254, 254
	}
	v, ok := d.integer(n, n.args[0], &fieldSpec{hasRange: true, min: lo, max: hi})
	if !ok {
		return
	}
	t.Weight = int(v)
	if len(n.args) == 2 {
		if n.args[1] != "reverse" {
			d.sink.errorf(n.pos, "weight: unknown option %q (want reverse)", n.args[1])
			return
		}
		t.Reverse = true
	}
}

func (t *TrackWeight) renderKW(w *writer, kw string) {
	if t.Reverse {
		w.line(kw, strconv.Itoa(t.Weight), "reverse")
		return
	}
	w.line(kw, strconv.Itoa(t.Weight))
}

func (f *InitFile) decodeKW(d *decoder, n *node) {
	for _, a := range n.args {
		if a == "overwrite" {
			f.Overwrite = true
			continue
		}
		v, err := strconv.Atoi(a)
		if err != nil {
			d.sink.errorf(n.pos, "init_file: %q is neither a value nor overwrite", a)
			return
		}
		f.Value = v
	}
}

func (f *InitFile) renderKW(w *writer, kw string) {
	words := []string{strconv.Itoa(f.Value)}
	if f.Overwrite {
		words = append(words, "overwrite")
	}
	w.line(kw, words...)
}

func (r *TrackRefs) decodeKW(d *decoder, n *node) {
	if !n.hasBlock {
		d.sink.errorf(n.pos, "%s needs a { } block of names", n.key)
		return
	}
	lo, hi := -253, 253
	if n.key == "track_file" || n.key == "track_process" {
		lo, hi = -254, 254
	}
	for _, c := range n.children {
		ref := TrackRef{Name: c.key, Pos: c.pos}
		args := c.args
		for len(args) > 0 {
			switch args[0] {
			case "weight":
				if len(args) < 2 {
					d.sink.errorf(c.pos, "%s %s: weight needs a value", n.key, c.key)
					return
				}
				v, err := strconv.Atoi(args[1])
				if err != nil || v < lo || v > hi {
					d.sink.errorf(c.pos, "%s %s: weight %q is not in %d..%d", n.key, c.key, args[1], lo, hi)
					args = args[2:]
					continue
				}
				ref.Weight = &v
				args = args[2:]
			case "reverse":
				ref.Reverse = true
				args = args[1:]
			case "noreverse", "no_reverse":
				ref.NoReverse = true
				args = args[1:]
			default:
				d.sink.errorf(c.pos, "%s %s: unknown option %q (want weight N [reverse|noreverse])", n.key, c.key, args[0])
				args = nil
			}
		}
		if c.hasBlock {
			d.sink.errorf(c.pos, "%s %s: unexpected { } block", n.key, c.key)
		}
		*r = append(*r, ref)
	}
}

func (r *TrackRefs) renderKW(w *writer, kw string) {
	w.open(kw)
	for _, ref := range *r {
		words := []string{quote(ref.Name)}
		if ref.Weight != nil {
			words = append(words, "weight", strconv.Itoa(*ref.Weight))
		}
		if ref.Reverse {
			words = append(words, "reverse")
		}
		if ref.NoReverse {
			words = append(words, "noreverse")
		}
		w.line(words[0], words[1:]...)
	}
	w.close()
}

func (v *VMAC) decodeKW(d *decoder, n *node) {
	for _, a := range n.args {
		if strings.Count(a, ":") >= 4 {
			v.MAC = a
		} else if v.Name == "" {
			v.Name = a
		} else {
			d.sink.errorf(n.pos, "use_vmac: unexpected %q (want [NAME] [MAC])", a)
		}
	}
	if len(v.Name) > 15 {
		d.sink.errorf(n.pos, "use_vmac: interface name %q is longer than 15 characters", v.Name)
	}
}

func (v *VMAC) renderKW(w *writer, kw string) {
	var words []string
	if v.Name != "" {
		words = append(words, quote(v.Name))
	}
	if v.MAC != "" {
		words = append(words, v.MAC)
	}
	w.line(kw, words...)
}

func (a *Authentication) decodeKW(d *decoder, n *node) {
	a.Pos = n.pos
	if !n.hasBlock {
		d.sink.errorf(n.pos, "authentication needs a { } block")
		return
	}
	for _, c := range n.children {
		switch c.key {
		case "auth_type":
			if s, ok := d.oneArg(c); ok {
				switch strings.ToUpper(s) {
				case "PASS", "AH":
					a.Type = strings.ToUpper(s)
				default:
					d.sink.errorf(c.pos, "auth_type %q is not PASS or AH", s)
				}
			}
		case "auth_pass":
			if s, ok := d.oneArg(c); ok {
				a.Pass = s
				if len(s) > 8 {
					d.sink.warnf(c.pos, "auth_pass is longer than 8 characters: only %q is used", s[:8])
				}
			}
		default:
			d.unknown(c, "authentication", []string{"auth_type", "auth_pass"})
		}
	}
}

func (a *Authentication) renderKW(w *writer, kw string) {
	w.open(kw)
	if a.Type != "" {
		w.line("auth_type", a.Type)
	}
	if a.Pass != "" {
		w.line("auth_pass", quote(a.Pass))
	}
	w.close()
}

func (p *UnicastPeers) decodeKW(d *decoder, n *node) {
	if !n.hasBlock {
		d.sink.errorf(n.pos, "unicast_peer needs a { } block of addresses")
		return
	}
	for _, c := range n.children {
		a, ok := d.addr(c, c.key)
		if !ok {
			continue
		}
		peer := UnicastPeer{Addr: a}
		args := c.args
		for len(args) >= 2 {
			v, err := strconv.Atoi(args[1])
			if err != nil || v < 0 || v > 255 {
				d.sink.errorf(c.pos, "unicast_peer %s: %s %q is not in 0-255", c.key, args[0], args[1])
				break
			}
			switch args[0] {
			case "min_ttl":
				peer.MinTTL = &v
			case "max_ttl":
				peer.MaxTTL = &v
			default:
				d.sink.errorf(c.pos, "unicast_peer %s: unknown option %q (want min_ttl or max_ttl)", c.key, args[0])
			}
			args = args[2:]
		}
		if len(args) == 1 {
			d.sink.errorf(c.pos, "unicast_peer %s: %s needs a value", c.key, args[0])
		}
		*p = append(*p, peer)
	}
}

func (p *UnicastPeers) renderKW(w *writer, kw string) {
	w.open(kw)
	for _, peer := range *p {
		words := []string{}
		if peer.MinTTL != nil {
			words = append(words, "min_ttl", strconv.Itoa(*peer.MinTTL))
		}
		if peer.MaxTTL != nil {
			words = append(words, "max_ttl", strconv.Itoa(*peer.MaxTTL))
		}
		w.line(peer.Addr.String(), words...)
	}
	w.close()
}

func (m *LVSMethod) decodeKW(d *decoder, n *node) {
	if len(n.args) == 0 {
		d.sink.errorf(n.pos, "%s needs NAT, DR or TUN", n.key)
		return
	}
	kind := strings.ToUpper(n.args[0])
	switch kind {
	case "NAT", "DR":
		if len(n.args) > 1 {
			d.sink.warnf(n.pos, "%s %s: extra arguments %q ignored", n.key, kind, strings.Join(n.args[1:], " "))
		}
	case "TUN":
		args := n.args[1:]
		for len(args) > 0 {
			switch args[0] {
			case "type":
				if len(args) < 2 {
					d.sink.errorf(n.pos, "%s TUN: type needs ipip, gue or gre", n.key)
					return
				}
				switch args[1] {
				case "ipip", "gre":
					m.TunnelType = args[1]
					args = args[2:]
				case "gue":
					m.TunnelType = "gue"
					if len(args) < 4 || args[2] != "port" {
						d.sink.errorf(n.pos, "%s TUN type gue needs port NUM", n.key)
						return
					}
					p, err := strconv.Atoi(args[3])
					if err != nil || p < 1 || p > 65535 {
						d.sink.errorf(n.pos, "%s TUN type gue: port %q is not in 1-65535", n.key, args[3])
						return
					}
					m.TunnelPort = p
					args = args[4:]
				default:
					d.sink.errorf(n.pos, "%s TUN: unknown tunnel type %q (want ipip, gue or gre)", n.key, args[1])
					return
				}
			case "nocsum", "csum", "remcsum":
				m.Checksum = args[0]
				args = args[1:]
			default:
				d.sink.errorf(n.pos, "%s TUN: unknown option %q", n.key, args[0])
				return
			}
		}
	default:
		d.sink.errorf(n.pos, "%s %q is not NAT, DR or TUN", n.key, n.args[0])
		return
	}
	m.Kind = kind
}

func (m *LVSMethod) renderKW(w *writer, kw string) {
	words := []string{m.Kind}
	if m.TunnelType != "" {
		words = append(words, "type", m.TunnelType)
		if m.TunnelType == "gue" {
			words = append(words, "port", strconv.Itoa(m.TunnelPort))
		}
	}
	if m.Checksum != "" {
		words = append(words, m.Checksum)
	}
	w.line(kw, words...)
}

func (s *SorryServer) decodeKW(d *decoder, n *node) {
	if len(n.args) == 0 || len(n.args) > 2 {
		d.sink.errorf(n.pos, "sorry_server takes IPADDR [PORT]")
		return
	}
	a, ok := d.addr(n, n.args[0])
	if !ok {
		return
	}
	s.Addr = a
	if len(n.args) == 2 {
		p, ok := d.port(n, n.args[1])
		if !ok {
			return
		}
		s.Port = p
	}
}

func (s *SorryServer) renderKW(w *writer, kw string) {
	if s.Port != 0 {
		w.line(kw, s.Addr.String(), strconv.Itoa(s.Port))
		return
	}
	w.line(kw, s.Addr.String())
}

func (d *decoder) port(n *node, s string) (int, bool) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 {
		d.sink.errorf(n.pos, "%s: port %q is not in 0-65535", n.key, s)
		return 0, false
	}
	return p, true
}

func (sc *StatusCodes) decodeKW(d *decoder, n *node) {
	if len(n.args) == 0 {
		d.sink.errorf(n.pos, "status_code needs at least one code or range")
		return
	}
	for _, a := range n.args {
		lo, hi, isRange := strings.Cut(a, "-")
		from, err1 := strconv.Atoi(lo)
		to := from
		var err2 error
		if isRange {
			to, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || from < 100 || to > 599 || from > to {
			d.sink.errorf(n.pos, "status_code: %q is not a code or range within 100-599", a)
			continue
		}
		*sc = append(*sc, StatusRange{From: from, To: to})
	}
}

func (sc *StatusCodes) renderKW(w *writer, kw string) {
	words := make([]string, 0, len(*sc))
	for _, r := range *sc {
		if r.From == r.To {
			words = append(words, strconv.Itoa(r.From))
		} else {
			words = append(words, strconv.Itoa(r.From)+"-"+strconv.Itoa(r.To))
		}
	}
	w.line(kw, words...)
}

func (s *State) decodeKW(d *decoder, n *node) {
	v, ok := d.oneArg(n)
	if !ok {
		return
	}
	switch strings.ToUpper(v) {
	case "MASTER":
		*s = StateMaster
	case "BACKUP":
		*s = StateBackup
	default:
		d.sink.errorf(n.pos, "state %q is not MASTER or BACKUP", v)
	}
}

func (s *State) renderKW(w *writer, kw string) { w.line(kw, string(*s)) }

func (p *Protocol) decodeKW(d *decoder, n *node) {
	v, ok := d.oneArg(n)
	if !ok {
		return
	}
	switch strings.ToUpper(v) {
	case "TCP", "UDP", "SCTP":
		*p = Protocol(strings.ToUpper(v))
	default:
		d.sink.errorf(n.pos, "protocol %q is not TCP, UDP or SCTP", v)
	}
}

func (p *Protocol) renderKW(w *writer, kw string) { w.line(kw, string(*p)) }

// netipPrefix parses ADDR or ADDR/LEN; a bare address is a host prefix.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p, err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}
