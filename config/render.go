package config

import (
	"reflect"
	"strconv"
	"strings"
)

// writer accumulates rendered configuration text.
type writer struct {
	b     strings.Builder
	depth int
}

func (w *writer) indent() {
	for range w.depth {
		w.b.WriteString("    ")
	}
}

func (w *writer) line(first string, rest ...string) {
	w.indent()
	w.b.WriteString(first)
	for _, s := range rest {
		w.b.WriteByte(' ')
		w.b.WriteString(s)
	}
	w.b.WriteByte('\n')
}

func (w *writer) open(first string, rest ...string) {
	w.line(first, append(rest, "{")...)
	w.depth++
}

func (w *writer) close() {
	w.depth--
	w.line("}")
}

func (w *writer) fields(spec *sectionSpec, v any) {
	w.renderFields(spec, reflect.ValueOf(v).Elem())
}

// Render writes the model as keepalived.conf text that keepalived accepts
// and that parses back to an equal model. Defaults that were filled in are
// written out explicitly; comments and definitions are not kept.
func Render(c *Config) string {
	w := &writer{}
	w.fields(processSpec, &c.Process)
	w.open("global_defs")
	w.fields(globalSpec, &c.Global)
	for _, d := range c.Global.Other {
		w.directive(d)
	}
	w.close()
	if len(c.LinkbeatInterfaces) > 0 {
		w.open("linkbeat_interfaces")
		for _, l := range c.LinkbeatInterfaces {
			if l.Kind != "" {
				w.line(quote(l.Name), l.Kind)
			} else {
				w.line(quote(l.Name))
			}
		}
		w.close()
	}
	for _, tg := range c.TrackGroups {
		w.open("track_group", quote(tg.Name))
		w.open("group")
		for _, i := range tg.Instances {
			w.line(quote(i))
		}
		w.close()
		w.close()
	}
	if len(c.InterfaceDelays) > 0 {
		w.open("interface_up_down_delays")
		for _, d := range c.InterfaceDelays {
			w.line(quote(d.Interface), formatSeconds(d.Down), formatSeconds(d.Up))
		}
		w.close()
	}
	if len(c.StaticAddresses) > 0 {
		c.StaticAddresses.renderKW(w, "static_ipaddress")
	}
	if len(c.StaticRoutes) > 0 {
		c.StaticRoutes.renderKW(w, "static_routes")
	}
	if len(c.StaticRules) > 0 {
		c.StaticRules.renderKW(w, "static_rules")
	}
	for i := range c.BFDInstances {
		b := &c.BFDInstances[i]
		w.open("bfd_instance", quote(b.Name))
		w.fields(bfdSpec, b)
		w.line("min_rx", formatMillis(b.MinRx.Microseconds()))
		w.line("min_tx", formatMillis(b.MinTx.Microseconds()))
		w.line("idle_tx", formatMillis(b.IdleTx.Microseconds()))
		w.close()
	}
	for i := range c.Scripts {
		s := &c.Scripts[i]
		w.open("vrrp_script", quote(s.Name))
		w.fields(scriptSpec, s)
		w.close()
	}
	for i := range c.TrackFiles {
		t := &c.TrackFiles[i]
		w.open("track_file", quote(t.Name))
		w.fields(trackFileSpec, t)
		w.close()
	}
	for i := range c.TrackProcesses {
		t := &c.TrackProcesses[i]
		w.open("vrrp_track_process", quote(t.Name))
		w.fields(trackProcSpec, t)
		w.close()
	}
	for i := range c.GarpGroups {
		w.open("garp_group")
		w.fields(garpGroupSpec, &c.GarpGroups[i])
		w.close()
	}
	for i := range c.Instances {
		v := &c.Instances[i]
		w.open("vrrp_instance", quote(v.Name))
		w.fields(instanceSpec, v)
		if v.Accept != nil {
			if *v.Accept {
				w.line("accept")
			} else {
				w.line("no_accept")
			}
		}
		w.close()
	}
	for i := range c.SyncGroups {
		g := &c.SyncGroups[i]
		w.open("vrrp_sync_group", quote(g.Name))
		w.fields(syncGroupSpec, g)
		w.close()
	}
	if c.SSL != nil {
		w.open("SSL")
		w.fields(sslSpec, c.SSL)
		w.close()
	}
	for _, g := range c.VirtualServerGroups {
		w.open("virtual_server_group", quote(g.Name))
		for _, e := range g.Entries {
			switch {
			case e.FWMark != 0 && e.Family != "":
				w.line("fwmark", strconv.FormatUint(uint64(e.FWMark), 10), e.Family)
			case e.FWMark != 0:
				w.line("fwmark", strconv.FormatUint(uint64(e.FWMark), 10))
			case e.Port != 0:
				w.line(e.Range, strconv.Itoa(e.Port))
			default:
				w.line(e.Range)
			}
		}
		w.close()
	}
	for i := range c.VirtualServers {
		w.virtualServer(&c.VirtualServers[i])
	}
	return w.b.String()
}

