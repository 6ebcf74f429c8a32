package vrrp

// DropReason says why a received packet was rejected. Each reason is its own
// error value, so callers count drops per reason with errors.As or a type
// switch, and returning one never allocates.
type DropReason uint8

// The reasons a received advert is dropped. They are constants, so
// errors.Is(err, ErrChecksum) works without package-level variables.
const (
	// ErrLength: the packet is shorter than a VRRP header, or its length does
	// not match the address count it announces (or the IP total length).
	ErrLength DropReason = iota + 1
	// ErrVersion: the version is neither 2 nor 3, or not the configured one.
	ErrVersion
	// ErrType: the type is not 1 (advertisement).
	ErrType
	// ErrChecksum: the VRRP checksum does not verify.
	ErrChecksum
	// ErrAuthType: the VRRPv2 auth type differs from the configured one.
	ErrAuthType
	// ErrPassword: the VRRPv2 PASS authentication data differs.
	ErrPassword
	// ErrTTL: the IP TTL is not 255 (multicast) or outside min/max (unicast).
	ErrTTL
	// ErrInterval: the VRRPv2 advert interval differs from ours, or a VRRPv3
	// interval is zero.
	ErrInterval
	// ErrAddrCount: the advert carries a different number of VIPs.
	ErrAddrCount
	// ErrAddrList: a configured VIP is missing from the advert.
	ErrAddrList
	// ErrIPHeader: the IPv4 header is malformed or not protocol 112.
	ErrIPHeader
	// ErrDestination: a multicast instance got a unicast advert or the reverse.
	ErrDestination

	numDropReasons = iota + 1
)

// String returns the short reason, suitable as a metrics label.
func (r DropReason) String() string {
	switch r {
	case ErrLength:
		return "bad length"
	case ErrVersion:
		return "bad version"
	case ErrType:
		return "bad type"
	case ErrChecksum:
		return "bad checksum"
	case ErrAuthType:
		return "auth type mismatch"
	case ErrPassword:
		return "bad password"
	case ErrTTL:
		return "bad TTL"
	case ErrInterval:
		return "advert interval mismatch"
	case ErrAddrCount:
		return "VIP count mismatch"
	case ErrAddrList:
		return "VIP list mismatch"
	case ErrIPHeader:
		return "bad IPv4 header"
	case ErrDestination:
		return "unicast/multicast mismatch"
	}
	return "unknown"
}

// Error implements error.
func (r DropReason) Error() string { return "vrrp: " + r.String() }
