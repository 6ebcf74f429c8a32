package vrrp

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// capturesDir is ../shared/captures relative to the repository root.
func capturesDir() string { return filepath.Join("..", "..", "shared", "captures") }

// readPcap returns the frames of a classic libpcap file (Ethernet link
// type), skipping the test when the file is absent.
func readPcap(t *testing.T, name string) [][]byte {
	t.Helper()
	path := filepath.Join(capturesDir(), name)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("%s not present (../shared is optional)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	frames, err := parsePcap(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return frames
}

func parsePcap(data []byte) ([][]byte, error) {
	if len(data) < 24 {
		return nil, fmt.Errorf("short pcap header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d: // microsecond, nanosecond
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("not a pcap file")
	}
	if lt := bo.Uint32(data[20:24]); lt != 1 {
		return nil, fmt.Errorf("link type %d, want 1 (Ethernet)", lt)
	}
	var frames [][]byte
	for off := 24; off < len(data); {
		if off+16 > len(data) {
			return nil, fmt.Errorf("truncated record header at %d", off)
		}
		incl := int(bo.Uint32(data[off+8:]))
		off += 16
		if off+incl > len(data) {
			return nil, fmt.Errorf("truncated record at %d", off)
		}
		frames = append(frames, data[off:off+incl])
		off += incl
	}
	return frames, nil
}