func formatMillis(us int64) string {
	return strconv.FormatFloat(float64(us)/1000, 'f', -1, 64)
}

func (w *writer) directive(d Directive) {
	args := quoteAll(d.Args)
	if !d.HasBlock {
		w.line(d.Keyword, args...)
		return
	}
	w.open(d.Keyword, args...)
	for _, c := range d.Block {
		w.directive(c)
	}
	w.close()
}

func (w *writer) virtualServer(vs *VirtualServer) {
	switch {
	case vs.FWMark != 0:
		w.open("virtual_server", "fwmark", strconv.FormatUint(uint64(vs.FWMark), 10))
	case vs.Group != "":
		w.open("virtual_server", "group", quote(vs.Group))
	case vs.Port != 0:
		w.open("virtual_server", vs.Addr.String(), strconv.Itoa(vs.Port))
	default:
		w.open("virtual_server", vs.Addr.String())
	}
	w.fields(vsSpec, vs)
	for _, f := range vs.SchedFlags {
		w.line(f)
	}
	if vs.PersistenceTimeout != nil {
		w.line("persistence_timeout", strconv.Itoa(*vs.PersistenceTimeout))
	}
	w.fields(settingsSpec, &vs.Settings)
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		if rs.Port != 0 {
			w.open("real_server", rs.Addr.String(), strconv.Itoa(rs.Port))
		} else {
			w.open("real_server", rs.Addr.String())
		}
		w.fields(rsSpec, rs)
		w.fields(settingsSpec, &rs.Settings)
		for j := range rs.Checkers {
			w.checker(&rs.Checkers[j])
		}
		w.close()
	}
	w.close()
}

func (w *writer) checker(c *Checker) {
	w.open(string(c.Type))
	switch c.Type {
	case FileCheck:
	case BFDCheck:
		if c.Alpha {
			w.line("alpha")
		}
	case MiscCheck:
		w.renderFields(checkerSpec, reflect.ValueOf(c).Elem(), connectionKeywords)
	default:
		w.fields(checkerSpec, c)
	}
	switch {
	case c.HTTP != nil:
		w.fields(httpSpec, c.HTTP)
		for i := range c.HTTP.URLs {
			w.open("url")
			w.fields(urlSpec, &c.HTTP.URLs[i])
			w.close()
		}
	case c.Misc != nil:
		w.fields(miscSpec, c.Misc)
	case c.SMTP != nil:
		w.fields(smtpSpec, c.SMTP)
		for i := range c.SMTP.Hosts {
			w.open("host")
			w.fields(smtpHostSpec, &c.SMTP.Hosts[i])
			w.close()
		}
	case c.DNS != nil:
		w.fields(dnsSpec, c.DNS)
	case c.UDP != nil:
		w.fields(udpSpec, c.UDP)
		if c.UDP.Payload != "" {
			w.line("payload", strings.Fields(c.UDP.Payload)...)
		}
		if c.UDP.RequireReply != nil {
			if *c.UDP.RequireReply == "" {
				w.line("require_reply")
			} else {
				w.line("require_reply", *c.UDP.RequireReply)
			}
		}
	case c.File != nil:
		w.fields(fileCheckSpec, c.File)
	case c.BFD != nil:
		w.fields(bfdCheckSpec, c.BFD)
	}
	w.close()
}
