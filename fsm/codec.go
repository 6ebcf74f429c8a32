package fsm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// EncodingV1 is the first log entry encoding. ApplyConfig and
// RollbackConfig are a uvarint length, that many bytes of JSON metadata and
// then the raw text (no JSON escaping of megabytes); ReportApplied is JSON;
// SetVerdicts is a compact binary payload.
const EncodingV1 uint8 = 1

// CurrentEncoding is the encoding the Encode functions write.
const CurrentEncoding = EncodingV1

// Errors wrapped by Apply and Decode when an entry cannot be decoded.
var (
	// ErrUnknownEncoding means the entry was written by a newer tandem.
	ErrUnknownEncoding = errors.New("unknown entry encoding version")
	// ErrUnknownCommand means the command type byte is not known.
	ErrUnknownCommand = errors.New("unknown command type")
	// ErrCorrupt means the entry is truncated or its payload is malformed.
	ErrCorrupt = errors.New("corrupt entry")
)

// EncodeApplyConfig encodes c as a log entry for raft.Apply.
func EncodeApplyConfig(c ApplyConfig) ([]byte, error) {
	text := c.Text
	c.Text = ""
	return encodeWithText(c, text)
}

// EncodeRollbackConfig encodes c as a log entry for raft.Apply.
func EncodeRollbackConfig(c RollbackConfig) ([]byte, error) {
	if c.ToVersion == 0 {
		return nil, errors.New("encode RollbackConfig: ToVersion is required")
	}
	text := c.Text
	c.Text = ""
	return encodeWithText(c, text)
}

// EncodeReportApplied encodes c as a log entry for raft.Apply.
func EncodeReportApplied(c ReportApplied) ([]byte, error) {
	if c.NodeID == "" {
		return nil, errors.New("encode ReportApplied: NodeID is required")
	}
	return encodeJSON(c)
}

// EncodeSetVerdicts encodes c as a log entry for raft.Apply.
func EncodeSetVerdicts(c SetVerdicts) ([]byte, error) {
	if c.NodeID == "" {
		return nil, errors.New("encode SetVerdicts: NodeID is required")
	}
	for _, v := range c.Verdicts {
		if v.Weight < math.MinInt32 || v.Weight > math.MaxInt32 {
			return nil, fmt.Errorf("encode SetVerdicts: %s: weight %d out of range", v.Key, v.Weight)
		}
	}
	return appendVerdictsV1([]byte{CurrentEncoding, byte(CmdSetVerdicts)}, c), nil
}

func encodeJSON(c Command) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %v: %w", c.Type(), err)
	}
	return append([]byte{CurrentEncoding, byte(c.Type())}, b...), nil
}

// encodeWithText encodes c (whose Text the caller cleared) as JSON metadata
// followed by the raw text.
func encodeWithText(c Command, text string) ([]byte, error) {
	meta, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %v: %w", c.Type(), err)
	}
	b := make([]byte, 0, 2+binary.MaxVarintLen64+len(meta)+len(text))
	b = append(b, CurrentEncoding, byte(c.Type()))
	b = binary.AppendUvarint(b, uint64(len(meta)))
	b = append(b, meta...)
	return append(b, text...), nil
}

// Decode decodes a log entry written by any Encode function of this or an
// older tandem version.
func Decode(data []byte) (Command, error) {
	if len(data) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, want at least 2", ErrCorrupt, len(data))
	}
	enc, typ, payload := data[0], CommandType(data[1]), data[2:]
	switch enc {
	case EncodingV1:
		return decodeV1(typ, payload)
	}
	return nil, fmt.Errorf("%w %d (this node knows up to %d): upgrade this node", ErrUnknownEncoding, enc, CurrentEncoding)
}

func decodeV1(typ CommandType, payload []byte) (Command, error) {
	switch typ {
	case CmdApplyConfig:
		var c ApplyConfig
		if err := decodeWithText(typ, payload, &c, &c.Text); err != nil {
			return nil, err
		}
		return c, nil
	case CmdRollbackConfig:
		var c RollbackConfig
		if err := decodeWithText(typ, payload, &c, &c.Text); err != nil {
			return nil, err
		}
		return c, nil
	case CmdReportApplied:
		return decodeJSON[ReportApplied](typ, payload)
	case CmdSetVerdicts:
		c, err := decodeVerdictsV1(payload)
		if err != nil {
			return nil, fmt.Errorf("decode %v: %w", typ, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w %d in encoding %d", ErrUnknownCommand, uint8(typ), EncodingV1)
}

// decodeWithText decodes what encodeWithText wrote into c and *text.
func decodeWithText(typ CommandType, payload []byte, c any, text *string) error {
	r := reader{b: payload}
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.fail("metadata longer than payload")
	}
	if r.err != nil {
		return fmt.Errorf("decode %v: %w", typ, r.err)
	}
	if err := json.Unmarshal(r.b[:n], c); err != nil {
		return fmt.Errorf("decode %v: %w: %v", typ, ErrCorrupt, err)
	}
	*text = string(r.b[n:])
	return nil
}

func decodeJSON[T Command](typ CommandType, payload []byte) (Command, error) {
	var c T
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("decode %v: %w: %v", typ, ErrCorrupt, err)
	}
	return c, nil
}

// SetVerdicts payload, encoding 1:
//
//	string node_id, byte flags (bit 0: replace), uvarint count,
//	count × { string key, byte flags (bit 0: up), varint weight,
//	          string reason, string checker, varint unix_nano (0: zero time) }
//
// where string is a uvarint length followed by that many bytes.
func appendVerdictsV1(b []byte, c SetVerdicts) []byte {
	b = appendString(b, c.NodeID)
	b = append(b, boolByte(c.Replace))
	b = binary.AppendUvarint(b, uint64(len(c.Verdicts)))
	for _, v := range c.Verdicts {
		b = appendString(b, v.Key)
		b = append(b, boolByte(v.Up))
		b = binary.AppendVarint(b, int64(v.Weight))
		b = appendString(b, v.Reason)
		b = appendString(b, v.Checker)
		b = binary.AppendVarint(b, unixNano(v.Time))
	}
	return b
}

// minVerdictV1 is the smallest encoded verdict, which bounds the count a
// corrupt payload can make us allocate for.
const minVerdictV1 = 6

func decodeVerdictsV1(p []byte) (SetVerdicts, error) {
	r := reader{b: p}
	c := SetVerdicts{NodeID: r.string()}
	c.Replace = r.flag()
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/minVerdictV1) {
		return SetVerdicts{}, fmt.Errorf("%w: %d verdicts in %d bytes", ErrCorrupt, n, len(r.b))
	}
	if n > 0 {
		c.Verdicts = make([]Verdict, 0, n)
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		v := Verdict{Key: r.string(), Up: r.flag()}
		w := r.varint()
		if w < math.MinInt32 || w > math.MaxInt32 {
			r.fail("weight out of range")
		}
		v.Weight = int(w)
		v.Reason = r.string()
		v.Checker = r.string()
		v.Time = fromUnixNano(r.varint())
		c.Verdicts = append(c.Verdicts, v)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	if r.err != nil {
		return SetVerdicts{}, r.err
	}
	return c, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// reader decodes the binary payloads; the first error sticks and every
// later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) flag() bool {
	if len(r.b) < 1 {
		r.fail("truncated")
		return false
	}
	f := r.b[0]
	r.b = r.b[1:]
	if f > 1 {
		r.fail(fmt.Sprintf("bad flag byte %#x", f))
	}
	return f == 1
}

func (r *reader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("string longer than payload")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
