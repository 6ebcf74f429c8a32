package vrrp

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Wire constants of VRRP over IPv4.
const (
	// IPProtoVRRP is the IP protocol number of VRRP.
	IPProtoVRRP = 112
	// TTL is the TTL (hop limit) every VRRP packet is sent with and, for
	// multicast, must arrive with.
	TTL = 255
	// TypeAdvert is the only VRRP message type.
	TypeAdvert = 1
	// PriorityOwner is the priority of the address owner.
	PriorityOwner = 255
	// PriorityStop is the priority a master sends when it gives up.
	PriorityStop = 0
	// MaxAddrs is the most IPv4 addresses one advert can carry.
	MaxAddrs = 255
	// AuthLen is the size of the VRRPv2 authentication data.
	AuthLen = 8
	// MaxAdvertLen is the size of the largest VRRPv2 advert (the larger version).
	MaxAdvertLen = headerLen + 4*MaxAddrs + AuthLen

	headerLen = 8
)

// MulticastGroup is the IPv4 group VRRP adverts are sent to (224.0.0.18).
func MulticastGroup() netip.Addr { return netip.AddrFrom4([4]byte{224, 0, 0, 18}) }

// AuthType is the VRRPv2 authentication type.
type AuthType uint8

// VRRPv2 authentication types (RFC 2338; RFC 3768 keeps only none).
const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1
	AuthAH   AuthType = 2
)

// String returns keepalived's name for the auth type.
func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "NONE"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("AuthType(%d)", uint8(t))
}

// ChecksumMode selects how a VRRPv3 checksum is computed. VRRPv2 always
// uses the plain Internet checksum over the message.
type ChecksumMode uint8

const (
	// ChecksumRFC is RFC 5798: the IPv4 pseudo-header is included.
	ChecksumRFC ChecksumMode = iota
	// ChecksumV2Style is keepalived's v3_checksum_as_v2: a VRRPv3 message
	// checksummed like VRRPv2, without the pseudo-header.
	ChecksumV2Style
)

// Advert is one decoded VRRP advertisement. It is a plain comparable value
// with no pointers, so decoding into a reused Advert never allocates.
type Advert struct {
	// Version is 2 or 3.
	Version uint8
	// Type is TypeAdvert for every valid message.
	Type uint8
	// VRID is the virtual router id.
	VRID uint8
	// Priority is the sender's priority; 0 means it stops being master.
	Priority uint8
	// CountAddrs is the number of addresses in Addrs that are in use.
	CountAddrs uint8
	// AuthType is the VRRPv2 auth type (zero for VRRPv3).
	AuthType AuthType
	// Reserved is the 4-bit reserved field before the VRRPv3 interval.
	Reserved uint8
	// Interval is the advert interval field as on the wire: whole seconds
	// (8 bits) in VRRPv2, centiseconds (12 bits) in VRRPv3. See AdvertInterval.
	Interval uint16
	// Checksum is the checksum field as on the wire; Encode fills it in.
	Checksum uint16
	// Auth is the VRRPv2 authentication data (zero for VRRPv3).
	Auth [AuthLen]byte
	// Addrs holds the addresses; only the first CountAddrs are meaningful.
	Addrs [MaxAddrs][4]byte
}

// Len returns the encoded length of a.
func (a *Advert) Len() int {
	n := headerLen + 4*int(a.CountAddrs)
	if a.Version == 2 {
		n += AuthLen
	}
	return n
}

// AdvertInterval returns the interval field as a duration.
func (a *Advert) AdvertInterval() time.Duration {
	if a.Version == 2 {
		return time.Duration(a.Interval) * time.Second
	}
	return time.Duration(a.Interval) * 10 * time.Millisecond
}

// Addr returns address i as a netip.Addr.
func (a *Advert) Addr(i int) netip.Addr { return netip.AddrFrom4(a.Addrs[i]) }

// SetAddrs replaces the address list. It reports an error for more than
// MaxAddrs addresses or an address that is not IPv4.
func (a *Advert) SetAddrs(addrs []netip.Addr) error {
	if len(addrs) > MaxAddrs {
		return fmt.Errorf("vrrp: %d addresses, at most %d fit in an advert", len(addrs), MaxAddrs)
	}
	for i, ip := range addrs {
		if !ip.Is4() {
			return fmt.Errorf("vrrp: address %s is not IPv4", ip)
		}
		a.Addrs[i] = ip.As4()
	}
	if n := int(a.CountAddrs); n > len(addrs) {
		clear(a.Addrs[len(addrs):n])
	}
	a.CountAddrs = uint8(len(addrs))
	return nil
}

// SetPassword stores a PASS password in Auth the way keepalived does:
// truncated to 8 bytes and zero-padded.
func (a *Advert) SetPassword(pass string) { a.Auth = Password(pass) }

// Password returns a PASS password as the 8 bytes sent on the wire.
func Password(pass string) [AuthLen]byte {
	var b [AuthLen]byte
	copy(b[:], pass)
	return b
}

