package config

// node is one statement of the configuration: a keyword, its arguments,
// and, for sections, the statements of its { } block.
type node struct {
	pos      Pos
	key      string
	args     []string
	quoted   []bool // per argument: it was written in double quotes
	hasBlock bool
	children []*node
	blockEnd Pos // where the block's '}' was
}

// argLine is the keyword and its arguments as one string, for list entries
// such as "192.168.1.1/24 dev eth0".
func (n *node) words() []string {
	out := make([]string, 0, 1+len(n.args))
	out = append(out, n.key)
	return append(out, n.args...)
}

type posToken struct {
	token
	pos Pos
	eol bool // a line boundary
}

// buildTree turns logical lines into statements. A statement runs to the
// end of its line; a '{' on the same or the next line opens its block,
// and a '}' anywhere closes the innermost block.
func buildTree(lines []rawLine, sink *diagSink) []*node {
	toks := make([]posToken, 0, len(lines)*4)
	for _, l := range lines {
		ts, err := tokenize(l.text)
		if err != nil {
			sink.errorf(l.pos, "%v", err)
		}
		for _, t := range ts {
			toks = append(toks, posToken{token: t, pos: l.pos})
		}
		toks = append(toks, posToken{pos: l.pos, eol: true})
	}
	p := &treeParser{toks: toks, sink: sink}
	root := p.block(nil)
	return root
}

type treeParser struct {
	toks []posToken
	i    int
	sink *diagSink
}

func (p *treeParser) peek() (posToken, bool) {
	if p.i >= len(p.toks) {
		return posToken{}, false
	}
	return p.toks[p.i], true
}

func isBrace(t posToken, b string) bool { return !t.eol && !t.quoted && t.text == b }

// block reads statements until the '}' closing opener (nil: the top level,
// which ends at end of input).
func (p *treeParser) block(opener *node) []*node {
	var out []*node
	for {
		t, ok := p.peek()
		if !ok {
			if opener != nil {
				p.sink.errorf(opener.pos, "unclosed '{' of %s (no matching '}' before the end of the configuration)", opener.key)
			}
			return out
		}
		switch {
		case t.eol:
			p.i++
			continue
		case isBrace(t, "}"):
			p.i++
			if opener == nil {
				p.sink.errorf(t.pos, "unexpected '}' with no block open")
				continue
			}
			opener.blockEnd = t.pos
			return out
		case isBrace(t, "{"):
			p.i++
			p.sink.errorf(t.pos, "unexpected '{' without a keyword before it")
			anon := &node{pos: t.pos, key: "{"}
			p.block(anon) // skip the stray block
			continue
		}
		n := &node{pos: t.pos, key: t.text}
		p.i++
		for {
			t, ok := p.peek()
			if !ok || t.eol || isBrace(t, "{") || isBrace(t, "}") {
				break
			}
			n.args = append(n.args, t.text)
			n.quoted = append(n.quoted, t.quoted)
			p.i++
		}
		if p.opensBlock() {
			n.hasBlock = true
			n.children = p.block(n)
		}
		out = append(out, n)
	}
}

// opensBlock consumes a '{' that follows on this line or starts the next.
func (p *treeParser) opensBlock() bool {
	t, ok := p.peek()
	if !ok {
		return false
	}
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
