package config

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sections of the model are plain structs whose fields carry the keyword
// they are written with:
//
//	Priority int `kw:"priority" range:"1,255"`
//
// The tag lists the keyword and its aliases ("lb_algo,lvs_sched"); the
// first name is the one the renderer writes. range bounds integers and
// durations (in seconds). dep marks a deprecated alias with the message to
// give. Fields without a kw tag are filled by hand-written code.
//
// Field kinds: string, []string (arguments; with list:"" the lines of a
// { } block), bool (a flag that may take on|off|yes|no|true|false), *bool,
// ints, time.Duration (seconds, fractions allowed), pointers to those,
// netip.Addr, and any type implementing valueCodec.

// valueCodec is implemented by field types with a syntax of their own.
type valueCodec interface {
	decodeKW(d *decoder, n *node)
	renderKW(w *writer, kw string)
}

var valueCodecType = reflect.TypeOf((*valueCodec)(nil)).Elem()

type fieldSpec struct {
	names      []string
	index      int
	typ        reflect.Type
	min, max   float64
	hasRange   bool
	list       bool
	always     bool              // rendered even when zero (zero differs from the default)
	codec      bool              // *T implements valueCodec
	ptrCodec   bool              // T is *U and *U implements valueCodec
	deprecated map[string]string // alias -> message
}

type sectionSpec struct {
	name   string
	fields []fieldSpec
	byKW   map[string]*fieldSpec
	known  []string // every keyword, sorted, for suggestions
}