// Decode parses a VRRP message (without IP header) into a. It checks what
// the message alone can prove: length, version 2 or 3, and type; checksum,
// authentication and VIPs are checked by VerifyChecksum and the Check
// methods. A DropReason is returned on failure and a is then unspecified.
func (a *Advert) Decode(b []byte) error {
	if len(b) < headerLen {
		return ErrLength
	}
	a.Version = b[0] >> 4
	a.Type = b[0] & 0x0f
	if a.Version != 2 && a.Version != 3 {
		return ErrVersion
	}
	a.VRID = b[1]
	a.Priority = b[2]
	a.CountAddrs = b[3]
	want := a.Len()
	if len(b) != want {
		return ErrLength
	}
	if a.Type != TypeAdvert {
		return ErrType
	}
	if a.Version == 2 {
		a.AuthType = AuthType(b[4])
		a.Reserved = 0
		a.Interval = uint16(b[5])
		copy(a.Auth[:], b[want-AuthLen:])
	} else {
		a.AuthType = 0
		a.Reserved = b[4] >> 4
		a.Interval = binary.BigEndian.Uint16(b[4:6]) & 0x0fff
		a.Auth = [AuthLen]byte{}
	}
	a.Checksum = binary.BigEndian.Uint16(b[6:8])
	for i := range int(a.CountAddrs) {
		copy(a.Addrs[i][:], b[headerLen+4*i:])
	}
	return nil
}

// Encode writes a into b and returns the number of bytes written. The
// checksum is computed (and stored in a.Checksum); src and dst are the IPv4
// addresses of the packet, used only by the VRRPv3 pseudo-header.
func (a *Advert) Encode(b []byte, src, dst netip.Addr, mode ChecksumMode) (int, error) {
	n := a.Len()
	switch {
	case a.Version != 2 && a.Version != 3:
		return 0, fmt.Errorf("vrrp: encode: version %d", a.Version)
	case a.Type > 0x0f:
		return 0, fmt.Errorf("vrrp: encode: type %d does not fit 4 bits", a.Type)
	case a.Version == 2 && a.Interval > 0xff:
		return 0, fmt.Errorf("vrrp: encode: VRRPv2 interval %d does not fit 8 bits", a.Interval)
	case a.Version == 3 && (a.Interval > 0x0fff || a.Reserved > 0x0f):
		return 0, fmt.Errorf("vrrp: encode: VRRPv3 interval %d or reserved %d too large", a.Interval, a.Reserved)
	case len(b) < n:
		return 0, fmt.Errorf("vrrp: encode: buffer of %d bytes, need %d", len(b), n)
	}
	b = b[:n]
	b[0] = a.Version<<4 | a.Type
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = a.CountAddrs
	if a.Version == 2 {
		b[4] = byte(a.AuthType)
		b[5] = byte(a.Interval)
		copy(b[n-AuthLen:], a.Auth[:])
	} else {
		binary.BigEndian.PutUint16(b[4:6], uint16(a.Reserved)<<12|a.Interval)
	}
	b[6], b[7] = 0, 0
	for i := range int(a.CountAddrs) {
		copy(b[headerLen+4*i:], a.Addrs[i][:])
	}
	acc, err := checksumSeed(a.Version, src, dst, n, mode)
	if err != nil {
		return 0, err
	}
	a.Checksum = fold(sum(acc, b))
	binary.BigEndian.PutUint16(b[6:8], a.Checksum)
	return n, nil
}

// VerifyChecksum checks the checksum of the encoded message b received from
// src to dst. It returns ErrChecksum (or ErrLength for an empty message).
func VerifyChecksum(b []byte, src, dst netip.Addr, mode ChecksumMode) error {
	if len(b) < headerLen {
		return ErrLength
	}
	acc, err := checksumSeed(b[0]>>4, src, dst, len(b), mode)
	if err != nil || fold(sum(acc, b)) != 0 {
		return ErrChecksum
	}
	return nil
}

// checksumSeed returns the accumulator to start a checksum with: zero for
// VRRPv2 and v2-style VRRPv3, the pseudo-header sum for RFC VRRPv3.
func checksumSeed(version uint8, src, dst netip.Addr, length int, mode ChecksumMode) (uint32, error) {
	if version == 2 || mode == ChecksumV2Style {
		return 0, nil
	}
	if !src.Is4() || !dst.Is4() {
		return 0, fmt.Errorf("vrrp: VRRPv3 checksum needs IPv4 src and dst, have %s and %s", src, dst)
	}
	return pseudoHeaderSum(src.As4(), dst.As4(), length), nil
}

// CheckAuth checks VRRPv2 authentication against the configured type and
// PASS data (compared in constant time). VRRPv3 has no authentication.
func (a *Advert) CheckAuth(typ AuthType, pass [AuthLen]byte) error {
	if a.Version != 2 {
		return nil
	}
	if a.AuthType != typ {
		return ErrAuthType
	}
	if typ == AuthPass && subtle.ConstantTimeCompare(a.Auth[:], pass[:]) != 1 {
		return ErrPassword
	}
	return nil
}

// CheckInterval checks the advert interval: a VRRPv2 advert must carry our
// interval exactly (RFC 3768 §7.1); a VRRPv3 one any non-zero interval,
// which a backup adopts.
func (a *Advert) CheckInterval(ours time.Duration) error {
	if a.Version == 2 && a.AdvertInterval() != ours {
		return ErrInterval
	}
	if a.Version == 3 && a.Interval == 0 {
		return ErrInterval
	}
	return nil
}

// CheckAddrs checks that the advert carries exactly the configured VIPs, in
// any order: ErrAddrCount for a different count, ErrAddrList for a
// configured VIP that is missing.
func (a *Advert) CheckAddrs(vips []netip.Addr) error {
	if int(a.CountAddrs) != len(vips) {
		return ErrAddrCount
	}
	for _, v := range vips {
		if !v.Is4() {
			return ErrAddrList
		}
		want := v.As4()
		found := false
		for i := range int(a.CountAddrs) {
			if a.Addrs[i] == want {
				found = true
				break
			}
		}
		if !found {
			return ErrAddrList
		}
	}
	return nil
}
