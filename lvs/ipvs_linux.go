package lvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"os/exec"
	"sync"
	"syscall"

	"github.com/moby/ipvs"
	"github.com/vishvananda/netlink"
)

// ErrNoIPVS is returned by OpenKernel on a kernel without IPVS.
var ErrNoIPVS = errors.New("kernel has no IPVS: load ip_vs or use a kernel with CONFIG_IP_VS")

// KernelHandle is the kernel's IPVS table, programmed through
// github.com/moby/ipvs. It is safe for concurrent use.
type KernelHandle struct {
	mu sync.Mutex
	h  *ipvs.Handle
	// pe remembers the persistence engine written per service: moby/ipvs
	// does not read it back.
	pe map[ServiceKey]string
}

// OpenKernel returns the IPVS table of the network namespace at
// netnsPath ("" for the caller's). It first looks up the generic-netlink
// family IPVS (after `modprobe ip_vs`, as keepalived does, when the family
// is missing and modprobe exists) and fails with ErrNoIPVS when the kernel
// has none: moby/ipvs itself would accept every write and read back
// nothing.
func OpenKernel(netnsPath string) (*KernelHandle, error) {
	if _, err := netlink.GenlFamilyGet("IPVS"); err != nil {
		if path, lerr := exec.LookPath("modprobe"); lerr == nil && exec.Command(path, "ip_vs").Run() == nil {
			_, err = netlink.GenlFamilyGet("IPVS")
		}
		if err != nil {
			return nil, fmt.Errorf("%w (generic netlink family IPVS: %v)", ErrNoIPVS, err)
		}
	}
	h, err := ipvs.New(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("ipvs: open netlink socket in %q: %w", netnsPath, err)
	}
	return &KernelHandle{h: h, pe: map[ServiceKey]string{}}, nil
}

// Close releases the netlink socket.
func (k *KernelHandle) Close() error {
	k.h.Close()
	return nil
}

func toMobyService(s Service) *ipvs.Service {
	m := &ipvs.Service{
		Protocol:      uint16(s.Key.Protocol),
		Port:          s.Key.Port,
		FWMark:        s.Key.FWMark,
		AddressFamily: uint16(s.Key.Family),
		SchedName:     s.Scheduler,
		Flags:         s.Flags,
		Timeout:       s.Timeout,
		PEName:        s.PE,
	}
	if s.Key.Addr.IsValid() {
		m.Address = net.IP(s.Key.Addr.AsSlice())
	}
	n := s.Netmask
	if n == 0 {
		n = maxBits(s.Key.Family)
	}
	if s.Key.Family == FamilyIPv6 {
		m.Netmask = uint32(n)
	} else {
		// The kernel reads an IPv4 mask in network byte order; moby/ipvs
		// writes the value in host order.
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], ^uint32(0)<<(32-n))
		m.Netmask = binary.NativeEndian.Uint32(b[:])
	}
	return m
}

func fromMobyService(m *ipvs.Service) Service {
	s := Service{
		Key: ServiceKey{
			Family: int(m.AddressFamily), Protocol: int(m.Protocol), Port: m.Port, FWMark: m.FWMark,
		},
		Scheduler: m.SchedName,
		Flags:     m.Flags &^ FlagHashed,
		Timeout:   m.Timeout,
	}
	if m.FWMark == 0 {
		if a, ok := netip.AddrFromSlice(m.Address); ok {
			s.Key.Addr = a.Unmap()
		}
	} else {
		s.Key.Protocol = 0
	}
	if s.Key.Family == FamilyIPv6 {
		s.Netmask = int(m.Netmask)
	} else {
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], m.Netmask)
		s.Netmask = bits.LeadingZeros32(^binary.BigEndian.Uint32(b[:]))
	}
	return s
}

func toMobyDest(d Destination) (*ipvs.Destination, error) {
	m := d.Method
	if m.Forward == Tunnel && ((m.TunnelType != "" && m.TunnelType != "ipip") || m.Checksum != "") {
		return nil, fmt.Errorf("TUN %s: %w (only ipip tunnels without checksum options)", m, ErrNotSupported)
	}
	if d.Weight < 0 || d.Weight > 65535 {
		return nil, fmt.Errorf("weight %d: moby/ipvs reads weights back as 16 bits: use 0-65535", d.Weight)
	}
	return &ipvs.Destination{
		Address:         net.IP(d.Addr.AsSlice()),
		Port:            d.Port,
		Weight:          d.Weight,
		ConnectionFlags: uint32(m.Forward),
		AddressFamily:   uint16(family(d.Addr)),
		UpperThreshold:  d.UThreshold,
		LowerThreshold:  d.LThreshold,
	}, nil
}

