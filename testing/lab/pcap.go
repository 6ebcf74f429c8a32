package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// Frame is one Ethernet frame read from a pcap file.
type Frame struct {
	// Time is when the frame was captured.
	Time time.Time
	// Data is the frame as captured, from the Ethernet header on; it may
	// be cut short at the capture's snap length.
	Data []byte
	// Len is the frame's length on the wire.
	Len int
}

// pcap file constants (https://www.tcpdump.org/manpages/pcap-savefile.5.html).
const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
	linkEthernet   = 1
	pcapHeaderLen  = 24
	pcapRecordLen  = 16
)

// ReadPcap reads a classic pcap file of Ethernet frames, as tcpdump -w
// writes, in either byte order and with micro- or nanosecond timestamps. A
// record cut short at the end of the file (tcpdump killed mid-write) is
// dropped.
func ReadPcap(path string) ([]Frame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read pcap: %w", err)
	}
	frames, err := parsePcap(b)
	if err != nil {
		return nil, fmt.Errorf("read pcap %s: %w", path, err)
	}
	return frames, nil
}

func parsePcap(b []byte) ([]Frame, error) {
	if len(b) < pcapHeaderLen {
		return nil, errors.New("shorter than a pcap header")
	}
	var order binary.ByteOrder
	var nano bool
	switch {
	case binary.LittleEndian.Uint32(b) == pcapMagicMicro:
		order = binary.LittleEndian
	case binary.LittleEndian.Uint32(b) == pcapMagicNano:
		order, nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(b) == pcapMagicMicro:
		order = binary.BigEndian
	case binary.BigEndian.Uint32(b) == pcapMagicNano:
		order, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("not a pcap file (magic %#x)", binary.BigEndian.Uint32(b))
	}
	if lt := order.Uint32(b[20:]) & 0xffff; lt != linkEthernet {
		return nil, fmt.Errorf("link type %d, want Ethernet (%d)", lt, linkEthernet)
	}
	var frames []Frame
	for b = b[pcapHeaderLen:]; len(b) >= pcapRecordLen; {
		sec, frac := int64(order.Uint32(b)), int64(order.Uint32(b[4:]))
		incl, orig := int(order.Uint32(b[8:])), int(order.Uint32(b[12:]))
		if len(b) < pcapRecordLen+incl {
			break
		}
		if !nano {
			frac *= 1000
		}
		frames = append(frames, Frame{
			Time: time.Unix(sec, frac),
			Data: b[pcapRecordLen : pcapRecordLen+incl : pcapRecordLen+incl],
			Len:  orig,
		})
		b = b[pcapRecordLen+incl:]
	}
	return frames, nil
}

// Dst returns the frame's destination MAC.
func (f Frame) Dst() net.HardwareAddr {
	if len(f.Data) < 14 {
		return nil
	}
	return net.HardwareAddr(f.Data[0:6])
}

// Src returns the frame's source MAC.
func (f Frame) Src() net.HardwareAddr {
	if len(f.Data) < 14 {
		return nil
	}
	return net.HardwareAddr(f.Data[6:12])
}

// EtherType returns the frame's EtherType, e.g. 0x0800 for IPv4 and 0x0806
// for ARP, or 0 when the frame is too short.
func (f Frame) EtherType() uint16 {
	if len(f.Data) < 14 {
		return 0
	}
	return binary.BigEndian.Uint16(f.Data[12:])
}

// IPv4Packet is the part of an IPv4 header tests look at, and the payload.
type IPv4Packet struct {
	Src, Dst netip.Addr
	// Protocol is the payload's protocol, e.g. 112 for VRRP.
	Protocol uint8
	TTL      uint8
	// Payload follows the header, up to the packet's total length.
	Payload []byte
}

// IPv4 decodes the frame's IPv4 header; ok is false when the frame does not
// hold a whole IPv4 header.
func (f Frame) IPv4() (p IPv4Packet, ok bool) {
	if f.EtherType() != 0x0800 {
		return p, false
	}
	b := f.Data[14:]
	if len(b) < 20 || b[0]>>4 != 4 {
		return p, false
	}
	hl, total := int(b[0]&0x0f)*4, int(binary.BigEndian.Uint16(b[2:]))
	if hl < 20 || len(b) < hl || total < hl {
		return p, false
	}
	end := min(total, len(b))
	return IPv4Packet{
		Src:      netip.AddrFrom4([4]byte(b[12:16])),
		Dst:      netip.AddrFrom4([4]byte(b[16:20])),
		Protocol: b[9],
		TTL:      b[8],
		Payload:  b[hl:end],
	}, true
}
