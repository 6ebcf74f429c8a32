package lvs

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Address families of IPVS services (the values of AF_INET and AF_INET6).
const (
	FamilyIPv4 = 2
	FamilyIPv6 = 10
)

// Protocol numbers of IPVS services.
const (
	ProtoTCP  = 6
	ProtoUDP  = 17
	ProtoSCTP = 132
)

// Service flags (IP_VS_SVC_F_*), as ipvsadm sets them.
const (
	FlagPersistent = 0x0001
	FlagHashed     = 0x0002 // set by the kernel on every service; never compared
	FlagOnePacket  = 0x0004
	FlagSched1     = 0x0008 // flag-1, sh-fallback, mh-fallback
	FlagSched2     = 0x0010 // flag-2, sh-port, mh-port
	FlagSched3     = 0x0020 // flag-3
)

// ServiceKey identifies an IPVS service: an address, port and protocol,
// or a firewall mark and address family.
type ServiceKey struct {
	Family   int
	Protocol int // 0 for a fwmark service
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
}

// String formats the key the way ipvsadm -Ln does: "TCP  10.0.0.1:80",
// "UDP  [2001:db8::1]:53" or "FWM  1" (with " IPv6" for an IPv6 mark).
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		s := "FWM  " + strconv.FormatUint(uint64(k.FWMark), 10)
		if k.Family == FamilyIPv6 {
			s += " IPv6"
		}
		return s
	}
	return fmt.Sprintf("%-4s %s", protoName(k.Protocol), netip.AddrPortFrom(k.Addr, k.Port))
}

func protoName(p int) string {
	switch p {
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoSCTP:
		return "SCTP"
	}
	return "P" + strconv.Itoa(p)
}

func compareServiceKeys(a, b ServiceKey) int {
	if c := cmp.Compare(a.FWMark, b.FWMark); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Family, b.Family); c != 0 {
		return c
	}
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Port, b.Port); c != 0 {
		return c
	}
	return cmp.Compare(a.Protocol, b.Protocol)
}

// Forward is a destination's forwarding method.
type Forward int

// Forwarding methods, with the kernel's IP_VS_CONN_F_* values.
const (
	Masq   Forward = 0 // NAT
	Local  Forward = 1
	Tunnel Forward = 2 // TUN
	Route  Forward = 3 // DR
)

// String returns ipvsadm's name of the method.
func (f Forward) String() string {
	switch f {
	case Masq:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case Route:
		return "Route"
	}
	return "Fwd" + strconv.Itoa(int(f))
}

// Method is a forwarding method with its tunnel options.
type Method struct {
	Forward Forward
	// TunnelType is "", "ipip", "gue" or "gre"; "" and "ipip" are the same.
	TunnelType string
	TunnelPort uint16
	Checksum   string // "", "nocsum", "csum" or "remcsum"
}

// String returns ipvsadm's name, with tunnel options when set.
func (m Method) String() string {
	s := m.Forward.String()
	if m.Forward == Tunnel && m.TunnelType != "" && m.TunnelType != "ipip" {
		s += " " + m.TunnelType
		if m.TunnelPort != 0 {
			s += ":" + strconv.Itoa(int(m.TunnelPort))
		}
		if m.Checksum != "" {
			s += " " + m.Checksum
		}
	}
	return s
}

// Destination is a real server of an IPVS service.
type Destination struct {
	Addr       netip.Addr
	Port       uint16
	Weight     int
	Method     Method
	UThreshold uint32
	LThreshold uint32
}

// AddrPort returns the destination's address and port.
func (d Destination) AddrPort() netip.AddrPort { return netip.AddrPortFrom(d.Addr, d.Port) }

// String formats the destination like a line of ipvsadm -Ln.
func (d Destination) String() string {
	s := fmt.Sprintf("-> %-28s %-7s %d", d.AddrPort(), d.Method, d.Weight)
	if d.UThreshold != 0 || d.LThreshold != 0 {
		s += fmt.Sprintf(" thresholds %d-%d", d.LThreshold, d.UThreshold)
	}
	return s
}

// Service is an IPVS service and its destinations (sorted by address and
// port).
type Service struct {
	Key       ServiceKey
	Scheduler string
	// Flags are IP_VS_SVC_F_* bits, without FlagHashed.
	Flags uint32
	// Timeout is the persistence timeout in seconds (with FlagPersistent).
	Timeout uint32
	// Netmask is the persistence granularity as a prefix length (32 or
	// 128 for none).
	Netmask int
	// PE is the persistence engine ("sip") or empty.
	PE    string
	Dests []Destination
}

