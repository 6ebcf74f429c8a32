package lvs

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"

	"github.com/tandem-ha/tandem/config"
)

// serviceKeys expands a virtual server into the IPVS services it stands
// for: one for an address or fwmark, one per address (or fwmark) of each
// entry of its virtual_server_group.
func serviceKeys(cfg *config.Config, vs *config.VirtualServer) ([]ServiceKey, error) {
	proto, err := protoNumber(vs.Protocol)
	if err != nil {
		return nil, err
	}
	switch {
	case vs.FWMark != 0:
		return []ServiceKey{{Family: fwmarkFamily(vs, ""), FWMark: vs.FWMark}}, nil
	case vs.Group != "":
		var g *config.VirtualServerGroup
		for i := range cfg.VirtualServerGroups {
			if cfg.VirtualServerGroups[i].Name == vs.Group {
				g = &cfg.VirtualServerGroups[i]
			}
		}
		if g == nil {
			return nil, fmt.Errorf("virtual_server_group %q is not defined", vs.Group)
		}
		var keys []ServiceKey
		for _, e := range g.Entries {
			if e.FWMark != 0 {
				keys = append(keys, ServiceKey{Family: fwmarkFamily(vs, e.Family), FWMark: e.FWMark})
				continue
			}
			for _, a := range e.Addresses() {
				keys = append(keys, ServiceKey{Family: family(a), Protocol: proto, Addr: a, Port: uint16(e.Port)})
			}
		}
		return keys, nil
	}
	return []ServiceKey{{Family: family(vs.Addr), Protocol: proto, Addr: vs.Addr, Port: uint16(vs.Port)}}, nil
}

func family(a netip.Addr) int {
	if a.Is4() || a.Is4In6() {
		return FamilyIPv4
	}
	return FamilyIPv6
}

// fwmarkFamily is a fwmark service's family: the group entry's or the
// virtual server's ip_family, else its real servers', else IPv4.
func fwmarkFamily(vs *config.VirtualServer, entry string) int {
	switch {
	case entry == "inet6" || (entry == "" && vs.IPFamily == "inet6"):
		return FamilyIPv6
	case entry == "inet" || vs.IPFamily == "inet":
		return FamilyIPv4
	}
	for _, rs := range vs.RealServers {
		return family(rs.Addr)
	}
	return FamilyIPv4
}

func protoNumber(p config.Protocol) (int, error) {
	switch p {
	case config.TCP, "":
		return ProtoTCP, nil
	case config.UDP:
		return ProtoUDP, nil
	case config.SCTP:
		return ProtoSCTP, nil
	}
	return 0, fmt.Errorf("protocol %q is not TCP, UDP or SCTP", p)
}

// serviceAttrs returns the service attributes (everything but key and
// destinations) a virtual server asks for.
func serviceAttrs(vs *config.VirtualServer, fam int) (Service, error) {
	s := Service{Scheduler: vs.Scheduler, PE: vs.PersistenceEngine, Netmask: maxBits(fam)}
	if s.Scheduler == "" {
		s.Scheduler = "wlc"
	}
	for _, f := range vs.SchedFlags {
		switch f {
		case "flag-1", "sh-fallback", "mh-fallback":
			s.Flags |= FlagSched1
		case "flag-2", "sh-port", "mh-port":
			s.Flags |= FlagSched2
		case "flag-3":
			s.Flags |= FlagSched3
		default:
			return Service{}, fmt.Errorf("unknown scheduler flag %q", f)
		}
	}
	if vs.OPS {
		s.Flags |= FlagOnePacket
	}
	if vs.PersistenceTimeout != nil {
		s.Flags |= FlagPersistent
		s.Timeout = uint32(*vs.PersistenceTimeout)
		if vs.PersistenceGranularity != "" {
			n, err := parseGranularity(vs.PersistenceGranularity, fam)
			if err != nil {
				return Service{}, err
			}
			s.Netmask = n
		}
	}
	return s, nil
}

// parseGranularity reads persistence_granularity: a dotted IPv4 netmask or
// a prefix length.
func parseGranularity(g string, fam int) (int, error) {
	if a, err := netip.ParseAddr(g); err == nil && a.Is4() {
		b := a.As4()
		m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		n := bits.LeadingZeros32(^m)
		if m<<n != 0 {
			return 0, fmt.Errorf("persistence_granularity %s is not a contiguous netmask", g)
		}
		if fam == FamilyIPv6 {
			return 0, fmt.Errorf("persistence_granularity %s: an IPv6 service needs a prefix length", g)
		}
		return n, nil
	}
	n, err := strconv.Atoi(g)
	if err != nil || n < 1 || n > maxBits(fam) {
		return 0, fmt.Errorf("persistence_granularity %q is not a netmask or a prefix length of 1-%d", g, maxBits(fam))
	}
	return n, nil
}

// method converts a configured forwarding method.
func method(m config.LVSMethod) Method {
	out := Method{TunnelType: m.TunnelType, TunnelPort: uint16(m.TunnelPort), Checksum: m.Checksum}
	switch m.Kind {
	case "DR":
		out.Forward = Route
	case "TUN":
		out.Forward = Tunnel
	default:
		out.Forward = Masq
	}
	return out
}
