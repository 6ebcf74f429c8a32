package checks

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
)

// FileSpec configures a FILE_CHECK on a track_file.
type FileSpec struct {
	// Path is the tracked file's path (from the track_file block).
	Path string
	// Weight multiplies the file's value; 0 means "non-zero is down".
	Weight int
	// Reverse negates the weight (and, with weight 0, makes zero down).
	Reverse bool
	// Dynamic is carried for the scheduler, which decides whether the
	// offset also counts towards quorum; Probe ignores it.
	Dynamic bool
}

// File is a FILE_CHECK. It remembers the last valid value, because
// keepalived ignores a value it cannot use and keeps the previous one.
type File struct {
	spec FileSpec
	mu   sync.Mutex
	last int64
}

// NewFile returns a FILE_CHECK for spec.
func NewFile(spec FileSpec) *File { return &File{spec: spec} }

// Probe reads the file as keepalived does: the first 127 bytes parsed
// like strtol(buf, NULL, 0) (leading blanks, sign, 0x/0 prefixes, trailing
// text ignored); a missing, empty or non-numeric file reads as 0; a value
// outside int32 is ignored. With weight 0 a non-zero value (a zero one
// with reverse) is down. Otherwise value×weight (negated with reverse),
// clamped to int32, is added to the real server's weight (WeightOffset);
// only a result at or below −2147483648 is down.
func (f *File) Probe(context.Context) Result {
	v, note := f.read()
	mult := int64(1)
	if f.spec.Reverse {
		mult = -1
	}
	if f.spec.Weight == 0 {
		if (v != 0) == !f.spec.Reverse {
			return fail("track file %s value %d%s: down", f.spec.Path, v, note)
		}
		return Result{OK: true, Reason: fmt.Sprintf("track file %s value %d%s", f.spec.Path, v, note)}
	}
	prod := v * int64(f.spec.Weight) * mult // |v|,|w| ≤ 2^31: no overflow
	if prod <= math.MinInt32 {
		return fail("track file %s value %d × weight %d%s: down", f.spec.Path, v, f.spec.Weight*int(mult), note)
	}
	off := int(min(prod, math.MaxInt32))
	return Result{OK: true, WeightOffset: &off,
		Reason: fmt.Sprintf("track file %s value %d × weight %d = %d%s", f.spec.Path, v, f.spec.Weight*int(mult), off, note)}
}

func (f *File) read() (int64, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := int64(0)
	fh, err := os.Open(f.spec.Path)
	if err == nil {
		buf := make([]byte, 127)
		n, _ := fh.Read(buf)
		fh.Close()
		if n > 0 {
			var ok bool
			v, ok = strtol(string(buf[:n]))
			if !ok || v < math.MinInt32 || v > math.MaxInt32+1 {
				return f.last, fmt.Sprintf(" (ignored invalid %q)", strings.TrimSpace(string(buf[:n])))
			}
		}
	}
	f.last = v
	return v, ""
}

// strtol mimics C strtol(s, NULL, 0): it returns 0 when there is no
// number and false on overflow.
func strtol(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isHexDigit(s[2]):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	end := 0
	for end < len(s) && digitVal(s[end]) < base {
		end++
	}
	if end == 0 {
		return 0, true
	}
	u, err := strconv.ParseUint(s[:end], base, 63)
	if err != nil {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

func isHexDigit(c byte) bool { return digitVal(c) < 16 }

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}
