package config

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// rawLine is one logical configuration line after includes, conditionals,
// definitions and sequences have been resolved.
type rawLine struct {
	pos  Pos
	text string
}

// maxExpansionDepth bounds recursive parameter substitution, so a
// definition that refers to itself is an error rather than a hang.
const maxExpansionDepth = 64

// maxSequenceLines bounds what ~SEQ/~LST may generate.
const maxSequenceLines = 1 << 20

// maxLineLen bounds a line after substitution, and maxWork the lines the
// preprocessor may handle in all: a definition that doubles itself would
// otherwise grow exponentially within the depth limit.
const (
	maxLineLen = 1 << 20
	maxWork    = 1 << 23
)

// preprocessor turns files into logical lines the way keepalived's
// read_line does: comments, includes, @conditional lines, $definitions
// (multi-line too), ~SEQ/~LST blocks and ${NAME} substitution.
type preprocessor struct {
	sink     *diagSink
	nodeID   string
	readFile func(string) ([]byte, error)
	rnd      *rand.Rand

	defs   map[string]string
	out    []rawLine
	stack  []string // absolute paths being read, for include loops
	files  []string // every file read, in order
	work   int      // lines handled, against maxWork
	tooBig bool     // the work budget ran out (reported once)

	// multi-line definition being accumulated
	mlName  string
	mlLines []string
	mlPos   Pos
}

func newPreprocessor(sink *diagSink, nodeID string, readFile func(string) ([]byte, error), seed uint64) *preprocessor {
	if readFile == nil {
		readFile = os.ReadFile
	}
	return &preprocessor{
		sink:     sink,
		nodeID:   nodeID,
		readFile: readFile,
		rnd:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		defs:     map[string]string{},
	}
}

// file reads path; from is the include line that named it (zero for the
// top-level file).
func (p *preprocessor) file(path string, from Pos) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = filepath.Clean(path)
	}
	for i, s := range p.stack {
		if s == abs {
			chain := append(append([]string{}, p.stack[i:]...), abs)
			p.sink.errorf(from, "include loop: %s", strings.Join(chain, " -> "))
			return
		}
	}
	data, err := p.readFile(path)
	if err != nil {
		if from == (Pos{}) {
			p.sink.errorf(Pos{File: path}, "cannot read configuration: %v", unwrapPathErr(err))
		} else {
			p.sink.errorf(from, "include %s: %v", path, unwrapPathErr(err))
		}
		return
	}
	p.text(path, abs, data)
}

