package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv4HeaderLen is the length of an IPv4 header without options, the only
// kind keepalived sends.
const IPv4HeaderLen = 20

// TOSInternetControl is the TOS byte keepalived sends adverts with
// (precedence 6, "internetwork control").
const TOSInternetControl = 0xc0

// IPv4Header holds the IPv4 header fields VRRP cares about.
type IPv4Header struct {
	// TOS is the type-of-service byte.
	TOS uint8
	// TotalLen is the length of header plus payload.
	TotalLen uint16
	// ID is the identification field.
	ID uint16
	// Flags and fragment offset, as the 16-bit field on the wire.
	FlagsFrag uint16
	// TTL is the time to live.
	TTL uint8
	// Protocol is the payload protocol (IPProtoVRRP).
	Protocol uint8
	// Checksum is the header checksum; Encode fills it in.
	Checksum uint16
	// Src and Dst are the IPv4 addresses.
	Src, Dst netip.Addr
}

// AdvertIPv4Header returns the header keepalived puts in front of an advert:
// version 4, IHL 5, TOS 0xc0, no flags, TTL 255, protocol 112. The caller
// increments id per packet sent, as keepalived does per instance.
func AdvertIPv4Header(id uint16, src, dst netip.Addr, payloadLen int) IPv4Header {
	return IPv4Header{
		TOS:      TOSInternetControl,
		TotalLen: uint16(IPv4HeaderLen + payloadLen),
		ID:       id,
		TTL:      TTL,
		Protocol: IPProtoVRRP,
		Src:      src,
		Dst:      dst,
	}
}

// Encode writes h as a 20-byte header into b, computing the checksum (also
// stored in h.Checksum), and returns IPv4HeaderLen.
func (h *IPv4Header) Encode(b []byte) (int, error) {
	if len(b) < IPv4HeaderLen {
		return 0, fmt.Errorf("vrrp: encode IPv4 header: buffer of %d bytes", len(b))
	}
	if !h.Src.Is4() || !h.Dst.Is4() {
		return 0, fmt.Errorf("vrrp: encode IPv4 header: %s -> %s is not IPv4", h.Src, h.Dst)
	}
	b = b[:IPv4HeaderLen]
	b[0] = 4<<4 | IPv4HeaderLen/4
	b[1] = h.TOS
	binary.BigEndian.PutUint16(b[2:4], h.TotalLen)
	binary.BigEndian.PutUint16(b[4:6], h.ID)
	binary.BigEndian.PutUint16(b[6:8], h.FlagsFrag)
	b[8] = h.TTL
	b[9] = h.Protocol
	b[10], b[11] = 0, 0
	src, dst := h.Src.As4(), h.Dst.As4()
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	h.Checksum = fold(sum(0, b))
	binary.BigEndian.PutUint16(b[10:12], h.Checksum)
	return IPv4HeaderLen, nil
}

// DecodeIPv4 parses an IPv4 packet carrying VRRP, as a raw socket delivers
// it, into h and returns the VRRP payload (a sub-slice of b, cut at the
// header's total length so link-layer padding is dropped). It returns
// ErrIPHeader for anything that is not a well-formed, unfragmented IPv4
// packet of protocol 112, and ErrLength when b is shorter than the total
// length claims.
func DecodeIPv4(b []byte, h *IPv4Header) ([]byte, error) {
	if len(b) < IPv4HeaderLen {
		return nil, ErrLength
	}
	ihl := int(b[0]&0x0f) * 4
	if b[0]>>4 != 4 || ihl < IPv4HeaderLen {
		return nil, ErrIPHeader
	}
	h.TOS = b[1]
	h.TotalLen = binary.BigEndian.Uint16(b[2:4])
	h.ID = binary.BigEndian.Uint16(b[4:6])
	h.FlagsFrag = binary.BigEndian.Uint16(b[6:8])
	h.TTL = b[8]
	h.Protocol = b[9]
	h.Checksum = binary.BigEndian.Uint16(b[10:12])
	h.Src = netip.AddrFrom4([4]byte(b[12:16]))
	h.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	total := int(h.TotalLen)
	switch {
	case total < ihl:
		return nil, ErrIPHeader
	case total > len(b):
		return nil, ErrLength
	case h.Protocol != IPProtoVRRP:
		return nil, ErrIPHeader
	case h.FlagsFrag&0x3fff != 0: // more-fragments or an offset: not a whole advert
		return nil, ErrIPHeader
	}
	return b[ihl:total], nil
}
