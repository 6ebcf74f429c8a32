package config

import "strings"

// node is one statement of the configuration: a keyword, its arguments,
// and, for sections, the statements of its { } block.
type node struct {
	pos      Pos
	key      string
	args     []string
	hasBlock bool
	children []*node
	rest     string // the raw text after the keyword, when it began its line
}

// words returns the keyword and its arguments, for list entries such as
// "192.168.1.1/24 dev eth0".
func (n *node) words() []string {
	out := make([]string, 0, 1+len(n.args))
	out = append(out, n.key)
	return append(out, n.args...)
}

// lexToken is a token of the stream: a word or a line boundary, with the
// index of its line.
type lexToken struct {
	token
	line  int32
	eol   bool
	first bool // the first word of its line
}

// buildTree turns logical lines into statements. A statement runs to the
// end of its line; a '{' on the same or the next line opens its block,
// and a '}' anywhere closes the innermost block.
func buildTree(lines []rawLine, sink *diagSink) []*node {
	toks := make([]lexToken, 0, len(lines)*3)
	var buf []token
	for i, l := range lines {
		var err error
		buf, err = tokenizeInto(buf[:0], l.text)
		if err != nil {
			sink.errorf(l.pos, "%v", err)
		}
		for j, t := range buf {
			toks = append(toks, lexToken{token: t, line: int32(i), first: j == 0})
		}
		toks = append(toks, lexToken{line: int32(i), eol: true})
	}
	p := &treeParser{toks: toks, lines: lines, sink: sink}
	return p.block(nil)
}

type treeParser struct {
	toks  []lexToken
	lines []rawLine
	i     int
	sink  *diagSink
}

func (p *treeParser) pos(t lexToken) Pos { return p.lines[t.line].pos }

func isBrace(t lexToken, b string) bool { return !t.eol && !t.quoted && t.text == b }

// block reads statements until the '}' closing opener (nil: the top level,
// which ends at end of input).
func (p *treeParser) block(opener *node) []*node {
	var out []*node
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		switch {
		case t.eol:
			p.i++
			continue
		case isBrace(t, "}"):
			p.i++
			if opener == nil {
				p.sink.errorf(p.pos(t), "unexpected '}' with no block open")
				continue
			}
			return out
		case isBrace(t, "{"):
			p.i++
			p.sink.errorf(p.pos(t), "unexpected '{' without a keyword before it")
			p.block(&node{pos: p.pos(t), key: "{"}) // skip the stray block
			continue
		}
		n := &node{pos: p.pos(t), key: t.text}
		if t.first && !t.quoted {
			n.rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p.lines[t.line].text), t.text))
		}
		p.i++
		start := p.i
		for p.i < len(p.toks) {
			a := p.toks[p.i]
			if a.eol || isBrace(a, "{") || isBrace(a, "}") {
				break
			}
			p.i++
		}
		if p.i > start {
			n.args = make([]string, p.i-start)
			for k := range n.args {
				n.args[k] = p.toks[start+k].text
			}
		}
		if p.opensBlock() {
			n.hasBlock = true
			n.children = p.block(n)
		}
		out = append(out, n)
	}
	if opener != nil {
		p.sink.errorf(opener.pos, "unclosed '{' of %s (no matching '}' before the end of the configuration)", opener.key)
	}
	return out
}

// opensBlock consumes a '{' that follows on this line or starts the next.
func (p *treeParser) opensBlock() bool {
	if p.i >= len(p.toks) {
		return false
	}
	t := p.toks[p.i]
	if isBrace(t, "{") {
		p.i++
		return true
	}
	if t.eol && p.i+1 < len(p.toks) && isBrace(p.toks[p.i+1], "{") {
		p.i += 2
		return true
	}
	return false
}
