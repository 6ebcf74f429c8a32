package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrokenConfigs checks that each broken configuration gives exactly
// one error, at the right FILE:LINE, that says what is wrong.
func TestBrokenConfigs(t *testing.T) {
	cases := []struct {
		file, atFile string
		line         int
		want         string
	}{
		{"unclosed_brace.conf", "unclosed_brace.conf", 1, "unclosed '{' of vrrp_instance"},
		{"bad_ip.conf", "bad_ip.conf", 5, `"10.0.0.300/24" is not an IP address`},
		{"vrid_zero.conf", "vrid_zero.conf", 3, "virtual_router_id 0 is out of range [1, 255]"},
		{"priority_300.conf", "priority_300.conf", 4, "priority 300 is out of range [1, 255]"},
		{"unknown_script.conf", "unknown_script.conf", 9, `track_script "chk_ngnix": no vrrp_script of that name is defined (did you mean "chk_nginx"?)`},
		{"include_loop.conf", "loop_b.conf", 1, "include loop:"},
		{"missing_include.conf", "missing_include.conf", 1, "does-not-exist.conf: no such file"},
		{"bad_real_server.conf", "bad_real_server.conf", 2, `real_server: "10.0.0.999" is not an IP address`},
		{"advert_fraction_v2.conf", "advert_fraction_v2.conf", 1, "advert_int 0.5 is out of range for VRRPv2"},
		{"duplicate_vrid.conf", "duplicate_vrid.conf", 8, "virtual_router_id 51 is already used on eth0 by vrrp_instance VI_1"},
		{"bad_digest.conf", "bad_digest.conf", 4, `digest "not-an-md5" is not 32 hex digits`},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, diags := Load(filepath.Join("testdata/invalid", tc.file), Options{NodeID: "n1"})
			errs := diags.Errors()
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %d:\n%s", len(errs), diags)
			}
			e := errs[0]
			if filepath.Base(e.Pos.File) != tc.atFile || e.Pos.Line != tc.line {
				t.Errorf("error at %s, want %s:%d", e.Pos, tc.atFile, tc.line)
			}
			if !strings.Contains(e.Msg, tc.want) {
				t.Errorf("error %q does not say %q", e.Msg, tc.want)
			}
			if s := e.String(); !strings.HasPrefix(s, e.Pos.File+":") {
				t.Errorf("diagnostic %q does not start with FILE:LINE", s)
			}
		})
	}
}

func TestUnknownKeywordSuggestion(t *testing.T) {
	src := `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    authentication {
        auth_typePASS
        auth_pass secret
    }
    prority 100
    virtual_ipaddress {
        10.0.0.1
    }
}
`
	c, diags := Parse("typo.conf", []byte(src), Options{NodeID: "n1"})
	if diags.HasErrors() {
		t.Fatalf("typos are warnings, got errors:\n%s", diags)
	}
	want := []string{
		`typo.conf:5: warning: unknown keyword "auth_typePASS" in authentication (did you mean "auth_type PASS"?)`,
		`typo.conf:8: warning: unknown keyword "prority" in vrrp_instance (did you mean "priority"?)`,
		`typo.conf:4: warning: vrrp_instance VI_1: authentication has no auth_type: adverts are sent without authentication`,
	}
	got := diags.String()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if c.Instances[0].Priority != 100 {
		t.Errorf("the skipped keyword must leave the default priority, got %d", c.Instances[0].Priority)
	}
	_, strict := Parse("typo.conf", []byte(src), Options{NodeID: "n1", Strict: true})
	if !strict.HasErrors() {
		t.Error("--strict must turn the warnings into errors")
	}
}

func TestNbGetRetryIsRetryEverywhere(t *testing.T) {
	src := `virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        TCP_CHECK {
            nb_get_retry 4
        }
        HTTP_GET {
            nb_get_retry 2
            url {
                path /
            }
        }
    }
}
`
	c, diags := Parse("dr.conf", []byte(src), Options{NodeID: "n1"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	chks := c.VirtualServers[0].RealServers[0].Checkers
	if chks[0].Retry != 4 || chks[1].Retry != 2 {
		t.Errorf("retry = %d, %d; want 4, 2", chks[0].Retry, chks[1].Retry)
	}
	if n := strings.Count(diags.String(), "nb_get_retry is deprecated"); n != 2 {
		t.Errorf("want 2 deprecation warnings, got %d:\n%s", n, diags)
	}
}

func TestParseHexString(t *testing.T) {
	p, err := ParseHexString("Ab12f 3 456 546443123", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("% X", p.Bytes); got != "AB 12 0F 03 45 06 54 64 43 12 03" {
		t.Errorf("got %s, want the man page's AB 12 0F 03 45 06 54 64 43 12 03", got)
	}
	w, err := ParseHexString("01xx", true)
	if err != nil || !w.Match([]byte{0x01, 0x7f}) || w.Match([]byte{0x02, 0x00}) {
		t.Errorf("wildcard pattern: %v %+v", err, w)
	}
	if _, err := ParseHexString("zz", false); err == nil {
		t.Error("want an error for non-hex input")
	}
}
