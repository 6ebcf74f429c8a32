package checks

import (
	"bytes"
	"testing"
)

func TestParseHexManPageExample(t *testing.T) {
	got, err := ParseHex("Ab12f 3 456 546443123")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % X, want % X", got, want)
	}
}

func TestParseHexCases(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
		err  bool
	}{
		{in: "00ff", want: []byte{0, 0xff}},
		{in: "  a\tB ", want: []byte{0x0a, 0x0b}},
		{in: "123", want: []byte{0x12, 0x03}},
		{in: "", err: true},
		{in: "   ", err: true},
		{in: "zz", err: true},
		{in: "1g", err: true},
		{in: "xx", err: true}, // wildcards only in require_reply
	} {
		got, err := ParseHex(tc.in)
		if (err != nil) != tc.err || !bytes.Equal(got, tc.want) {
			t.Errorf("ParseHex(%q) = % X, %v; want % X, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseHexPatternWildcards(t *testing.T) {
	data, mask, err := ParseHexPattern("aXx1 X")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, []byte{0xa0, 0x01, 0x00}) || !bytes.Equal(mask, []byte{0x0f, 0xf0, 0x0f}) {
		t.Fatalf("data % X mask % X", data, mask)
	}
	if _, m, _ := ParseHexPattern("0102"); m != nil {
		t.Fatalf("mask without wildcard = % X, want nil", m)
	}
	if !matchPattern([]byte{0xa7, 0x51, 0x0c}, data, mask) {
		t.Error("wildcard nibbles should be ignored")
	}
	if matchPattern([]byte{0xb7}, data, mask) {
		t.Error("fixed nibble differs but matched")
	}
	if !matchPattern([]byte{0xa7}, data, mask) {
		t.Error("shorter reply should be compared over its own length")
	}
}
