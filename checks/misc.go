package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MiscKillGrace is how long a timed-out script's process group has
// between SIGTERM and SIGKILL, as in keepalived.
const MiscKillGrace = 2 * time.Second

// miscOutputMax bounds the script output kept for the reason.
const miscOutputMax = 4 << 10

// MiscSpec configures a MISC_CHECK.
type MiscSpec struct {
	// Path is misc_path: the program and its arguments, split like
	// keepalived does (see SplitArgs) and run without a shell.
	Path string
	// Timeout is misc_timeout (keepalived defaults it to delay_loop).
	// Zero means only the Probe context bounds the script.
	Timeout time.Duration
	// Dynamic is misc_dynamic: exit 2-255 means up with weight exit−2.
	Dynamic bool
	// User and Group run the script as that user (and group, else the
	// user's primary group); names or numeric ids. Empty means as tandem.
	User  string
	Group string
	// KillGrace overrides MiscKillGrace when non-zero.
	KillGrace time.Duration
}

// Misc is a MISC_CHECK.
type Misc struct {
	spec MiscSpec
	args []string
}

// NewMisc splits spec.Path into arguments.
func NewMisc(spec MiscSpec) (*Misc, error) {
	args, err := SplitArgs(spec.Path)
	if err != nil {
		return nil, fmt.Errorf("misc_path: %w", err)
	}
	if len(args) == 0 {
		return nil, errors.New("misc_path is empty")
	}
	if spec.KillGrace == 0 {
		spec.KillGrace = MiscKillGrace
	}
	return &Misc{spec: spec, args: args}, nil
}

// Args returns the split command line.
func (m *Misc) Args() []string { return append([]string(nil), m.args...) }

// Probe runs the script in its own process group and maps its exit
// status as keepalived does: 0 up; with misc_dynamic 2-255 up with
// Weight = status−2; anything else down. On timeout the group gets
// SIGTERM, then SIGKILL after the grace period; a script killed that way
// fails. Output goes to a pipe whose last line is quoted in failure
// reasons; a background child holding that pipe open does not delay the
// result.
func (m *Misc) Probe(ctx context.Context) Result {
	name := m.args[0]
	cmd := exec.Command(m.args[0], m.args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if m.spec.User != "" {
		cred, err := lookupCredential(m.spec.User, m.spec.Group)
		if err != nil {
			return fail("MISC_CHECK %s: %s", name, err)
		}
		cmd.SysProcAttr.Credential = cred
	}
	out := &tailBuffer{max: miscOutputMax}
	cmd.Stdout, cmd.Stderr = out, out
	// After the script exits, stop waiting for a background child that
	// inherited the output pipe.
	cmd.WaitDelay = 100 * time.Millisecond

	if err := cmd.Start(); err != nil {
		return fail("MISC_CHECK %s: start: %s", name, unwrapExec(err))
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var timer <-chan time.Time
	if m.spec.Timeout > 0 {
		t := time.NewTimer(m.spec.Timeout)
		defer t.Stop()
		timer = t.C
	}
	var why string
	select {
	case err := <-done:
		return m.judge(name, cmd.ProcessState, err, out)
	case <-timer:
		why = "killed after misc_timeout " + m.spec.Timeout.String()
	case <-ctx.Done():
		why = "killed: " + context.Cause(ctx).Error()
	}
	// Timed out: SIGTERM the group, SIGKILL it after the grace period,
	// and SIGKILL it anyway once the leader is gone so no child survives.
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(m.spec.KillGrace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	return fail("MISC_CHECK %s %s", name, why)
}

func (m *Misc) judge(name string, ps *os.ProcessState, waitErr error, out *tailBuffer) Result {
	if ps == nil {
		return fail("MISC_CHECK %s: %s", name, waitErr)
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return fail("MISC_CHECK %s killed by signal %s%s", name, ws.Signal(), out.suffix())
	}
	code := ws.ExitStatus()
	switch {
	case code == 0:
		return Result{OK: true, Reason: "MISC_CHECK " + name + " exited 0"}
	case m.spec.Dynamic && code >= 2:
		w := code - 2
		return Result{OK: true, Weight: &w, Reason: fmt.Sprintf("MISC_CHECK %s exited %d: weight %d", name, code, w)}
	}
	return fail("MISC_CHECK %s exited %d%s", name, code, out.suffix())
}

func unwrapExec(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// lookupCredential resolves "user [group]" like keepalived: the group
// defaults to the user's primary group and is the only supplementary one.
func lookupCredential(userName, groupName string) (*syscall.Credential, error) {
	u, err := user.Lookup(userName)
	if err != nil {
		if u, err = user.LookupId(userName); err != nil {
			return nil, fmt.Errorf("user %s: %w", userName, err)
		}
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			if g, err = user.LookupGroupId(groupName); err != nil {
				return nil, fmt.Errorf("group %s: %w", groupName, err)
			}
		}
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

// suffix is ": <last output line>" or "".
func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(t.b), []byte("\n"))
	last := strings.TrimSpace(string(lines[len(lines)-1]))
	if last == "" {
		return ""
	}
	return ": " + truncate(last, 200)
}

// SplitArgs splits a script command line as keepalived does: unquoted
// blanks separate words, single or double quotes group (and may be
// adjacent to other text), and a backslash escapes the next character,
// also inside quotes, with C escapes \n \t \r \a \b \f \v \E, \xHH, \cX
// and octal \NNN.
func SplitArgs(s string) ([]string, error) {
	var (
		words []string
		cur   []byte
		in    bool // inside a word
		quote byte
	)
	blank := func(c byte) bool { return strings.IndexByte(" \t\n\r\f\v", c) >= 0 }
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i >= len(s) {
				return nil, fmt.Errorf("%q: trailing backslash", s)
			}
			b, n := unescape(s[i:])
			cur = append(cur, b)
			i += n - 1
			in = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur = append(cur, c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case blank(c):
			if in {
				words = append(words, string(cur))
				cur, in = cur[:0], false
			}
		default:
			cur = append(cur, c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q: missing terminating %c", s, quote)
	}
	if in {
		words = append(words, string(cur))
	}
	return words, nil
}

// unescape decodes the escape at the start of s (after the backslash),
// returning the byte and how many characters of s it used.
func unescape(s string) (byte, int) {
	hexv := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	c := s[0]
	switch {
	case c == 'x' && len(s) > 1:
		if _, ok := hexv(s[1]); ok {
			var v byte
			n := 1
			for n < len(s) {
				d, ok := hexv(s[n])
				if !ok {
					break
				}
				v = v<<4 | d
				n++
			}
			return v, n
		}
	case c == 'c' && len(s) > 1:
		return s[1] & 0x1f, 2
	case c >= '0' && c <= '7':
		v, n := c-'0', 1
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v<<3 | (s[n] - '0')
			n++
		}
		return v, n
	}
	if r, ok := map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}[c]; ok {
		return r, 1
	}
	return c, 1
}
