package vrrp

import "encoding/binary"

// sum adds b to the running 32-bit one's-complement accumulator acc.
// An odd trailing byte is padded with zero, as RFC 1071 specifies.
func sum(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// fold returns the Internet checksum of an accumulator.
func fold(acc uint32) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// pseudoHeaderSum is the sum of the IPv4 pseudo-header RFC 5798 §5.2.8 puts
// in front of a VRRPv3 message: src, dst, zero, protocol 112, length.
func pseudoHeaderSum(src, dst [4]byte, length int) uint32 {
	acc := sum(0, src[:])
	acc = sum(acc, dst[:])
	return acc + IPProtoVRRP + uint32(length)
}
