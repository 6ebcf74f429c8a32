package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string, id string) *Config {
	t.Helper()
	c, diags := Parse("t.conf", []byte(src), Options{NodeID: id, RandomSeed: 7})
	if diags.HasErrors() {
		t.Fatalf("errors:\n%s", diags)
	}
	return c
}

func TestIncludes(t *testing.T) {
	c, diags := Load("testdata/include/main.conf", Options{NodeID: "n1"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(c.Instances) != 1 || len(c.Instances[0].VirtualIPAddresses) != 2 {
		t.Fatalf("instance from conf.d with VIPs from ../vips.inc not read: %+v", c.Instances)
	}
	if len(c.VirtualServers) != 2 || c.VirtualServers[0].Addr.String() != "10.40.1.1" || c.VirtualServers[1].Addr.String() != "10.40.1.2" {
		t.Fatalf("brace include and nested include not read in order: %v", c.VirtualServers)
	}
	var base []string
	for _, f := range c.Files {
		base = append(base, filepath.Base(f))
	}
	want := "main.conf 10-script.conf 20-instance.conf vips.inc one.conf nested.conf two.conf"
	if got := strings.Join(base, " "); got != want {
		t.Errorf("files read: %s\nwant:       %s", got, want)
	}
}

func TestConditionalLines(t *testing.T) {
	src := `global_defs {
    @main   router_id main_router
    @backup router_id backup_router
}
vrrp_instance VRRP {
    interface eth0
    virtual_router_id 9
    @main    unicast_src_ip 1.2.3.4
    @backup  unicast_src_ip 1.2.3.5
    @backup2 unicast_src_ip 1.2.3.6
    unicast_peer {
        @^main    1.2.3.4
        @^backup  1.2.3.5
        @^backup2 1.2.3.6
    }
    virtual_ipaddress {
        1.2.3.100
    }
}
`
	c := mustParse(t, src, "main")
	if c.Global.RouterID != "main_router" || c.Instances[0].UnicastSrcIP.String() != "1.2.3.4" {
		t.Errorf("main: router_id %q src %s", c.Global.RouterID, c.Instances[0].UnicastSrcIP)
	}
	var peers []string
	for _, p := range c.Instances[0].UnicastPeers {
		peers = append(peers, p.Addr.String())
	}
	if strings.Join(peers, ",") != "1.2.3.5,1.2.3.6" {
		t.Errorf("main's peers = %v, want 1.2.3.5,1.2.3.6 (the man page's example)", peers)
	}
	c = mustParse(t, src, "other")
	if c.Global.RouterID != "" || len(c.Instances[0].UnicastPeers) != 3 {
		t.Errorf("other: router_id %q, %d peers", c.Global.RouterID, len(c.Instances[0].UnicastPeers))
	}
}

func TestDefinitions(t *testing.T) {
	src := `$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}
$ADDRESS_BASE_SUB=0
@main $PRIORITY=240
@backup $PRIORITY=200
$IF_MAIN=@main
vrrp_instance VI_0 {
    interface eth0
    virtual_router_id 1
    priority $PRIORITY
    $IF_MAIN advert_int 3
    virtual_ipaddress {
        ${ADDRESS_BASE}.100/32
$ADDRESS_BASE_SUB=10
        ${ADDRESS_BASE}.100/32
    }
    notify "/bin/echo ${_INSTANCE} ${_HASH}x ${UNDEFINED}"
}
`
	c := mustParse(t, src, "main")
	in := c.Instances[0]
	if in.Priority != 240 || in.AdvertInt.Seconds() != 3 {
		t.Errorf("priority %d advert_int %v", in.Priority, in.AdvertInt)
	}
	if got := in.VirtualIPAddresses[0].Prefix.String() + " " + in.VirtualIPAddresses[1].Prefix.String(); got != "10.2.0.100/32 10.2.10.100/32" {
		t.Errorf("VIPs %s: substitution must happen at use time", got)
	}
	if got := in.Notify.Cmd; got != "/bin/echo main #x ${UNDEFINED}" {
		t.Errorf("notify %q", got)
	}
	c = mustParse(t, src, "backup")
	if c.Instances[0].Priority != 200 || c.Instances[0].AdvertInt.Seconds() != 1 {
		t.Errorf("backup: priority %d advert_int %v", c.Instances[0].Priority, c.Instances[0].AdvertInt)
	}
}

func TestMultilineDefinitions(t *testing.T) {
	src := `$INSTANCE= \
vrrp_instance VI_${NUM} { \
    interface eth0.${NUM} \
    virtual_router_id 1${NUM} \
    @high priority 130 \
    @low priority 120 \
    advert_int 1 \
    virtual_ipaddress { \
        10.0.${NUM}.254/24 \
    } \

}

$NUM=0
$INSTANCE

$NUM=1
$INSTANCE
`
	c := mustParse(t, src, "high")
	if len(c.Instances) != 2 {
		t.Fatalf("want 2 instances, got %d", len(c.Instances))
	}
	for i, in := range c.Instances {
		if in.Name != "VI_"+string(rune('0'+i)) || in.Interface != "eth0."+string(rune('0'+i)) || in.Priority != 130 {
			t.Errorf("instance %d: %s on %s prio %d", i, in.Name, in.Interface, in.Priority)
		}
	}
	if c.Instances[1].VirtualIPAddresses[0].Prefix.String() != "10.0.1.254/24" {
		t.Errorf("VIP %s", c.Instances[1].VirtualIPAddresses[0].Prefix)
	}
}

func TestSequencesAndLists(t *testing.T) {
	src := `vrrp_instance VI {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        ~SEQ(SUBNET, 0, 3) 10.0.${SUBNET}.1
    }
    virtual_ipaddress_excluded {
        ~SEQx(SUBNET6, 0x90, 0x10, 0xc0) fe80::20:${SUBNET6}:1
        ~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}
        ~LST(IP2, 1, 2) ~LST(IP3, 5,6) 192.169.${IP2}.${IP3}
    }
}
`
	c := mustParse(t, src, "n")
	var got []string
	for _, a := range c.Instances[0].VirtualIPAddresses {
		got = append(got, a.Prefix.Addr().String())
	}
	if s := strings.Join(got, " "); s != "10.0.0.1 10.0.1.1 10.0.2.1 10.0.3.1" {
		t.Errorf("~SEQ gave %s", s)
	}
	got = nil
	for _, a := range c.Instances[0].VirtualIPAddressesExcluded {
		got = append(got, a.Prefix.Addr().String())
	}
	want := "fe80::20:90:1 fe80::20:a0:1 fe80::20:b0:1 fe80::20:c0:1 192.168.10.1 192.168.20.4 192.169.1.5 192.169.1.6 192.169.2.5 192.169.2.6"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("~SEQx/~LST gave\n%s\nwant\n%s", s, want)
	}
}

func TestLexing(t *testing.T) {
	src := `global_defs { router_id "quoted # not a comment" }   # comment
vrrp_instance VI_1
{
    interface eth0 ! trailing comment
    virtual_router_id 51
    authentication { auth_type PASS
        auth_pass "pa ss!x" }
    virtual_ipaddress { 10.0.0.1 }
    notify_master "/bin/sh -c 'echo \"a b\"'"
}
`
	c := mustParse(t, src, "n")
	if c.Global.RouterID != "quoted # not a comment" {
		t.Errorf("router_id %q", c.Global.RouterID)
	}
	in := c.Instances[0]
	if in.Interface != "eth0" || in.Authentication.Pass != "pa ss!x" || len(in.VirtualIPAddresses) != 1 {
		t.Errorf("instance %+v", in)
	}
}

func TestScriptSplitting(t *testing.T) {
	args, err := splitScript(`/usr/bin/check 'two words' "three \"quoted\" words" a\ b \x41\101\n`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/usr/bin/check", "two words", `three "quoted" words`, "a b", "AA\n"}
	if strings.Join(args, "|") != strings.Join(want, "|") {
		t.Errorf("got %q want %q", args, want)
	}
}

func TestRandomIsSeeded(t *testing.T) {
	src := "global_defs {\n router_id r${_RANDOM 10 20}\n}\n"
	a := mustParse(t, src, "n").Global.RouterID
	b := mustParse(t, src, "n").Global.RouterID
	if a != b || len(a) != 3 {
		t.Errorf("seeded ${_RANDOM 10 20}: %q, %q", a, b)
	}
}

func TestSelfMultiplyingDefinitionsFail(t *testing.T) {
	for _, src := range []string{
		"$A=${A}${A}x\n$A\n",
		"$A= \\\n$A \\\n$A\n$A\n",
		"~SEQ(I, 1, 2000000) global_defs {\n}\n",
	} {
		_, diags := Parse("t.conf", []byte(src), Options{NodeID: "n"})
		if !diags.HasErrors() {
			t.Errorf("%q: want an error", src)
		}
	}
}

func TestBundleInlinesIncludes(t *testing.T) {
	text, diags := Bundle("testdata/include/main.conf")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if strings.Contains(text, "\ninclude ") {
		t.Fatalf("bundle still has include lines:\n%s", text)
	}
	a, d1 := Load("testdata/include/main.conf", Options{NodeID: "n1"})
	b, d2 := Parse("bundle.conf", []byte(text), Options{NodeID: "n1"})
	if d1.HasErrors() || d2.HasErrors() {
		t.Fatal(d1, d2)
	}
	a.Files, b.Files = nil, nil
	if modelJSON(t, a) != modelJSON(t, b) {
		t.Error("the bundle does not parse to the same model as the files")
	}
	if _, diags := Bundle("testdata/invalid/include_loop.conf"); !diags.HasErrors() {
		t.Error("an include loop must be reported")
	}
}