// text processes the contents of one file.
func (p *preprocessor) text(path, abs string, data []byte) {
	p.stack = append(p.stack, abs)
	p.files = append(p.files, path)
	if cap(p.out)-len(p.out) < len(data)/24 {
		grown := make([]rawLine, len(p.out), len(p.out)+len(data)/24)
		copy(grown, p.out)
		p.out = grown
	}
	savedPWD, hadPWD := p.defs["_PWD"]
	p.defs["_PWD"] = filepath.Dir(abs)
	defer func() {
		p.stack = p.stack[:len(p.stack)-1]
		if hadPWD {
			p.defs["_PWD"] = savedPWD
		} else {
			delete(p.defs, "_PWD")
		}
	}()

	dir := filepath.Dir(path)
	lineNo := 0
	for len(data) > 0 {
		var line []byte
		if i := indexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		lineNo++
		p.physical(Pos{File: path, Line: lineNo}, strings.TrimSuffix(string(line), "\r"), dir)
	}
	if p.mlName != "" {
		p.finishMultiline()
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// physical handles one line as read from a file.
func (p *preprocessor) physical(pos Pos, line, dir string) {
	text := strings.TrimSpace(stripComment(line))
	if p.mlName != "" {
		if text == "" {
			return // keepalived skips blank lines inside a multi-line definition
		}
		if strings.HasSuffix(text, `\`) {
			p.mlLines = append(p.mlLines, strings.TrimSpace(strings.TrimSuffix(text, `\`)))
			return
		}
		p.mlLines = append(p.mlLines, text)
		p.finishMultiline()
		return
	}
	if text == "" {
		return
	}
	if kw, rest, ok := includeLine(text); ok {
		p.include(pos, kw, rest, dir)
		return
	}
	p.logical(pos, text, 0)
}

func (p *preprocessor) finishMultiline() {
	var lines []string
	for _, l := range p.mlLines {
		if l != "" {
			lines = append(lines, l)
		}
	}
	p.defs[p.mlName] = strings.Join(lines, "\n")
	p.mlName, p.mlLines = "", nil
}

// stripComment removes a '#' or '!' comment outside double quotes, as
// keepalived's decomment does; outside quotes "\#" and "\!" stand for the
// character itself.
func stripComment(s string) string {
	if !strings.ContainsAny(s, "#!") {
		return s
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\\' && !quoted && i+1 < len(s) && (s[i+1] == '#' || s[i+1] == '!'):
			i++
			c = s[i]
		case !quoted && (c == '#' || c == '!'):
			return b.String()
		}
		b.WriteByte(c)
	}
	return b.String()
}

var includeKeywords = map[string]bool{
	"include": true, "includer": true, "includem": true,
	"includew": true, "includeb": true, "includea": true,
}

func includeLine(text string) (kw, rest string, ok bool) {
	kw, rest, _ = strings.Cut(text, " ")
	if i := strings.IndexAny(kw, "\t"); i >= 0 {
		kw, rest = kw[:i], kw[i+1:]+" "+rest
	}
	if !includeKeywords[kw] {
		return "", "", false
	}
	return kw, strings.TrimSpace(rest), true
}

// include resolves an include line: globs and brace expressions, relative
// to the including file's directory.
func (p *preprocessor) include(pos Pos, kw, rest, dir string) {
	for _, m := range resolveInclude(p.sink, pos, kw, rest, dir) {
		p.file(m, pos)
	}
}

// resolveInclude returns the files an include line names, in order,
// reporting what is missing.
func resolveInclude(sink *diagSink, pos Pos, kw, rest, dir string) []string {
	// The name is one word or a "quoted" one; braces are glob syntax here.
	pattern, extra := rest, ""
	if strings.HasPrefix(rest, `"`) {
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			sink.errorf(pos, "%s: %v", kw, errUnterminated)
			return nil
		}
		pattern, extra = rest[1:1+end], strings.TrimSpace(rest[2+end:])
	} else if i := strings.IndexAny(rest, " \t"); i >= 0 {
		pattern, extra = rest[:i], strings.TrimSpace(rest[i:])
	}
	if pattern == "" {
		sink.errorf(pos, "%s needs a file name", kw)
		return nil
	}
	if extra != "" {
		sink.warnf(pos, "%s: extra arguments after %q ignored", kw, pattern)
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(dir, pattern)
	}
	strictWildcard := kw == "includew" || kw == "includea"
	var files []string
	for _, pat := range expandBraces(pattern) {
		wild := strings.ContainsAny(pat, "*?[")
		matches, err := filepath.Glob(pat)
		if err != nil {
			sink.errorf(pos, "%s %s: %v", kw, pat, err)
			continue
		}
		if len(matches) == 0 {
			switch {
			case !wild:
				sink.errorf(pos, "%s %s: no such file", kw, pat)
			case strictWildcard:
				sink.errorf(pos, "%s %s: no file matches", kw, pat)
			}
			continue
		}
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.IsDir() {
				if !wild {
					sink.errorf(pos, "%s %s: is a directory", kw, m)
				}
				continue
			}
			files = append(files, m)
		}
	}
	return files
}

// expandBraces expands csh-style {a,b} expressions.
func expandBraces(s string) []string {
	open := strings.IndexByte(s, '{')
	if open < 0 {
		return []string{s}
	}
	depth := 0
	var parts []string
	start := open + 1
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case ',':
			if depth == 1 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		case '}':
			depth--
			if depth == 0 {
				parts = append(parts, s[start:i])
				var out []string
				for _, part := range parts {
					out = append(out, expandBraces(s[:open]+part+s[i+1:])...)
				}
				return out
			}
		}
	}
	return []string{s}
}

