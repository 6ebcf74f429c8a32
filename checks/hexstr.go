package checks

import "fmt"

// ParseHex reads keepalived's free-format hex string (UDP_CHECK payload):
// spaces and tabs separate groups, each group is read two digits per
// octet and a lone last digit is an octet of its own, so
// "Ab12f 3 456" is AB 12 0F 03 45 06.
func ParseHex(s string) ([]byte, error) {
	data, mask, err := parseHex(s, false)
	if err == nil && mask != nil {
		err = fmt.Errorf("hex string %q: wildcards not allowed", s)
	}
	return data, err
}

// ParseHexPattern reads a require_reply hex string, where X or x is a
// wildcard nibble. mask has the wildcard bits set; it is nil when the
// pattern has no wildcard.
func ParseHexPattern(s string) (data, mask []byte, err error) {
	return parseHex(s, true)
}

func parseHex(s string, wild bool) (data, mask []byte, err error) {
	nibble := func(c byte) (v, m byte, ok bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', 0, true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, 0, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, 0, true
		case wild && (c == 'x' || c == 'X'):
			return 0, 0xf, true
		}
		return 0, 0, false
	}
	sep := func(c byte) bool { return c == ' ' || c == '\t' }
	wildcard := false
	for i := 0; i < len(s); {
		if sep(s[i]) {
			i++
			continue
		}
		v, m, ok := nibble(s[i])
		if !ok {
			return nil, nil, fmt.Errorf("hex string %q: bad character %q at %d", s, s[i], i)
		}
		i++
		if i < len(s) && !sep(s[i]) {
			v2, m2, ok := nibble(s[i])
			if !ok {
				return nil, nil, fmt.Errorf("hex string %q: bad character %q at %d", s, s[i], i)
			}
			i++
			v, m = v<<4|v2, m<<4|m2
		}
		data = append(data, v)
		mask = append(mask, m)
		wildcard = wildcard || m != 0
	}
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("hex string %q is empty", s)
	}
	if len(data) > 65535 {
		return nil, nil, fmt.Errorf("hex string %q: longer than 65535 octets", s)
	}
	if !wildcard {
		mask = nil
	}
	return data, mask, nil
}

// matchPattern reports whether got agrees with want (under mask) over the
// shorter of the two, as keepalived compares a UDP reply.
func matchPattern(got, want, mask []byte) bool {
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		m := byte(0xff)
		if mask != nil {
			m = ^mask[i]
		}
		if (got[i]^want[i])&m != 0 {
			return false
		}
	}
	return true
}