// specOf builds the keyword table of a section struct. Tables are built
// once, at package initialisation, and never modified.
func specOf(name string, v any, extra ...string) *sectionSpec {
	t := reflect.TypeOf(v)
	s := &sectionSpec{name: name, byKW: map[string]*fieldSpec{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("kw")
		if !ok || tag == "-" {
			continue
		}
		fs := fieldSpec{names: strings.Split(tag, ","), index: i, typ: f.Type}
		fs.codec = reflect.PointerTo(f.Type).Implements(valueCodecType)
		fs.ptrCodec = f.Type.Kind() == reflect.Pointer && f.Type.Implements(valueCodecType)
		if r, ok := f.Tag.Lookup("range"); ok {
			lo, hi, _ := strings.Cut(r, ",")
			fs.min, _ = strconv.ParseFloat(lo, 64)
			fs.max, _ = strconv.ParseFloat(hi, 64)
			fs.hasRange = true
		}
		_, fs.list = f.Tag.Lookup("list")
		_, fs.always = f.Tag.Lookup("always")
		if dep, ok := f.Tag.Lookup("dep"); ok {
			fs.deprecated = map[string]string{}
			for _, d := range strings.Split(dep, ";") {
				alias, msg, _ := strings.Cut(d, "=")
				fs.deprecated[alias] = msg
			}
		}
		s.fields = append(s.fields, fs)
	}
	for i := range s.fields {
		for _, n := range s.fields[i].names {
			s.byKW[n] = &s.fields[i]
			s.known = append(s.known, n)
		}
	}
	s.known = append(s.known, extra...)
	sort.Strings(s.known)
	return s
}

// decodeField sets the field of target (a pointer to the section struct)
// that keyword n.key names. It reports false when the section has no such
// tagged field.
func (d *decoder) decodeField(spec *sectionSpec, target reflect.Value, n *node) bool {
	fs, ok := spec.byKW[n.key]
	if !ok {
		return false
	}
	if msg, dep := fs.deprecated[n.key]; dep {
		d.sink.warnf(n.pos, "%s", msg)
	}
	fv := target.Elem().Field(fs.index)
	d.decodeValue(fs, fv, n)
	return true
}

func (d *decoder) decodeValue(fs *fieldSpec, fv reflect.Value, n *node) {
	if fs.codec {
		fv.Addr().Interface().(valueCodec).decodeKW(d, n)
		return
	}
	if fs.ptrCodec {
		nv := reflect.New(fv.Type().Elem())
		before := len(d.sink.list)
		nv.Interface().(valueCodec).decodeKW(d, n)
		if !d.failedSince(before) {
			fv.Set(nv)
		}
		return
	}
	if fv.Kind() == reflect.Pointer {
		if fv.Type().Elem().Kind() == reflect.Bool {
			b, ok := d.flagValue(n)
			if ok {
				fv.Set(reflect.ValueOf(&b))
			}
			return
		}
		nv := reflect.New(fv.Type().Elem())
		before := len(d.sink.list)
		d.decodeValue(fs, nv.Elem(), n)
		if !d.failedSince(before) {
			fv.Set(nv)
		}
		return
	}
	switch fv.Interface().(type) {
	case time.Duration:
		if s, ok := d.oneArg(n); ok {
			if v, ok := d.seconds(n, s, fs); ok {
				fv.SetInt(int64(v))
			}
		}
		return
	case netip.Addr:
		if s, ok := d.oneArg(n); ok {
			if a, ok := d.addr(n, s); ok {
				fv.Set(reflect.ValueOf(a))
			}
		}
		return
	}
	switch fv.Kind() {
	case reflect.String:
		if s, ok := d.oneArg(n); ok {
			fv.SetString(s)
		}
	case reflect.Bool:
		if b, ok := d.flagValue(n); ok {
			fv.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if s, ok := d.oneArg(n); ok {
			if v, ok := d.integer(n, s, fs); ok {
				fv.SetInt(v)
			}
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if s, ok := d.oneArg(n); ok {
			if v, ok := d.integer(n, s, fs); ok {
				if v < 0 {
					d.sink.errorf(n.pos, "%s: %s must not be negative", n.key, s)
					return
				}
				fv.SetUint(uint64(v))
			}
		}
	case reflect.Slice:
		if fv.Type().Elem().Kind() != reflect.String {
			panic("config: unsupported slice field for " + n.key)
		}
		var vals []string
		if fs.list {
			if !n.hasBlock {
				vals = append(vals, n.args...)
			}
			for _, c := range n.children {
				vals = append(vals, c.words()...)
			}
		} else {
			if len(n.args) == 0 {
				d.sink.errorf(n.pos, "%s needs a value", n.key)
				return
			}
			vals = append(vals, n.args...)
		}
		fv.Set(reflect.ValueOf(append(fv.Interface().([]string), vals...)))
	default:
		panic("config: unsupported field kind for " + n.key)
	}
}

func (d *decoder) failedSince(before int) bool {
	for _, x := range d.sink.list[before:] {
		if x.Severity == Error {
			return true
		}
	}
	return false
}

// oneArg returns the single argument of n, complaining about a missing one
// and warning about extras.
func (d *decoder) oneArg(n *node) (string, bool) {
	if len(n.args) == 0 {
		d.sink.errorf(n.pos, "%s needs a value", n.key)
		return "", false
	}
	if len(n.args) > 1 {
		d.sink.warnf(n.pos, "%s: extra arguments %q ignored", n.key, strings.Join(n.args[1:], " "))
	}
	return n.args[0], true
}

// flagValue reads a keyword that is true when present, or takes a BOOL.
func (d *decoder) flagValue(n *node) (bool, bool) {
	if len(n.args) == 0 {
		return true, true
	}
	b, ok := parseBool(n.args[0])
	if !ok {
		d.sink.errorf(n.pos, "%s: %q is not a boolean (want on|off|true|false|yes|no)", n.key, n.args[0])
		return false, false
	}
	if len(n.args) > 1 {
		d.sink.warnf(n.pos, "%s: extra arguments %q ignored", n.key, strings.Join(n.args[1:], " "))
	}
	return b, true
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

func (d *decoder) integer(n *node, s string, fs *fieldSpec) (int64, bool) {
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		d.sink.errorf(n.pos, "%s: %q is not an integer", n.key, s)
		return 0, false
	}
	if fs != nil && fs.hasRange && (float64(v) < fs.min || float64(v) > fs.max) {
		d.sink.errorf(n.pos, "%s %d is out of range [%g, %g]", n.key, v, fs.min, fs.max)
		return 0, false
	}
	return v, true
}

// seconds reads keepalived's <TIMER>: seconds with an optional fraction,
// resolution one microsecond.
func (d *decoder) seconds(n *node, s string, fs *fieldSpec) (time.Duration, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.sink.errorf(n.pos, "%s: %q is not a number of seconds", n.key, s)
		return 0, false
	}
	if v < 0 {
		d.sink.errorf(n.pos, "%s: %s must not be negative", n.key, s)
		return 0, false
	}
	if fs != nil && fs.hasRange && (v < fs.min || v > fs.max) {
		d.sink.errorf(n.pos, "%s %s is out of range [%g, %g] seconds", n.key, s, fs.min, fs.max)
		return 0, false
	}
	if v > 1e9 {
		d.sink.errorf(n.pos, "%s: %s seconds is too long", n.key, s)
		return 0, false
	}
	return time.Duration(math.Round(v*1e6)) * time.Microsecond, true
}

func (d *decoder) addr(n *node, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		d.sink.errorf(n.pos, "%s: %q is not an IP address", n.key, s)
		return netip.Addr{}, false
	}
	return a, true
}

// formatSeconds renders a duration as keepalived seconds ("1", "0.25").
func formatSeconds(v time.Duration) string {
	return strconv.FormatFloat(v.Seconds(), 'f', -1, 64)
}

// renderFields writes every set tagged field of the section value v,
// except the keywords in skip.
func (w *writer) renderFields(spec *sectionSpec, v reflect.Value, skip ...map[string]bool) {
	for i := range spec.fields {
		fs := &spec.fields[i]
		if len(skip) > 0 && skip[0][fs.names[0]] {
			continue
		}
		fv := v.Field(fs.index)
		if fv.IsZero() && !fs.always {
			continue
		}
		w.renderValue(fs, fs.names[0], fv)
	}
}

func (w *writer) renderValue(fs *fieldSpec, kw string, fv reflect.Value) {
	if fv.CanAddr() && fv.Addr().Type().Implements(valueCodecType) {
		fv.Addr().Interface().(valueCodec).renderKW(w, kw)
		return
	}
	if fv.Kind() == reflect.Pointer {
		if fv.Type().Elem().Kind() == reflect.Bool {
			if fv.Elem().Bool() {
				w.line(kw, "on")
			} else {
				w.line(kw, "off")
			}
			return
		}
		w.renderValue(fs, kw, fv.Elem())
		return
	}
	switch x := fv.Interface().(type) {
	case time.Duration:
		w.line(kw, formatSeconds(x))
		return
	case netip.Addr:
		w.line(kw, x.String())
		return
	}
	switch fv.Kind() {
	case reflect.String:
		w.line(kw, quote(fv.String()))
	case reflect.Bool:
		if fv.Bool() {
			w.line(kw)
		} else if fs.always {
			w.line(kw, "off")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.line(kw, strconv.FormatInt(fv.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		w.line(kw, strconv.FormatUint(fv.Uint(), 10))
	case reflect.Slice:
		vals := fv.Interface().([]string)
		if fs.list {
			w.open(kw)
			for _, s := range vals {
				w.line(quote(s))
			}
			w.close()
			return
		}
		q := make([]string, len(vals))
		for i, s := range vals {
			q[i] = quote(s)
		}
		w.line(kw, q...)
	default:
		panic(fmt.Sprintf("config: cannot render field %s", kw))
	}
}
