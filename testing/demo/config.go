package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// webServer is one real server behind the VIP.
type webServer struct {
	host string
	ip   netip.Addr
}

// sharedConf renders the one keepalived.conf every node reads. The @NAME
// lines give each node its own priority: tandem nodes select theirs with
// --node-id, stock keepalived with --config-id. prio2 is tandem2's.
func sharedConf(vip netip.Addr, prio2 int, webs []webServer) string {
	var rs strings.Builder
	for _, w := range webs {
		fmt.Fprintf(&rs, `    real_server %v 80 {            # %s
        weight 1
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
`, w.ip, w.host)
	}
	return fmt.Sprintf(`# One file for every node of the demo; @NAME lines apply only on node NAME.
global_defs {
    router_id demo
}

vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
@tandem1    priority 150
@tandem2    priority %d
@keepalived priority 50
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass demo
    }
    virtual_ipaddress {
        %v/32
    }
}

virtual_server %v 80 {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
%s}
`, prio2, vip, vip, rs.String())
}
