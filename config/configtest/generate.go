// Package configtest generates keepalived.conf files for tests and
// benchmarks, the way net/http/httptest serves HTTP tests.
package configtest

import (
	"fmt"
	"strings"
)

// Size says how large a generated configuration is.
type Size struct {
	VirtualServers int // each with RealServers real servers
	RealServers    int
	Instances      int // vrrp_instance blocks
}

// Large is the size the issues benchmark: 1,000 virtual servers × 10 real
// servers with HTTP_GET checks, and 50 VRRP instances.
var Large = Size{VirtualServers: 1000, RealServers: 10, Instances: 50}

// Generate writes a valid keepalived.conf of the given size. Addresses are
// in 10.0.0.0/8, interfaces are eth0..eth3.
func Generate(s Size) string {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id bench\n    script_user root\n    enable_script_security\n}\n\n")
	b.WriteString("vrrp_script chk_proxy {\n    script \"/bin/true\"\n    interval 2\n    weight -20\n}\n\n")
	for i := 0; i < s.Instances; i++ {
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
    state BACKUP
    interface eth%d
    virtual_router_id %d
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass pw%d
    }
    track_script {
        chk_proxy
    }
    virtual_ipaddress {
        10.%d.%d.1/32
        10.%d.%d.2/32
    }
}

`, i, i%4, i%255+1, 100+i%100, i, 100+i/250, i%250, 100+i/250, i%250)
	}
	for v := 0; v < s.VirtualServers; v++ {
		fmt.Fprintf(&b, `virtual_server 10.1.%d.%d 80 {
    delay_loop 5
    lb_algo wlc
    lb_kind NAT
    protocol TCP
`, v/250, v%250+1)
		for r := 0; r < s.RealServers; r++ {
			fmt.Fprintf(&b, `    real_server 10.2.%d.%d 8080 {
        weight 1
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
            retry 2
            delay_before_retry 1
        }
    }
`, (v*s.RealServers+r)/250%250, (v*s.RealServers+r)%250+1)
		}
		b.WriteString("}\n\n")
	}
	return b.String()
}
