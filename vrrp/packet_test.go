package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func goldenV2Payload(t testing.TB) []byte { return unhex(t, goldenV2)[IPv4HeaderLen:] }

func TestDecodeErrors(t *testing.T) {
	good := goldenV2Payload(t)
	mod := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good...)
		return f(b)
	}
	tests := []struct {
		name string
		b    []byte
		want DropReason
	}{
		{"empty", nil, ErrLength},
		{"short header", good[:7], ErrLength},
		{"truncated auth", good[:len(good)-1], ErrLength},
		{"trailing byte", append(append([]byte(nil), good...), 0), ErrLength},
		{"count says 2 addresses", mod(func(b []byte) []byte { b[3] = 2; return b }), ErrLength},
		{"version 1", mod(func(b []byte) []byte { b[0] = 0x11; return b }), ErrVersion},
		{"version 4", mod(func(b []byte) []byte { b[0] = 0x41; return b }), ErrVersion},
		{"type 2", mod(func(b []byte) []byte { b[0] = 0x22; return b }), ErrType},
	}
	for _, tt := range tests {
		var a Advert
		err := a.Decode(tt.b)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Decode = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestChecks(t *testing.T) {
	src, dst := ip11, MulticastGroup()
	var a Advert
	if err := a.Decode(goldenV2Payload(t)); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), goldenV2Payload(t)...)
	bad[9] ^= 1
	if err := VerifyChecksum(bad, src, dst, ChecksumRFC); err != ErrChecksum {
		t.Errorf("corrupted: VerifyChecksum = %v, want ErrChecksum", err)
	}
	if err := a.CheckAuth(AuthNone, [8]byte{}); err != ErrAuthType {
		t.Errorf("CheckAuth(none) = %v, want ErrAuthType", err)
	}
	if err := a.CheckAuth(AuthPass, Password("secreT")); err != ErrPassword {
		t.Errorf("CheckAuth(wrong) = %v, want ErrPassword", err)
	}
	// keepalived truncates passwords to 8 bytes.
	a.SetPassword("12345678-and-more")
	if err := a.CheckAuth(AuthPass, Password("12345678")); err != nil {
		t.Errorf("CheckAuth(truncated) = %v", err)
	}
	if err := a.CheckInterval(2 * time.Second); err != ErrInterval {
		t.Errorf("CheckInterval(2s) = %v, want ErrInterval", err)
	}
	if err := a.CheckAddrs([]netip.Addr{vip, vip2}); err != ErrAddrCount {
		t.Errorf("CheckAddrs(2) = %v, want ErrAddrCount", err)
	}
	if err := a.CheckAddrs([]netip.Addr{vip2}); err != ErrAddrList {
		t.Errorf("CheckAddrs(other) = %v, want ErrAddrList", err)
	}

	// VRRPv3: the pseudo-header matters unless v3_checksum_as_v2.
	v3 := unhex(t, goldenV3)[IPv4HeaderLen:]
	if err := VerifyChecksum(v3, ip12, dst, ChecksumRFC); err != ErrChecksum {
		t.Errorf("v3 from wrong src: %v, want ErrChecksum", err)
	}
	if err := VerifyChecksum(v3, src, dst, ChecksumV2Style); err != ErrChecksum {
		t.Errorf("v3 RFC checksum in v2 style: %v, want ErrChecksum", err)
	}
	if err := a.Decode(v3); err != nil {
		t.Fatal(err)
	}
	var buf [MaxAdvertLen]byte
	n, err := a.Encode(buf[:], netip.Addr{}, netip.Addr{}, ChecksumV2Style)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyChecksum(buf[:n], ip12, dst, ChecksumV2Style); err != nil {
		t.Errorf("v2-style v3 checksum: %v", err)
	}
	if err := a.CheckInterval(time.Second); err != nil {
		t.Errorf("v3 CheckInterval with another interval: %v, want nil (adopted)", err)
	}
}