// logical handles one non-empty line after comment removal: conditionals,
// definitions, sequences, then substitution.
func (p *preprocessor) logical(pos Pos, text string, depth int, expanding ...string) {
	if depth > maxExpansionDepth {
		p.sink.errorf(pos, "parameter expansion nested too deep (a definition that refers to itself?)")
		return
	}
	p.work++
	if p.work > maxWork || p.tooBig {
		if !p.tooBig {
			p.tooBig = true
			p.sink.errorf(pos, "configuration expands to too many lines (more than %d processed): a definition or sequence that multiplies itself?", maxWork)
		}
		return
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	if text[0] == '@' {
		word, rest := splitWord(text[1:])
		negate := strings.HasPrefix(word, "^")
		word = strings.TrimPrefix(word, "^")
		if word == "" {
			p.sink.errorf(pos, "conditional line needs a node name after '@'")
			return
		}
		if (word == p.nodeID) == negate {
			return
		}
		p.logical(pos, rest, depth+1, expanding...)
		return
	}
	if text[0] == '$' {
		if name, value, ok := definition(text); ok {
			value = strings.TrimSpace(value)
			if strings.HasSuffix(value, `\`) {
				p.mlName, p.mlPos = name, pos
				p.mlLines = []string{strings.TrimSpace(strings.TrimSuffix(value, `\`))}
				return
			}
			p.defs[name] = value
			return
		}
	}
	if strings.HasPrefix(text, "~SEQ") || strings.HasPrefix(text, "~LST") {
		p.sequence(pos, text, depth)
		return
	}
	if strings.IndexByte(text, '$') >= 0 {
		if out, used, changed := p.substitute(text); changed {
			for _, u := range used {
				for _, e := range expanding {
					if u == e {
						p.sink.errorf(pos, "definition $%s refers to itself", u)
						return
					}
				}
			}
			if len(out) > maxLineLen {
				p.sink.errorf(pos, "line grows past %d bytes after parameter substitution", maxLineLen)
				return
			}
			chain := append(append([]string{}, expanding...), used...)
			for _, l := range strings.Split(out, "\n") {
				p.logical(pos, l, depth+1, chain...)
			}
			return
		}
	}
	p.out = append(p.out, rawLine{pos: pos, text: text})
}

func splitWord(s string) (word, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// definition recognises "$NAME=value".
func definition(text string) (name, value string, ok bool) {
	eq := strings.IndexByte(text, '=')
	if eq < 2 {
		return "", "", false
	}
	name = text[1:eq]
	if !validParamName(name) {
		return "", "", false
	}
	return name, text[eq+1:], true
}

func validParamName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// substitute replaces ${NAME} anywhere and $NAME followed by white space or
// the end of the line, once; the caller reprocesses the result, which makes
// replacement recursive as keepalived's is.
func (p *preprocessor) substitute(text string) (string, []string, bool) {
	var b strings.Builder
	var used []string
	changed := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '$' || i+1 >= len(text) {
			b.WriteByte(c)
			continue
		}
		if text[i+1] == '{' {
			end := strings.IndexByte(text[i+2:], '}')
			if end >= 0 {
				inner := text[i+2 : i+2+end]
				if v, ok := p.lookup(inner); ok {
					b.WriteString(v)
					changed = true
					if _, isDef := p.defs[inner]; isDef {
						used = append(used, inner)
					}
					i += 2 + end
					continue
				}
			}
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(text) && (text[j] == '_' || isAlnum(text[j])) {
			j++
		}
		if j > i+1 && (j == len(text) || text[j] == ' ' || text[j] == '\t') {
			if v, ok := p.lookup(text[i+1 : j]); ok {
				b.WriteString(v)
				changed = true
				if _, isDef := p.defs[text[i+1:j]]; isDef {
					used = append(used, text[i+1:j])
				}
				i = j - 1
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String(), used, changed
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// lookup resolves a parameter, including keepalived's predefined ones.
func (p *preprocessor) lookup(name string) (string, bool) {
	switch {
	case name == "_INSTANCE":
		return p.nodeID, true
	case name == "_HASH":
		return "#", true
	case name == "_BANG":
		return "!", true
	case name == "_RANDOM" || strings.HasPrefix(name, "_RANDOM "):
		lo, hi := int64(0), int64(32767)
		f := strings.Fields(name)
		if len(f) > 1 {
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil && v >= 0 {
				lo = v
			}
		}
		if len(f) > 2 {
			if v, err := strconv.ParseInt(f[2], 10, 64); err == nil && v >= lo {
				hi = v
			}
		}
		if hi < lo {
			hi = lo
		}
		return strconv.FormatInt(lo+p.rnd.Int64N(hi-lo+1), 10), true
	}
	v, ok := p.defs[name]
	return v, ok
}

// sequence expands a ~SEQ(var, start, step, end), ~SEQx(...) or
// ~LST(var, v1, v2, ...) prefix over the rest of the line.
func (p *preprocessor) sequence(pos Pos, text string, depth int) {
	var kind string
	switch {
	case strings.HasPrefix(text, "~SEQx("):
		kind = "~SEQx"
	case strings.HasPrefix(text, "~SEQ("):
		kind = "~SEQ"
	case strings.HasPrefix(text, "~LST("):
		kind = "~LST"
	default:
		p.sink.errorf(pos, "unknown sequence %q (want ~SEQ(...), ~SEQx(...) or ~LST(...))", firstWord(text))
		return
	}
	open := len(kind)
	closeIdx := matchParen(text, open)
	if closeIdx < 0 {
		p.sink.errorf(pos, "%s: missing ')'", kind)
		return
	}
	spec := text[open+1 : closeIdx]
	rest := strings.TrimSpace(text[closeIdx+1:])
	// Substitute parameters inside the specification itself.
	if strings.IndexByte(spec, '$') >= 0 {
		for range maxExpansionDepth {
			s, _, changed := p.substitute(spec)
			spec = s
			if !changed {
				break
			}
		}
	}
	items := splitTopLevel(spec)
	if kind == "~LST" {
		p.list(pos, items, rest, depth)
		return
	}
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	if len(items) < 2 || len(items) > 4 {
		p.sink.errorf(pos, "%s(var, [start,] [step,] end): got %d arguments", kind, len(items))
		return
	}
	name := items[0]
	if !validParamName(name) {
		p.sink.errorf(pos, "%s: %q is not a parameter name", kind, name)
		return
	}
	nums := make([]int64, 0, 3)
	for _, it := range items[1:] {
		v, err := strconv.ParseInt(it, 0, 64)
		if err != nil {
			p.sink.errorf(pos, "%s: %q is not an integer", kind, it)
			return
		}
		nums = append(nums, v)
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		start = 1
		if end < 0 {
			start = -1
		}
	case 2:
		start, end = nums[0], nums[1]
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
	}
	if step == 0 {
		step = 1
		if end < start {
			step = -1
		}
	}
	if (step > 0 && end < start) || (step < 0 && end > start) {
		return
	}
	if n := (end-start)/step + 1; n > maxSequenceLines {
		p.sink.errorf(pos, "%s generates %d lines (limit %d)", kind, n, maxSequenceLines)
		return
	}
	for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
		if kind == "~SEQx" {
			p.defs[name] = strconv.FormatInt(v, 16)
		} else {
			p.defs[name] = strconv.FormatInt(v, 10)
		}
		p.logical(pos, rest, depth+1)
	}
}

// list expands ~LST(var, v1, ...) and ~LST({a,b}, {1,2}, ...).
func (p *preprocessor) list(pos Pos, items []string, rest string, depth int) {
	if len(items) < 2 {
		p.sink.errorf(pos, "~LST(var, value, ...) needs at least one value")
		return
	}
	names := braceItems(items[0])
	for _, n := range names {
		if !validParamName(n) {
			p.sink.errorf(pos, "~LST: %q is not a parameter name", n)
			return
		}
	}
	for _, it := range items[1:] {
		vals := braceItems(it)
		if len(vals) != len(names) {
			p.sink.errorf(pos, "~LST: %q has %d values for %d variables", strings.TrimSpace(it), len(vals), len(names))
			return
		}
		for i, n := range names {
			p.defs[n] = vals[i]
		}
		p.logical(pos, rest, depth+1)
	}
}

func braceItems(s string) []string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		parts := strings.Split(s[1:len(s)-1], ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	return []string{s}
}

func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitTopLevel splits on commas that are not inside {...}.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func firstWord(s string) string {
	w, _ := splitWord(s)
	return w
}

func absPath(p string) (string, error) { return filepath.Abs(p) }