func fromMobyDest(m *ipvs.Destination) Destination {
	a, _ := netip.AddrFromSlice(m.Address)
	return Destination{
		Addr:       a.Unmap(),
		Port:       m.Port,
		Weight:     m.Weight,
		Method:     Method{Forward: Forward(m.ConnectionFlags & ipvs.ConnectionFlagFwdMask)},
		UThreshold: m.UpperThreshold,
		LThreshold: m.LowerThreshold,
	}
}

// Services reads the whole table.
func (k *KernelHandle) Services() ([]Service, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ms, err := k.h.GetServices()
	if err != nil {
		return nil, err
	}
	out := make([]Service, 0, len(ms))
	for _, m := range ms {
		s, err := k.withDests(m)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (k *KernelHandle) withDests(m *ipvs.Service) (Service, error) {
	s := fromMobyService(m)
	s.PE = k.pe[s.Key]
	ds, err := k.h.GetDestinations(m)
	if err != nil {
		return Service{}, fmt.Errorf("read destinations of %s: %w", s.Key, err)
	}
	for _, d := range ds {
		s.Dests = append(s.Dests, fromMobyDest(d))
	}
	t := Table{Services: []Service{s}}
	t.Sort()
	return t.Services[0], nil
}

// Service reads one service.
func (k *KernelHandle) Service(key ServiceKey) (Service, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m, err := k.h.GetService(toMobyService(Service{Key: key}))
	if errors.Is(err, syscall.ESRCH) || errors.Is(err, syscall.ENOENT) {
		return Service{}, false, nil
	}
	if err != nil {
		return Service{}, false, err
	}
	s, err := k.withDests(m)
	return s, err == nil, err
}

// CreateService adds a service.
func (k *KernelHandle) CreateService(s Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.h.NewService(toMobyService(s)); err != nil {
		return err
	}
	k.pe[s.Key] = s.PE
	return nil
}

// UpdateService changes a service's scheduler, flags and persistence.
func (k *KernelHandle) UpdateService(s Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.h.UpdateService(toMobyService(s)); err != nil {
		return err
	}
	k.pe[s.Key] = s.PE
	return nil
}

// DeleteService removes a service and its destinations.
func (k *KernelHandle) DeleteService(key ServiceKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.pe, key)
	return k.h.DelService(toMobyService(Service{Key: key}))
}

func (k *KernelHandle) destOp(key ServiceKey, d Destination, f func(*ipvs.Service, *ipvs.Destination) error) error {
	md, err := toMobyDest(d)
	if err != nil {
		return err
	}
	if family(d.Addr) != key.Family {
		// The kernel takes the destination's family from the service
		// unless told otherwise, and moby/ipvs cannot tell it.
		return fmt.Errorf("destination family differs from the service's (tunnelled): %w", ErrNotSupported)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return f(toMobyService(Service{Key: key}), md)
}

// CreateDest adds a destination.
func (k *KernelHandle) CreateDest(key ServiceKey, d Destination) error {
	return k.destOp(key, d, k.h.NewDestination)
}

// UpdateDest changes a destination's weight, method or thresholds.
func (k *KernelHandle) UpdateDest(key ServiceKey, d Destination) error {
	return k.destOp(key, d, k.h.UpdateDestination)
}

// DeleteDest removes a destination.
func (k *KernelHandle) DeleteDest(key ServiceKey, d Destination) error {
	return k.destOp(key, d, k.h.DelDestination)
}

// Flush deletes every service of the namespace, ours or not.
func (k *KernelHandle) Flush() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.pe)
	return k.h.Flush()
}

// SetTimeouts sets the connection timeouts (zero fields unchanged).
func (k *KernelHandle) SetTimeouts(t Timeouts) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.h.SetConfig(&ipvs.Config{TimeoutTCP: t.TCP, TimeoutTCPFin: t.TCPFin, TimeoutUDP: t.UDP})
}

// GetTimeouts reads the connection timeouts.
func (k *KernelHandle) GetTimeouts() (Timeouts, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, err := k.h.GetConfig()
	if err != nil {
		return Timeouts{}, err
	}
	return Timeouts{TCP: c.TimeoutTCP, TCPFin: c.TimeoutTCPFin, UDP: c.TimeoutUDP}, nil
}
