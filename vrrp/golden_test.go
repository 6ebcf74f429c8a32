package vrrp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// unhex decodes tcpdump-style hex with spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Key packets of ../shared/captures, copied here so the golden tests run
// without ../shared. Each is the IPv4 packet (Ethernet header stripped).
const (
	// keepalived-adverts.pcap: VRRPv2 VRID 51 prio 100 PASS "secret" VIP 10.201.0.100.
	goldenV2 = "45c0 0028 0001 0000 ff70 cfbe 0ac9 000b e000 0012" +
		"2133 6401 0101 3251 0ac9 0064 7365 6372 6574 0000"
	// The priority-0 advert keepalived sends on SIGTERM.
	goldenV2Stop = "45c0 0028 0004 0000 ff70 cfbb 0ac9 000b e000 0012" +
		"2133 0001 0101 9651 0ac9 0064 7365 6372 6574 0000"
	// The backup (10.201.0.12, prio 90) after its takeover.
	goldenV2Backup = "45c0 0028 0001 0000 ff70 cfbd 0ac9 000c e000 0012" +
		"2133 5a01 0101 3c51 0ac9 0064 7365 6372 6574 0000"
	// keepalived-v3-adverts.pcap: VRRPv3 advert_int 0.1 s, two VIPs.
	goldenV3 = "45c0 0024 0039 0000 ff70 cf8a 0ac9 000b e000 0012" +
		"3133 6402 000a 68fe 0ac9 0064 0ac9 0065"
	goldenV3Stop = "45c0 0024 0042 0000 ff70 cf81 0ac9 000b e000 0012" +
		"3133 0002 000a ccfe 0ac9 0064 0ac9 0065"
	// keepalived-unicast-adverts.pcap: VRRPv2 unicast 10.201.0.11 -> .12.
	goldenUnicast = "45c0 0028 0001 0000 ff70 a4fc 0ac9 000b 0ac9 000c" +
		"2133 6401 0101 3251 0ac9 0064 7365 6372 6574 0000"
	// A gratuitous ARP frame (Ethernet + ARP) for 10.201.0.100.
	goldenGARP = "ffff ffff ffff 0200 0ac9 000b 0806 0001" +
		"0800 0604 0001 0200 0ac9 000b 0ac9 0064" +
		"ffff ffff ffff 0ac9 0064"
)

var (
	ip11  = netip.MustParseAddr("10.201.0.11")
	ip12  = netip.MustParseAddr("10.201.0.12")
	vip   = netip.MustParseAddr("10.201.0.100")
	vip2  = netip.MustParseAddr("10.201.0.101")
	mac11 = net.HardwareAddr{0x02, 0x00, 0x0a, 0xc9, 0x00, 0x0b}
)

