package vrrp

import (
	"net/netip"
	"testing"
)

// FuzzDecode checks that decoding never panics, and that every message that
// decodes encodes back to the same fields (and, when its checksum verifies,
// to the same bytes).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{goldenV2, goldenV2Stop, goldenV3, goldenV3Stop, goldenUnicast} {
		f.Add(unhex(f, s)[IPv4HeaderLen:], false)
		f.Add(unhex(f, s), true)
	}
	src, dst := netip.MustParseAddr("10.201.0.11"), MulticastGroup()
	f.Fuzz(func(t *testing.T, b []byte, withIP bool) {
		s, d := src, dst
		if withIP {
			var h IPv4Header
			p, err := DecodeIPv4(b, &h)
			if err != nil {
				return
			}
			b, s, d = p, h.Src, h.Dst
		}
		var a Advert
		if err := a.Decode(b); err != nil {
			if _, ok := err.(DropReason); !ok {
				t.Fatalf("Decode error %v is not a DropReason", err)
			}
			return
		}
		_ = a.CheckAuth(AuthPass, Password("secret"))
		_ = a.CheckAddrs([]netip.Addr{src})
		valid := VerifyChecksum(b, s, d, ChecksumRFC) == nil

		x := a // the decoded value is a valid x: encode it, decode again
		var buf [MaxAdvertLen]byte
		n, err := x.Encode(buf[:], s, d, ChecksumRFC)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", a, err)
		}
		if valid && string(buf[:n]) != string(b) {
			t.Fatalf("re-encode:\n got %x\nwant %x", buf[:n], b)
		}
		var y Advert
		if err := y.Decode(buf[:n]); err != nil {
			t.Fatalf("Decode(Encode(x)): %v", err)
		}
		if y != x {
			t.Fatalf("Decode(Encode(x)) = %+v, want %+v", y, x)
		}
		if err := VerifyChecksum(buf[:n], s, d, ChecksumRFC); err != nil {
			t.Fatalf("Encode wrote a bad checksum: %v", err)
		}
	})
}
