package config

import (
	"errors"
	"fmt"
	"strings"
)

// token is one word of a configuration line.
type token struct {
	text   string
	quoted bool // any part was quoted: '{' in quotes is a word, not a brace
}

// tokenizeInto appends the words of a logical line to toks, split as
// keepalived's parser does: white space separates words, "..." is one word taken verbatim (no
// escapes; a single quote is an ordinary character here), and unquoted
// '{' and '}' are words of their own. Script lines are split further into
// an argv by splitScript, which knows both quote kinds and escapes.
func tokenizeInto(toks []token, line string) ([]token, error) {
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '{' || c == '}':
			toks = append(toks, token{text: string(c)})
			i++
		case c == '"':
			end := strings.IndexByte(line[i+1:], '"')
			if end < 0 {
				return toks, errUnterminated
			}
			toks = append(toks, token{text: line[i+1 : i+1+end], quoted: true})
			i += end + 2
		default:
			j := i
			for j < len(line) && !isDelim(line[j]) {
				j++
			}
			toks = append(toks, token{text: line[i:j]})
			i = j
		}
	}
	return toks, nil
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '{', '}', '"':
		return true
	}
	return false
}

var errUnterminated = errors.New("unterminated quoted string")

// splitScript splits a script command line into an argv the way
// keepalived does for scripts: white space separates arguments, '...' and
// "..." group, and backslash escapes (\n, \t, \xHH, \NNN, \cC, \C) work.
func splitScript(s string) ([]string, error) {
	var args []string
	var b strings.Builder
	inWord := false
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if q == 0 && (c == ' ' || c == '\t') {
			if inWord {
				args = append(args, b.String())
				b.Reset()
				inWord = false
			}
			continue
		}
		inWord = true
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return args, errors.New("missing escaped character at end of script")
			}
			i = unescape(s, i+1, &b)
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '"' || c == '\''):
			q = c
		default:
			b.WriteByte(c)
		}
	}
	if q != 0 {
		return args, fmt.Errorf("missing terminating %c in script", q)
	}
	if inWord {
		args = append(args, b.String())
	}
	return args, nil
}

// unescape writes the escape sequence starting at s[i] (just after the
// backslash) and returns the index of its last character.
func unescape(s string, i int, b *strings.Builder) int {
	switch e := s[i]; e {
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'E':
		b.WriteByte(0x1b)
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'v':
		b.WriteByte('\v')
	case 'c':
		if i+1 < len(s) {
			i++
			b.WriteByte(s[i] & 0x1f)
		} else {
			b.WriteByte('c')
		}
	case 'x':
		if i+1 < len(s) && isHex(s[i+1]) {
			v := 0
			for n := 0; n < 2 && i+1 < len(s) && isHex(s[i+1]); n++ {
				i++
				v = v*16 + hexVal(s[i])
			}
			b.WriteByte(byte(v))
		} else {
			b.WriteByte('x')
		}
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v := int(e - '0')
		for n := 1; n < 3 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; n++ {
			i++
			v = v*8 + int(s[i]-'0')
		}
		b.WriteByte(byte(v))
	default:
		b.WriteByte(e)
	}
	return i
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

// quote renders s as one configuration word, in double quotes when it
// holds white space, braces or comment characters, so that tokenize gives
// s back. A word cannot hold a double quote (keepalived's parser has no
// way to write one), so none is produced.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t{}#!\\\"") && !strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "~") && !strings.HasPrefix(s, "$") {
		return s
	}
	return `"` + s + `"`
}
