package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestIPVSCommandWithoutIPVS(t *testing.T) {
	if _, err := netlink.GenlFamilyGet("IPVS"); err == nil {
		t.Skip("this kernel has IPVS")
	}
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(conf, []byte(`virtual_server 10.9.0.1 80 {
	lvs_sched rr
	real_server 10.9.1.1 80 { weight 2 }
	real_server 10.9.1.2 80 { TCP_CHECK { alpha } }
}
`), 0o644)
	stdout, stderr, code := run(t, "ipvs", "-f", conf)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(stderr, "kernel has no IPVS: load ip_vs or use a kernel with CONFIG_IP_VS") {
		t.Errorf("stderr %q", stderr)
	}
	want := "TCP  10.9.0.1:80 rr\n  -> 10.9.1.1:80                  Masq    2\n"
	if !strings.HasSuffix(stdout, want) {
		t.Errorf("stdout\n%s\nwant the desired table ending with\n%s", stdout, want)
	}
}
