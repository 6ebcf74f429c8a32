package vrrp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// GARPFrameLen is the length of a gratuitous ARP frame: a 14-byte Ethernet
// header and a 28-byte ARP message, without padding.
const GARPFrameLen = 42

// EncodeGARP writes into b the gratuitous ARP keepalived broadcasts for a
// VIP: an Ethernet broadcast from mac with ethertype 0x0806 carrying an ARP
// request (htype 1, ptype 0x0800) whose sender is mac/vip and whose target
// is ff:ff:ff:ff:ff:ff/vip. It returns GARPFrameLen.
func EncodeGARP(b []byte, mac net.HardwareAddr, vip netip.Addr) (int, error) {
	if len(b) < GARPFrameLen {
		return 0, fmt.Errorf("vrrp: encode GARP: buffer of %d bytes, need %d", len(b), GARPFrameLen)
	}
	if len(mac) != 6 {
		return 0, fmt.Errorf("vrrp: encode GARP: %q is not an Ethernet address", mac)
	}
	if !vip.Is4() {
		return 0, fmt.Errorf("vrrp: encode GARP: %s is not IPv4", vip)
	}
	ip := vip.As4()
	b = b[:GARPFrameLen]
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	// Ethernet header.
	copy(b[0:6], bcast[:])
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:14], 0x0806)
	// ARP request.
	binary.BigEndian.PutUint16(b[14:16], 1)      // htype Ethernet
	binary.BigEndian.PutUint16(b[16:18], 0x0800) // ptype IPv4
	b[18], b[19] = 6, 4                          // hlen, plen
	binary.BigEndian.PutUint16(b[20:22], 1)      // op request
	copy(b[22:28], mac)
	copy(b[28:32], ip[:])
	copy(b[32:38], bcast[:])
	copy(b[38:42], ip[:])
	return GARPFrameLen, nil
}
