package vrrp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/config"
)

func TestFromConfig(t *testing.T) {
	src := `global_defs {
    vrrp_mcast_group4 224.0.0.19
}
vrrp_instance A {
    state MASTER
    interface eth0
    virtual_router_id 7
    priority 120
    advert_int 2
    garp_master_delay 0
    nopreempt
    authentication {
        auth_type PASS
        auth_pass longpassword
    }
    virtual_ipaddress {
        10.0.0.100
        10.0.0.101/24 brd + dev eth1 scope link label eth1:vip
    }
    virtual_ipaddress_excluded {
        10.0.0.102
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 8
    unicast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2 min_ttl 250 max_ttl 255
    }
    mcast_dst_ip 224.0.0.20
    virtual_ipaddress {
        10.0.0.110
    }
}
`
	cfg, diags := config.Parse("t.conf", []byte(src), config.Options{NodeID: "n"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	a, err := FromConfig(&cfg.Instances[0], &cfg.Global)
	if err != nil {
		t.Fatal(err)
	}
	if a.StartState != StateMaster || a.Priority != 120 || a.AdvertInterval != 2*time.Second || a.VRID != 7 {
		t.Errorf("basic fields: %+v", a)
	}
	if a.GARPMasterDelay >= 0 {
		t.Errorf("garp_master_delay 0 must disable the second burst, got %v", a.GARPMasterDelay)
	}
	if a.AuthType != AuthPass || a.AuthPass != "longpassword" || !a.NoPreempt {
		t.Errorf("auth/nopreempt: %+v", a)
	}
	if a.McastGroup != netip.MustParseAddr("224.0.0.19") {
		t.Errorf("multicast group %v, want the global 224.0.0.19", a.McastGroup)
	}
	if len(a.VIPs) != 2 || a.VIPs[0] != netip.MustParsePrefix("10.0.0.100/32") || len(a.ExcludedVIPs) != 1 {
		t.Errorf("VIPs %v excluded %v", a.VIPs, a.ExcludedVIPs)
	}
	specs := AddrSpecs(&cfg.Instances[0])
	want := AddrSpec{Prefix: netip.MustParsePrefix("10.0.0.101/24"), Dev: "eth1", Broadcast: "+", Scope: "link", Label: "eth1:vip"}
	if len(specs) != 3 || specs[1] != want || specs[0].Dev != "eth0" || specs[2].Prefix.Addr() != netip.MustParseAddr("10.0.0.102") {
		t.Errorf("AddrSpecs %+v", specs)
	}
	b, err := FromConfig(&cfg.Instances[1], &cfg.Global)
	if err != nil {
		t.Fatal(err)
	}
	if b.UnicastSrc != netip.MustParseAddr("10.0.0.1") || len(b.UnicastPeers) != 1 || b.MinTTL != 250 || b.MaxTTL != 255 {
		t.Errorf("unicast: %+v", b)
	}
	if b.McastGroup != netip.MustParseAddr("224.0.0.20") || b.GARPMasterDelay != 5*time.Second {
		t.Errorf("mcast_dst_ip %v, garp delay %v", b.McastGroup, b.GARPMasterDelay)
	}
	if SourceAddr(&cfg.Instances[1]) != netip.MustParseAddr("10.0.0.1") {
		t.Error("SourceAddr of a unicast instance")
	}

	cfg.Instances[1].Authentication = &config.Authentication{Type: "AH", Pass: "x"}
	if _, err := FromConfig(&cfg.Instances[1], &cfg.Global); err == nil {
		t.Error("AH authentication accepted")
	}
}