// String formats the service header like ipvsadm -Ln.
func (s Service) String() string {
	var b strings.Builder
	b.WriteString(s.Key.String())
	b.WriteString(" " + s.Scheduler)
	if f := schedFlagNames(s.Scheduler, s.Flags); f != "" {
		b.WriteString(" (" + f + ")")
	}
	if s.Flags&FlagPersistent != 0 {
		fmt.Fprintf(&b, " persistent %d", s.Timeout)
		if full := maxBits(s.Key.Family); s.Netmask != full && s.Netmask != 0 {
			if s.Key.Family == FamilyIPv6 {
				fmt.Fprintf(&b, " mask %d", s.Netmask)
			} else {
				p := netip.PrefixFrom(netip.IPv4Unspecified(), s.Netmask)
				b.WriteString(" mask " + maskString(p.Bits()))
			}
		}
	}
	if s.PE != "" {
		b.WriteString(" pe " + s.PE)
	}
	if s.Flags&FlagOnePacket != 0 {
		b.WriteString(" ops")
	}
	return b.String()
}

func maxBits(family int) int {
	if family == FamilyIPv6 {
		return 128
	}
	return 32
}

func maskString(bits int) string {
	var m [4]byte
	for i := range bits {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(m).String()
}

func schedFlagNames(sched string, flags uint32) string {
	var names []string
	for i, bit := range []uint32{FlagSched1, FlagSched2, FlagSched3} {
		if flags&bit == 0 {
			continue
		}
		switch {
		case (sched == "sh" || sched == "mh") && i == 0:
			names = append(names, sched+"-fallback")
		case (sched == "sh" || sched == "mh") && i == 1:
			names = append(names, sched+"-port")
		default:
			names = append(names, "flag-"+strconv.Itoa(i+1))
		}
	}
	return strings.Join(names, ",")
}

// sameAttrs reports whether two services with the same key need no update.
// The persistence timeout and mask only count for persistent services.
func (s Service) sameAttrs(o Service) bool {
	if s.Scheduler != o.Scheduler || s.Flags&^FlagHashed != o.Flags&^FlagHashed || s.PE != o.PE {
		return false
	}
	if s.Flags&FlagPersistent != 0 {
		return s.Timeout == o.Timeout && s.Netmask == o.Netmask
	}
	return true
}

// Dest returns the destination at ap.
func (s Service) Dest(ap netip.AddrPort) (Destination, bool) {
	i, ok := slices.BinarySearchFunc(s.Dests, ap, func(d Destination, ap netip.AddrPort) int {
		return d.AddrPort().Compare(ap)
	})
	if !ok {
		return Destination{}, false
	}
	return s.Dests[i], true
}

func sameDest(a, b Destination) bool {
	return a.Weight == b.Weight && a.Method.Forward == b.Method.Forward &&
		a.UThreshold == b.UThreshold && a.LThreshold == b.LThreshold
}

// Table is a set of IPVS services, sorted by key.
type Table struct {
	Services []Service
}

// Service returns the service with key k.
func (t Table) Service(k ServiceKey) (Service, bool) {
	i, ok := slices.BinarySearchFunc(t.Services, k, func(s Service, k ServiceKey) int {
		return compareServiceKeys(s.Key, k)
	})
	if !ok {
		return Service{}, false
	}
	return t.Services[i], true
}

// Sort puts services and their destinations in canonical order.
func (t *Table) Sort() {
	slices.SortFunc(t.Services, func(a, b Service) int { return compareServiceKeys(a.Key, b.Key) })
	for i := range t.Services {
		slices.SortFunc(t.Services[i].Dests, func(a, b Destination) int { return a.AddrPort().Compare(b.AddrPort()) })
	}
}

// String formats the table like ipvsadm -Ln.
func (t Table) String() string {
	var b strings.Builder
	b.WriteString("Prot LocalAddress:Port Scheduler Flags\n")
	b.WriteString("  -> RemoteAddress:Port           Forward Weight\n")
	for _, s := range t.Services {
		b.WriteString(s.String() + "\n")
		for _, d := range s.Dests {
			b.WriteString("  " + d.String() + "\n")
		}
	}
	return b.String()
}
