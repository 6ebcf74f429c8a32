package lvs

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

type step struct {
	name   string
	health Health
	local  func(netip.Addr) bool
	want   []string // table lines
	events []string // Event.String() plus " run CMD" when a script is set
}

func eventLines(es []Event) []string {
	var out []string
	for _, e := range es {
		s := e.String()
		if e.Script != nil {
			s += " run " + e.Script.Cmd
		}
		out = append(out, s)
	}
	return out
}

const vs1 = "[10.0.0.1]:tcp:80"

func TestPool(t *testing.T) {
	down := State{Up: false}
	up := State{Up: true}
	r1, r2, r3, r4 := rsKey(vs1, "10.1.0.1:80"), rsKey(vs1, "10.1.0.2:80"), rsKey(vs1, "10.1.0.3:80"), rsKey(vs1, "10.1.0.4:80")
	tests := []struct {
		name  string
		conf  string
		opts  PoolOptions
		steps []step
	}{
		{
			name: "weights and no checkers",
			conf: `virtual_server 10.0.0.1 80 {
	lvs_sched wrr
	real_server 10.1.0.1 80 { weight 3 }
	real_server 10.1.0.2 8080 { weight 1 }
	real_server 10.1.0.3 80 { weight 0 }
}`,
			steps: []step{{
				name: "all up, whatever health says",
				health: Health{
					rsKey(vs1, "10.1.0.1:80"): down,
				},
				want: []string{"TCP 10.0.0.1:80 wrr", "-> 10.1.0.1:80 Masq 3", "-> 10.1.0.2:8080 Masq 1", "-> 10.1.0.3:80 Masq 0"},
			}},
		},
		{
			name: "failure removes, inhibit_on_failure sets weight 0, notify scripts",
			conf: `virtual_server 10.0.0.1 80 {
	real_server 10.1.0.1 80 {
		weight 2
		notify_up "/bin/up r1"
		notify_down "/bin/down r1"
		TCP_CHECK { }
	}
	real_server 10.1.0.2 80 {
		inhibit_on_failure
		TCP_CHECK { }
	}
}`,
			steps: []step{
				{name: "no verdict yet: up", want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 2", "-> 10.1.0.2:80 Masq 1"}},
				{
					name:   "both fail",
					health: Health{r1: down, r2: down},
					want:   []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.2:80 Masq 0"},
					events: []string{
						"notify_down [10.0.0.1]:tcp:80 10.1.0.1:80 run /bin/down r1",
						"notify_down [10.0.0.1]:tcp:80 10.1.0.2:80",
						"quorum_down [10.0.0.1]:tcp:80 (live weight 0)",
					},
				},
				{name: "no change, no event", health: Health{r1: down, r2: down}, want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.2:80 Masq 0"}},
				{
					name:   "first back",
					health: Health{r1: up, r2: down},
					want:   []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 2", "-> 10.1.0.2:80 Masq 0"},
					events: []string{
						"notify_up [10.0.0.1]:tcp:80 10.1.0.1:80 run /bin/up r1",
						"quorum_up [10.0.0.1]:tcp:80 (live weight 2)",
					},
				},
			},
		},
		{
			name: "dynamic weight from misc_dynamic or FILE_CHECK",
			conf: `virtual_server 10.0.0.1 80 {
	real_server 10.1.0.1 80 { weight 5
		MISC_CHECK { misc_path /bin/true
			misc_dynamic }
	}
}`,
			steps: []step{
				{name: "reported weight", health: Health{r1: {Up: true, Weight: ptr(7)}}, want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 7"}},
				{name: "no weight: configured", health: Health{r1: up}, want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 5"}},
			},
		},
		{
			name: "alpha starts down",
			conf: `virtual_server 10.0.0.1 80 {
	alpha
	real_server 10.1.0.1 80 { TCP_CHECK { } }
	real_server 10.1.0.2 80 { TCP_CHECK { alpha no } }
	real_server 10.1.0.3 80 { }
}`,
			steps: []step{
				{name: "before verdicts", want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.2:80 Masq 1", "-> 10.1.0.3:80 Masq 1"}},
				{
					name: "first verdict up", health: Health{r1: up},
					want:   []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1", "-> 10.1.0.2:80 Masq 1", "-> 10.1.0.3:80 Masq 1"},
					events: []string{"notify_up [10.0.0.1]:tcp:80 10.1.0.1:80"},
				},
			},
		},
		{
			name: "quorum lost brings in the sorry server and takes real servers out",
			conf: `virtual_server 10.0.0.1 80 {
	quorum 2
	quorum_up /bin/qup
	quorum_down /bin/qdown
	sorry_server 10.2.0.1
	real_server 10.1.0.1 80 { TCP_CHECK { } }
	real_server 10.1.0.2 80 { inhibit_on_failure
		TCP_CHECK { } }
}`,
			steps: []step{
				{name: "quorum", health: Health{r1: up, r2: up}, want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1", "-> 10.1.0.2:80 Masq 1"}},
				{
					name: "one down: no quorum", health: Health{r1: up, r2: down},
					want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.2:80 Masq 0", "-> 10.2.0.1:80 Masq 1"},
					events: []string{
						"notify_down [10.0.0.1]:tcp:80 10.1.0.2:80",
						"quorum_down [10.0.0.1]:tcp:80 (live weight 1) run /bin/qdown",
					},
				},
				{
					name: "back", health: Health{r1: up, r2: up},
					want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1", "-> 10.1.0.2:80 Masq 1"},
					events: []string{
						"notify_up [10.0.0.1]:tcp:80 10.1.0.2:80",
						"quorum_up [10.0.0.1]:tcp:80 (live weight 2) run /bin/qup",
					},
				},
			},
		},
		{
			name: "sorry_server_inhibit and sorry_server_lvs_method",
			conf: `virtual_server 10.0.0.1 80 {
	lvs_method DR
	sorry_server 10.2.0.1 8080
	sorry_server_inhibit
	sorry_server_lvs_method NAT
	real_server 10.1.0.1 80 { TCP_CHECK { } }
}`,
			steps: []step{
				{name: "quorum: sorry at weight 0", want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Route 1", "-> 10.2.0.1:8080 Masq 0"}},
				{
					name: "no quorum", health: Health{r1: down},
					want:   []string{"TCP 10.0.0.1:80 wlc", "-> 10.2.0.1:8080 Masq 1"},
					events: []string{"notify_down [10.0.0.1]:tcp:80 10.1.0.1:80", "quorum_down [10.0.0.1]:tcp:80 (live weight 0)"},
				},
			},
		},
		{
			name: "no sorry server: losing the quorum keeps live servers",
			conf: `virtual_server 10.0.0.1 80 {
	quorum 3
	real_server 10.1.0.1 80 { weight 2
		TCP_CHECK { } }
	real_server 10.1.0.2 80 { TCP_CHECK { } }
}`,
			steps: []step{{
				name: "one down", health: Health{r1: up, r2: down},
				want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 2"},
				events: []string{
					"notify_down [10.0.0.1]:tcp:80 10.1.0.2:80",
					"quorum_down [10.0.0.1]:tcp:80 (live weight 2)",
				},
			}},
		},
		{
			name: "hysteresis dampens quorum flaps",
			conf: `virtual_server 10.0.0.1 80 {
	quorum 3
	hysteresis 1
	sorry_server 10.2.0.1 80
	real_server 10.1.0.1 80 { TCP_CHECK { } }
	real_server 10.1.0.2 80 { TCP_CHECK { } }
	real_server 10.1.0.3 80 { TCP_CHECK { } }
	real_server 10.1.0.4 80 { TCP_CHECK { } }
}`,
			steps: []step{
				{name: "4 live", health: Health{r1: up, r2: up, r3: up, r4: up}, want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1", "-> 10.1.0.2:80 Masq 1", "-> 10.1.0.3:80 Masq 1", "-> 10.1.0.4:80 Masq 1"}},
				{name: "2 live: 2 >= 3-1 keeps it", health: Health{r1: up, r2: up, r3: down, r4: down},
					want:   []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1", "-> 10.1.0.2:80 Masq 1"},
					events: []string{"notify_down [10.0.0.1]:tcp:80 10.1.0.3:80", "notify_down [10.0.0.1]:tcp:80 10.1.0.4:80"}},
				{name: "1 live: lost", health: Health{r1: up, r2: down, r3: down, r4: down},
					want:   []string{"TCP 10.0.0.1:80 wlc", "-> 10.2.0.1:80 Masq 1"},
					events: []string{"notify_down [10.0.0.1]:tcp:80 10.1.0.2:80", "quorum_down [10.0.0.1]:tcp:80 (live weight 1)"}},
				{name: "3 live: 3 < 3+1 not regained", health: Health{r1: up, r2: up, r3: up, r4: down},
					want:   []string{"TCP 10.0.0.1:80 wlc", "-> 10.2.0.1:80 Masq 1"},
					events: []string{"notify_up [10.0.0.1]:tcp:80 10.1.0.2:80", "notify_up [10.0.0.1]:tcp:80 10.1.0.3:80"}},
				{name: "4 live: regained", health: Health{r1: up, r2: up, r3: up, r4: up},
					want:   []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1", "-> 10.1.0.2:80 Masq 1", "-> 10.1.0.3:80 Masq 1", "-> 10.1.0.4:80 Masq 1"},
					events: []string{"notify_up [10.0.0.1]:tcp:80 10.1.0.4:80", "quorum_up [10.0.0.1]:tcp:80 (live weight 4)"}},
			},
		},
		{
			name: "virtual_server_group: ranges times port, fwmarks",
			conf: `virtual_server_group G {
	10.0.0.1-3 80
	10.0.1.8/31 443
	fwmark 5
	fwmark 6 inet6
}
virtual_server group G {
	lvs_sched rr
	real_server 10.1.0.1 80 { }
}`,
			steps: []step{{name: "expanded", want: []string{
				"TCP 10.0.0.1:80 rr", "-> 10.1.0.1:80 Masq 1",
				"TCP 10.0.0.2:80 rr", "-> 10.1.0.1:80 Masq 1",
				"TCP 10.0.0.3:80 rr", "-> 10.1.0.1:80 Masq 1",
				"TCP 10.0.1.8:443 rr", "-> 10.1.0.1:80 Masq 1",
				"TCP 10.0.1.9:443 rr", "-> 10.1.0.1:80 Masq 1",
				"FWM 5 rr", "-> 10.1.0.1:80 Masq 1",
				"FWM 6 IPv6 rr", "-> 10.1.0.1:80 Masq 1",
			}}},
		},
		{
			name: "service attributes",
			conf: `virtual_server 10.0.0.1 53 {
	protocol UDP
	lvs_sched sh
	sh-port
	sh-fallback
	ops
	persistence_timeout 60
	persistence_granularity 255.255.255.0
	real_server 10.1.0.1 53 { lvs_method TUN
		uthreshold 100
		lthreshold 10 }
}
virtual_server fwmark 9 {
	lvs_sched mh
	mh-port
	persistence_timeout
	persistence_engine sip
	lvs_method DR
	real_server 2001:db8::1 80 { }
}
virtual_server 2001:db8::100 443 {
	protocol SCTP
	lvs_sched lblcr
	flag-3
	persistence_timeout 10
	persistence_granularity 64
	real_server 2001:db8::2 443 { lvs_method TUN type gue port 6080 csum }
}`,
			steps: []step{{name: "converted", want: []string{
				"UDP 10.0.0.1:53 sh (sh-fallback,sh-port) persistent 60 mask 255.255.255.0 ops",
				"-> 10.1.0.1:53 Tunnel 1 thresholds 10-100",
				"SCTP [2001:db8::100]:443 lblcr (flag-3) persistent 10 mask 64",
				"-> [2001:db8::2]:443 Tunnel gue:6080 csum 1",
				"FWM 9 IPv6 mh (mh-port) persistent 360 pe sip",
				"-> [2001:db8::1]:80 Route 1",
			}}},
		},
		{
			name: "ha_suspend freezes a virtual server whose address is not local",
			conf: `virtual_server 10.0.0.1 80 {
	ha_suspend
	real_server 10.1.0.1 80 { TCP_CHECK { } }
}`,
			steps: []step{
				{name: "not local: verdict ignored", health: Health{r1: down}, local: func(netip.Addr) bool { return false },
					want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1"}},
				{name: "local: verdict applies", health: Health{r1: down}, local: func(a netip.Addr) bool { return a == netip.MustParseAddr("10.0.0.1") },
					want:   []string{"TCP 10.0.0.1:80 wlc"},
					events: []string{"notify_down [10.0.0.1]:tcp:80 10.1.0.1:80", "quorum_down [10.0.0.1]:tcp:80 (live weight 0)"}},
			},
		},
		{
			name: "rs_init_notifies reports initial states",
			opts: PoolOptions{InitNotifies: true},
			conf: `virtual_server 10.0.0.1 80 {
	real_server 10.1.0.1 80 { }
	real_server 10.1.0.2 80 { TCP_CHECK { alpha } }
}`,
			steps: []step{
				{name: "start", want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1"},
					events: []string{"notify_up [10.0.0.1]:tcp:80 10.1.0.1:80"}},
				{name: "then only changes", want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1"}},
			},
		},
		{
			name: "start-up quorum: quorum+hysteresis, quorum_down only with a sorry server",
			conf: `virtual_server 10.0.0.1 80 {
	quorum 2
	hysteresis 1
	real_server 10.1.0.1 80 { }
	real_server 10.1.0.2 80 { }
}
virtual_server 10.0.0.2 80 {
	quorum 2
	hysteresis 1
	quorum_down /bin/qdown
	sorry_server 10.2.0.1 80
	real_server 10.1.0.1 80 { }
	real_server 10.1.0.2 80 { }
}`,
			steps: []step{{
				name: "2 < 2+1: starts down",
				want: []string{
					"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1", "-> 10.1.0.2:80 Masq 1",
					"TCP 10.0.0.2:80 wlc", "-> 10.2.0.1:80 Masq 1",
				},
				events: []string{"quorum_down [10.0.0.2]:tcp:80 (live weight 2) run /bin/qdown"},
			}},
		},
		{
			name: "alpha: a first verdict that confirms the failure notifies",
			conf: `virtual_server 10.0.0.1 80 {
	real_server 10.1.0.1 80 { notify_down /bin/down
		TCP_CHECK { alpha } }
	real_server 10.1.0.2 80 { }
}`,
			steps: []step{
				{name: "start", want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.2:80 Masq 1"}},
				{name: "first verdict down", health: Health{r1: down}, want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.2:80 Masq 1"},
					events: []string{"notify_down [10.0.0.1]:tcp:80 10.1.0.1:80 run /bin/down"}},
				{name: "second verdict down", health: Health{r1: down}, want: []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.2:80 Masq 1"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool(loadConfig(t, tc.conf), tc.opts)
			for _, s := range tc.steps {
				tab, events, err := p.Update(s.health, s.local)
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if got := lines(tab); !slices.Equal(got, s.want) {
					t.Errorf("%s: table\n%s\nwant\n%s", s.name, strings.Join(got, "\n"), strings.Join(s.want, "\n"))
				}
				if got := eventLines(events); !slices.Equal(got, s.events) {
					t.Errorf("%s: events\n%s\nwant\n%s", s.name, strings.Join(got, "\n"), strings.Join(s.events, "\n"))
				}
			}
		})
	}
}

func TestPoolOmegaShutdown(t *testing.T) {
	c := loadConfig(t, `virtual_server 10.0.0.1 80 {
	omega
	quorum_down /bin/qdown
	real_server 10.1.0.1 80 { notify_down /bin/d1 }
	real_server 10.1.0.2 80 { TCP_CHECK { } }
}
virtual_server 10.0.0.2 80 {
	real_server 10.1.0.1 80 { notify_down /bin/d2 }
}`)
	p := NewPool(c, PoolOptions{})
	if _, _, err := p.Update(Health{rsKey(vs1, "10.1.0.2:80"): {Up: false}}, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"notify_down [10.0.0.1]:tcp:80 10.1.0.1:80 run /bin/d1",
		"quorum_down [10.0.0.1]:tcp:80 (live weight 0) run /bin/qdown",
	}
	if got := eventLines(p.Shutdown()); !slices.Equal(got, want) {
		t.Errorf("shutdown events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPoolErrors(t *testing.T) {
	c := loadConfig(t, `virtual_server_group G {
	10.0.0.1 80
}
virtual_server group G {
	real_server 10.1.0.1 80 { }
}
virtual_server 10.0.0.1 80 {
	real_server 10.1.0.2 80 { }
}
virtual_server 10.0.0.9 80 {
	persistence_timeout 5
	persistence_granularity 255.0.255.0
	real_server 10.1.0.2 80 { }
}`)
	tab, _, err := NewPool(c, PoolOptions{}).Update(nil, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"virtual_server [10.0.0.1]:tcp:80: service TCP  10.0.0.1:80 is also defined by virtual_server group G",
		"virtual_server [10.0.0.9]:tcp:80: persistence_granularity 255.0.255.0 is not a contiguous netmask",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := lines(tab); !slices.Equal(got, []string{"TCP 10.0.0.1:80 wlc", "-> 10.1.0.1:80 Masq 1"}) {
		t.Errorf("table %q: want the group's service only", got)
	}
}

func TestPoolReloadKeepsState(t *testing.T) {
	conf := `virtual_server 10.0.0.1 80 {
	real_server 10.1.0.1 80 { TCP_CHECK { } }
}`
	p := NewPool(loadConfig(t, conf), PoolOptions{})
	r1 := rsKey(vs1, "10.1.0.1:80")
	p.Update(Health{r1: {Up: false}}, nil)
	p.Reload(loadConfig(t, conf+"\nvirtual_server 10.0.0.2 80 { real_server 10.1.0.5 80 { } }"))
	tab, events, err := p.Update(Health{r1: {Up: false}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Errorf("events after reload: %v", events)
	}
	want := []string{"TCP 10.0.0.1:80 wlc", "TCP 10.0.0.2:80 wlc", "-> 10.1.0.5:80 Masq 1"}
	if got := lines(tab); !slices.Equal(got, want) {
		t.Errorf("table %q, want %q", got, want)
	}
	st := p.Status()
	if len(st) != 2 || st[0].QuorumUp || st[0].RealServers[0].Up || !st[1].QuorumUp {
		t.Errorf("status %+v", st)
	}
}

func TestParseRealServerKey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RealServerKey
		err  bool
	}{
		{in: "[10.1.0.1]:80", want: rsKey(vs1, "10.1.0.1:80")},
		{in: "[2001:db8::1]:443", want: rsKey(vs1, "[2001:db8::1]:443")},
		{in: "10.1.0.1:80", err: true},
		{in: "[10.1.0.1]:http", err: true},
	} {
		got, err := ParseRealServerKey(vs1, tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: %v, %v", tc.in, got, err)
		}
	}
}