func TestDecodeIPv4Errors(t *testing.T) {
	good := unhex(t, goldenV2)
	var h IPv4Header
	// Ethernet padding after the packet is cut off by the total length.
	p, err := DecodeIPv4(append(append([]byte(nil), good...), 0, 0, 0, 0, 0, 0), &h)
	if err != nil || len(p) != 20 || h.Src != ip11 || h.Dst != MulticastGroup() || h.TTL != 255 {
		t.Errorf("padded: payload %d bytes, %+v, %v", len(p), h, err)
	}
	for _, tt := range []struct {
		name string
		mod  func(b []byte) []byte
		want DropReason
	}{
		{"short", func(b []byte) []byte { return b[:19] }, ErrLength},
		{"truncated", func(b []byte) []byte { return b[:30] }, ErrLength},
		{"IPv6", func(b []byte) []byte { b[0] = 0x65; return b }, ErrIPHeader},
		{"IHL 4", func(b []byte) []byte { b[0] = 0x44; return b }, ErrIPHeader},
		{"protocol 51", func(b []byte) []byte { b[9] = 51; return b }, ErrIPHeader},
		{"fragment", func(b []byte) []byte { b[6] = 0x20; return b }, ErrIPHeader},
		{"total < IHL", func(b []byte) []byte { b[3] = 10; return b }, ErrIPHeader},
	} {
		b := tt.mod(append([]byte(nil), good...))
		if _, err := DecodeIPv4(b, &h); err != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	var buf [MaxAdvertLen]byte
	for _, a := range []Advert{
		{Version: 1, Type: 1},
		{Version: 2, Type: 1, Interval: 256},
		{Version: 3, Type: 1, Interval: 4096},
	} {
		if _, err := a.Encode(buf[:], ip11, MulticastGroup(), ChecksumRFC); err == nil {
			t.Errorf("Encode(%+v) succeeded", a)
		}
	}
	a := Advert{Version: 3, Type: 1, Interval: 100}
	if _, err := a.Encode(buf[:], netip.Addr{}, MulticastGroup(), ChecksumRFC); err == nil {
		t.Error("v3 Encode without src succeeded")
	}
	if _, err := a.Encode(buf[:7], ip11, MulticastGroup(), ChecksumRFC); err == nil {
		t.Error("Encode into short buffer succeeded")
	}
}

func TestCodecAllocs(t *testing.T) {
	pkt := unhex(t, goldenV3)
	src, dst := ip11, MulticastGroup()
	var a Advert
	var h IPv4Header
	var buf [MaxAdvertLen]byte
	allocs := testing.AllocsPerRun(100, func() {
		p, err := DecodeIPv4(pkt, &h)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Decode(p); err != nil {
			t.Fatal(err)
		}
		if err := VerifyChecksum(p, h.Src, h.Dst, ChecksumRFC); err != nil {
			t.Fatal(err)
		}
		_ = a.CheckAddrs([]netip.Addr{vip, vip2})
		_ = a.CheckAuth(AuthPass, [8]byte{})
		if _, err := a.Encode(buf[:], src, dst, ChecksumRFC); err != nil {
			t.Fatal(err)
		}
		if err := a.Decode(p[:3]); err != ErrLength { // the error path too
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per decode+encode, want 0", allocs)
	}
}

func BenchmarkDecode(b *testing.B) {
	pkt := unhex(b, goldenV2)
	var a Advert
	var h IPv4Header
	b.ReportAllocs()
	for b.Loop() {
		p, err := DecodeIPv4(pkt, &h)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Decode(p); err != nil {
			b.Fatal(err)
		}
		if err := VerifyChecksum(p, h.Src, h.Dst, ChecksumRFC); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	var a Advert
	if err := a.Decode(unhex(b, goldenV3)[IPv4HeaderLen:]); err != nil {
		b.Fatal(err)
	}
	var buf [MaxAdvertLen]byte
	src, dst := ip11, MulticastGroup()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Encode(buf[:], src, dst, ChecksumRFC); err != nil {
			b.Fatal(err)
		}
	}
}
