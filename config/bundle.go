package config

import (
	"os"
	"path/filepath"
	"strings"
)

// Bundle returns the text of the configuration file at path with every
// include line replaced by the files it names, so one self-contained text
// can be sent to other nodes (a cluster applies text, not paths). Each
// inlined file is preceded by a $_PWD definition so ${_PWD} keeps meaning
// the directory of the file it was written in. Conditional lines and
// definitions are left as they are: every node resolves them for itself.
func Bundle(path string) (string, Diagnostics) {
	sink := &diagSink{}
	b := &bundler{sink: sink}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	b.file(path, abs, Pos{})
	return b.out.String(), sink.list
}

type bundler struct {
	sink  *diagSink
	out   strings.Builder
	stack []string
}

func (b *bundler) file(path, abs string, from Pos) {
	for i, s := range b.stack {
		if s == abs {
			chain := append(append([]string{}, b.stack[i:]...), abs)
			b.sink.errorf(from, "include loop: %s", strings.Join(chain, " -> "))
			return
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if from == (Pos{}) {
			b.sink.errorf(Pos{File: path}, "cannot read configuration: %v", unwrapPathErr(err))
		} else {
			b.sink.errorf(from, "include %s: %v", path, unwrapPathErr(err))
		}
		return
	}
	b.stack = append(b.stack, abs)
	defer func() { b.stack = b.stack[:len(b.stack)-1] }()
	dir := filepath.Dir(path)
	for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		line = strings.TrimSuffix(line, "\r")
		kw, rest, ok := includeLine(strings.TrimSpace(stripComment(line)))
		if !ok {
			b.out.WriteString(line)
			b.out.WriteByte('\n')
			continue
		}
		pos := Pos{File: path, Line: n + 1}
		b.out.WriteString("# " + strings.TrimSpace(line) + "\n")
		for _, m := range resolveInclude(b.sink, pos, kw, rest, dir) {
			mabs, err := filepath.Abs(m)
			if err != nil {
				mabs = m
			}
			b.out.WriteString("$_PWD=" + filepath.Dir(mabs) + "\n")
			b.file(m, mabs, pos)
			b.out.WriteString("$_PWD=" + filepath.Dir(abs) + "\n")
		}
	}
}
