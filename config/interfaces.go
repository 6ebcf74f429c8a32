package config

import "sort"

// Interfaces lists every network interface the configuration names
// (instance interfaces, tracked interfaces, address and route devices,
// garp groups, linkbeat and sync-daemon interfaces), sorted.
func (c *Config) Interfaces() []string {
	set := map[string]bool{}
	add := func(s string) {
		if s != "" {
			set[s] = true
		}
	}
	addrs := func(l IPAddresses) {
		for _, a := range l {
			add(a.Dev)
		}
	}
	routes := func(l Routes) {
		for _, r := range l {
			add(r.Dev)
		}
	}
	add(c.Global.DefaultInterface)
	if c.Global.LVSSyncDaemon != nil {
		add(c.Global.LVSSyncDaemon.Interface)
	}
	for _, l := range c.LinkbeatInterfaces {
		add(l.Name)
	}
	for _, d := range c.InterfaceDelays {
		add(d.Interface)
	}
	addrs(c.StaticAddresses)
	routes(c.StaticRoutes)
	for _, g := range c.GarpGroups {
		add(g.Interface)
		for _, i := range g.Interfaces {
			add(i)
		}
	}
	for _, g := range c.SyncGroups {
		for _, t := range g.TrackInterface {
			add(t.Name)
		}
	}
	for i := range c.Instances {
		in := &c.Instances[i]
		add(in.Interface)
		add(in.LVSSyncDaemonInterface)
		for _, t := range in.TrackInterface {
			add(t.Name)
		}
		addrs(in.VirtualIPAddresses)
		addrs(in.VirtualIPAddressesExcluded)
		routes(in.VirtualRoutes)
	}
	for i := range c.VirtualServers {
		for j := range c.VirtualServers[i].RealServers {
			for _, k := range c.VirtualServers[i].RealServers[j].Checkers {
				add(k.BindIf)
			}
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
