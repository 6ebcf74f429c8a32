package lab

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// vrrpFrame is a VRRPv2 advert from 10.1.2.3 (02:00:0a:01:02:03), VRID 51,
// priority 100, for one VIP, as keepalived sends it.
var vrrpFrame = []byte{
	0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x02, 0x00, 0x0a, 0x01, 0x02, 0x03, 0x08, 0x00,
	0x45, 0xc0, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0xff, 0x70, 0x00, 0x00,
	10, 1, 2, 3, 224, 0, 0, 18,
	0x21, 51, 100, 1, 1, 1, 0x00, 0x00, 10, 1, 2, 100,
	't', 'a', 'n', 'd', 'e', 'm', 0, 0,
}

// pcapFile builds a pcap file holding frames, the first at t0 and each
// later one a second later.
func pcapFile(order binary.AppendByteOrder, nano bool, t0 time.Time, frames ...[]byte) []byte {
	magic := uint32(pcapMagicMicro)
	if nano {
		magic = pcapMagicNano
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = order.AppendUint32(b, 262144)
	b = order.AppendUint32(b, linkEthernet)
	for i, f := range frames {
		ts := t0.Add(time.Duration(i) * time.Second)
		frac := ts.Nanosecond()
		if !nano {
			frac /= 1000
		}
		b = order.AppendUint32(b, uint32(ts.Unix()))
		b = order.AppendUint32(b, uint32(frac))
		b = order.AppendUint32(b, uint32(len(f)))
		b = order.AppendUint32(b, uint32(len(f)+4))
		b = append(b, f...)
	}
	return b
}

func TestReadPcap(t *testing.T) {
	t0 := time.Unix(1700000000, 123456789)
	for _, tc := range []struct {
		name  string
		order binary.AppendByteOrder
		nano  bool
		want  time.Time
	}{
		{"little-endian microseconds", binary.LittleEndian, false, t0.Truncate(time.Microsecond)},
		{"big-endian nanoseconds", binary.BigEndian, true, t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pcapFile(tc.order, tc.nano, t0, vrrpFrame, vrrpFrame[:20])
			b = append(b, 1, 2, 3) // a record cut short by a killed tcpdump
			path := filepath.Join(t.TempDir(), "x.pcap")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			frames, err := ReadPcap(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != 2 {
				t.Fatalf("got %d frames, want 2", len(frames))
			}
			f := frames[0]
			if !f.Time.Equal(tc.want) || !frames[1].Time.Equal(tc.want.Add(time.Second)) {
				t.Errorf("times %v, %v; want %v and a second later", f.Time, frames[1].Time, tc.want)
			}
			if f.Len != len(vrrpFrame)+4 || len(f.Data) != len(vrrpFrame) {
				t.Errorf("Len %d, len(Data) %d; want %d, %d", f.Len, len(f.Data), len(vrrpFrame)+4, len(vrrpFrame))
			}
			if f.Src().String() != "02:00:0a:01:02:03" || f.Dst().String() != "01:00:5e:00:00:12" || f.EtherType() != 0x0800 {
				t.Errorf("Ethernet %v -> %v type %#x", f.Src(), f.Dst(), f.EtherType())
			}
			p, ok := f.IPv4()
			if !ok || p.Src != netip.MustParseAddr("10.1.2.3") || p.Dst != netip.MustParseAddr("224.0.0.18") ||
				p.Protocol != 112 || p.TTL != 255 || len(p.Payload) != 20 || p.Payload[2] != 100 {
				t.Errorf("IPv4() = %+v, %v", p, ok)
			}
			if _, ok := frames[1].IPv4(); ok {
				t.Errorf("a frame cut inside its IPv4 header decoded")
			}
		})
	}
}

func TestReadPcapRejects(t *testing.T) {
	dir := t.TempDir()
	sll := pcapFile(binary.LittleEndian, false, time.Now())
	binary.LittleEndian.PutUint32(sll[20:], 113) // Linux cooked capture
	for name, b := range map[string][]byte{
		"short":     {0xd4, 0xc3, 0xb2},
		"not pcap":  make([]byte, 40),
		"link type": sll,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadPcap(path); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
}