// checkGoldenIPv4 decodes a captured IPv4+VRRP packet, checks it, and
// checks that encoding the decoded fields gives the same bytes: the VRRP
// payload byte for byte and the IPv4 header as keepalived writes it.
func checkGoldenIPv4(t *testing.T, pkt []byte, mode ChecksumMode) Advert {
	t.Helper()
	var h IPv4Header
	payload, err := DecodeIPv4(pkt, &h)
	if err != nil {
		t.Fatalf("DecodeIPv4: %v", err)
	}
	if h.TTL != 255 || h.TOS != 0xc0 || h.Protocol != 112 || h.FlagsFrag != 0 {
		t.Errorf("IPv4 header %+v: want TTL 255, TOS 0xc0, proto 112, no flags", h)
	}
	var a Advert
	if err := a.Decode(payload); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if err := VerifyChecksum(payload, h.Src, h.Dst, mode); err != nil {
		t.Errorf("VerifyChecksum: %v", err)
	}
	want := a
	a.Checksum = 0
	var buf [MaxAdvertLen]byte
	n, err := a.Encode(buf[:], h.Src, h.Dst, mode)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(buf[:n], payload) {
		t.Errorf("Encode:\n got %x\nwant %x", buf[:n], payload)
	}
	if a != want {
		t.Errorf("Encode changed fields: %+v, want %+v", a, want)
	}
	hdr := AdvertIPv4Header(h.ID, h.Src, h.Dst, n)
	var hb [IPv4HeaderLen]byte
	if _, err := hdr.Encode(hb[:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hb[:], pkt[:IPv4HeaderLen]) {
		t.Errorf("IPv4 header:\n got %x\nwant %x", hb, pkt[:IPv4HeaderLen])
	}
	return a
}

func TestGoldenAdverts(t *testing.T) {
	secret := Password("secret")
	tests := []struct {
		name     string
		pkt      string
		version  uint8
		prio     uint8
		interval time.Duration
		addrs    []netip.Addr
	}{
		{"v2", goldenV2, 2, 100, time.Second, []netip.Addr{vip}},
		{"v2 priority 0", goldenV2Stop, 2, 0, time.Second, []netip.Addr{vip}},
		{"v2 backup takeover", goldenV2Backup, 2, 90, time.Second, []netip.Addr{vip}},
		{"v2 unicast", goldenUnicast, 2, 100, time.Second, []netip.Addr{vip}},
		{"v3", goldenV3, 3, 100, 100 * time.Millisecond, []netip.Addr{vip, vip2}},
		{"v3 priority 0", goldenV3Stop, 3, 0, 100 * time.Millisecond, []netip.Addr{vip, vip2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := checkGoldenIPv4(t, unhex(t, tt.pkt), ChecksumRFC)
			if a.Version != tt.version || a.VRID != 51 || a.Priority != tt.prio || a.AdvertInterval() != tt.interval {
				t.Errorf("advert %+v", a)
			}
			if err := a.CheckAddrs(tt.addrs); err != nil {
				t.Errorf("CheckAddrs: %v", err)
			}
			if tt.version == 2 {
				if err := a.CheckAuth(AuthPass, secret); err != nil {
					t.Errorf("CheckAuth: %v", err)
				}
			}
		})
	}
}

func TestGoldenGARP(t *testing.T) {
	var b [GARPFrameLen]byte
	n, err := EncodeGARP(b[:], mac11, vip)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, goldenGARP); !bytes.Equal(b[:n], want) {
		t.Errorf("EncodeGARP:\n got %x\nwant %x", b[:n], want)
	}
}

func TestGoldenPcaps(t *testing.T) {
	tests := []struct {
		file            string
		adverts, garps  int // -1: any number of adverts
		wantPrio0       int // -1: not checked
		wantFirstAdvert string
	}{
		{"keepalived-adverts.pcap", 6, 10, 1, goldenV2},
		{"keepalived-v3-adverts.pcap", -1, 10, 1, goldenV3},
		{"keepalived-unicast-adverts.pcap", -1, 10, -1, goldenUnicast},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			frames := readPcap(t, tt.file)
			var adverts, garps, prio0 int
			for i, f := range frames {
				switch binary.BigEndian.Uint16(f[12:14]) {
				case 0x0800:
					a := checkGoldenIPv4(t, f[14:], ChecksumRFC)
					if adverts == 0 && !bytes.Equal(f[14:], unhex(t, tt.wantFirstAdvert)) {
						t.Errorf("frame %d: first advert differs from the copy in this file", i)
					}
					adverts++
					if a.Priority == 0 {
						prio0++
					}
				case 0x0806:
					arp := f[14:]
					if binary.BigEndian.Uint16(arp[6:8]) != 1 || !bytes.Equal(arp[14:18], arp[24:28]) {
						continue // an ordinary ARP request or reply
					}
					var b [GARPFrameLen]byte
					if _, err := EncodeGARP(b[:], net.HardwareAddr(f[6:12]), netip.AddrFrom4([4]byte(arp[14:18]))); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(b[:], f[:GARPFrameLen]) {
						t.Errorf("frame %d: GARP\n got %x\nwant %x", i, b, f[:GARPFrameLen])
					}
					garps++
				}
			}
			if tt.adverts >= 0 && adverts != tt.adverts {
				t.Errorf("%d adverts, want %d", adverts, tt.adverts)
			}
			if adverts == 0 {
				t.Error("no adverts in capture")
			}
			if garps != tt.garps {
				t.Errorf("%d GARPs, want %d", garps, tt.garps)
			}
			if tt.wantPrio0 >= 0 && prio0 != tt.wantPrio0 {
				t.Errorf("%d priority-0 adverts, want %d", prio0, tt.wantPrio0)
			}
		})
	}
}
