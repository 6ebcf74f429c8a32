package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tandem-ha/tandem/config"
)

// FileCheckInterval is how often FILE_CHECK reads its file. keepalived
// watches the file with inotify and has no delay_loop, retry or warmup
// for it; reading a small file every second is as good and far simpler.
const FileCheckInterval = time.Second

// attemptSlack is added to AttemptLimit beyond what the probe bounds
// itself, so the backstop never cuts a probe that is about to report.
const attemptSlack = time.Second

// FromConfig builds one CheckDef per checker of every real server of cfg.
// Settings that the parser accepts but a checker cannot use (an
// unsupported regex option, an unsafe script under
// enable_script_security, BFD_CHECK) are returned as error diagnostics
// at the checker's FILE:LINE; such checkers are left out.
func FromConfig(cfg *config.Config) ([]CheckDef, config.Diagnostics) {
	var (
		defs  []CheckDef
		diags config.Diagnostics
		seen  = map[string]bool{}
	)
	for vi := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[vi]
		for ri := range vs.RealServers {
			rs := &vs.RealServers[ri]
			for ci := range rs.Checkers {
				chk := &rs.Checkers[ci]
				d, warn, err := buildDef(cfg, vs, rs, chk, ci+1)
				if warn != "" {
					diags = append(diags, config.Diagnostic{Pos: chk.Pos, Severity: config.Warning, Msg: warn})
				}
				if err == nil && seen[d.Key] {
					err = fmt.Errorf("%s is defined twice", d.Key)
				}
				if err != nil {
					diags = append(diags, config.Diagnostic{Pos: chk.Pos, Severity: config.Error,
						Msg: fmt.Sprintf("%s of real_server %s in virtual_server %s: %v", chk.Type, rs, vs, err)})
					continue
				}
				seen[d.Key] = true
				defs = append(defs, d)
			}
		}
	}
	return defs, diags
}

func buildDef(cfg *config.Config, vs *config.VirtualServer, rs *config.RealServer, chk *config.Checker, n int) (CheckDef, string, error) {
	d := CheckDef{
		Key:           fmt.Sprintf("%s/%s/%s#%d", vs, rs, chk.Type, n),
		VirtualServer: vs.String(),
		RealServer:    rs.String(),
		Weight:        rs.Weight,
		Type:          string(chk.Type),
		Pos:           chk.Pos.String(),
		Timing: Timing{
			DelayLoop:        chk.DelayLoop,
			ConnectTimeout:   chk.ConnectTimeout,
			Retry:            chk.Retry,
			DelayBeforeRetry: chk.DelayBeforeRetry,
			Warmup:           chk.Warmup,
			Alpha:            chk.Alpha,
		},
	}
	if d.Timing.DelayLoop <= 0 {
		d.Timing.DelayLoop = config.DefaultDelayLoop
	}
	tg := target(rs, chk)
	var (
		spec any
		warn string
		err  error
	)
	limit := chk.ConnectTimeout
	switch chk.Type {
	case config.TCPCheck:
		s := TCPSpec{Target: tg}
		spec, d.Probe = s, NewTCP(s)
		limit = 0 // connect_timeout bounds the whole probe: no backstop needed
	case config.HTTPGet, config.SSLGet:
		var s HTTPSpec
		s, err = httpSpec(cfg, vs, rs, chk, tg)
		if err == nil {
			spec = s
			d.Probe, err = NewHTTP(s)
			limit = chk.ConnectTimeout * time.Duration(max(len(s.URLs), 1))
		}
	case config.SMTPCheck:
		var specs []SMTPSpec
		specs, limit = smtpSpecs(chk, tg)
		probes := make(allOf, len(specs))
		for i, s := range specs {
			probes[i] = NewSMTP(s)
		}
		spec, d.Probe = specs, probes
		if len(specs) == 1 {
			d.Probe = probes[0]
		}
	case config.DNSCheck:
		s := DNSSpec{Target: tg, Type: chk.DNS.Type, Name: chk.DNS.Name}
		spec = s
		d.Probe, err = NewDNS(s)
	case config.UDPCheck:
		s := UDPSpec{Target: tg, Payload: chk.UDP.Payload, MinReplyLength: chk.UDP.MinReplyLength, MaxReplyLength: chk.UDP.MaxReplyLength}
		if chk.UDP.RequireReply != nil {
			s.RequireReply, s.Reply = true, *chk.UDP.RequireReply
		}
		spec = s
		d.Probe, err = NewUDP(s)
	case config.PingCheck:
		s := PingSpec{Target: tg}
		spec, d.Probe = s, NewPing(s)
	case config.MiscCheck:
		var s MiscSpec
		s, warn, err = miscSpec(cfg, chk)
		if err == nil {
			spec = s
			d.Probe, err = NewMisc(s)
			limit = s.Timeout + MiscKillGrace
		}
	case config.FileCheck:
		var s FileSpec
		s, err = fileSpec(cfg, chk)
		spec, d.Probe = s, NewFile(s)
		limit = 0
		d.Timing = Timing{DelayLoop: FileCheckInterval}
	case config.BFDCheck:
		err = fmt.Errorf("BFD_CHECK is not supported by tandem")
	default:
		err = fmt.Errorf("unknown checker type")
	}
	if err != nil {
		return d, warn, err
	}
	if limit > 0 {
		d.Timing.AttemptLimit = limit + attemptSlack
	}
	fp, _ := json.Marshal(struct {
		Type   config.CheckerType
		Timing Timing
		Spec   any
	}{chk.Type, d.Timing, spec})
	d.Fingerprint = string(fp)
	return d, warn, nil
}

// target resolves connect_ip/connect_port (default: the real server) and
// the socket options of a network checker.
func target(rs *config.RealServer, chk *config.Checker) Target {
	t := Target{
		ConnectIP:   chk.ConnectIP,
		ConnectPort: uint16(chk.ConnectPort),
		BindTo:      chk.BindTo,
		BindPort:    uint16(chk.BindPort),
		BindIf:      chk.BindIf,
		FWMark:      chk.FWMark,
		Timeout:     chk.ConnectTimeout,
	}
	if !t.ConnectIP.IsValid() {
		t.ConnectIP = rs.Addr
	}
	if t.ConnectPort == 0 {
		t.ConnectPort = uint16(rs.Port)
	}
	return t
}

func httpSpec(cfg *config.Config, vs *config.VirtualServer, rs *config.RealServer, chk *config.Checker, tg Target) (HTTPSpec, error) {
	h := chk.HTTP
	s := HTTPSpec{
		Target:      tg,
		TLS:         chk.Type == config.SSLGet,
		VirtualHost: vs.Virtualhost(rs, chk, nil),
		Protocol:    HTTPProtocol(h.HTTPProtocol),
		EnableSNI:   h.EnableSNI || h.SNIName != "",
	}
	// keepalived's SNI skips the real server's virtualhost.
	switch {
	case h.SNIName != "":
		s.SNIName = h.SNIName
	case h.Virtualhost != "":
		s.SNIName = h.Virtualhost
	default:
		s.SNIName = vs.Settings.Virtualhost
	}
	if s.TLS && cfg.SSL != nil {
		if cfg.SSL.Password != "" {
			return s, fmt.Errorf("SSL password (an encrypted key) is not supported")
		}
		s.SSL = &SSLConfig{CAFile: cfg.SSL.CA, CertFile: cfg.SSL.Certificate, KeyFile: cfg.SSL.Key}
	}
	for _, u := range h.URLs {
		cu := URL{Path: u.Path, Digest: u.Digest, VirtualHost: u.Virtualhost, Regex: u.Regex,
			RegexNoMatch: u.RegexNoMatch, RegexOptions: u.RegexOptions,
			RegexMinOffset: u.RegexMinOffset, RegexMaxOffset: u.RegexMaxOffset}
		for _, r := range u.StatusCodes {
			cu.StatusCodes = append(cu.StatusCodes, StatusRange{Lo: r.From, Hi: r.To})
		}
		s.URLs = append(s.URLs, cu)
	}
	return s, nil
}

// smtpSpecs returns one spec per host { } block (each defaulting to the
// checker's settings), or the checker's own target without any, and the
// time all of them may take.
func smtpSpecs(chk *config.Checker, tg Target) ([]SMTPSpec, time.Duration) {
	if len(chk.SMTP.Hosts) == 0 {
		return []SMTPSpec{{Target: tg, HeloName: chk.SMTP.HeloName}}, tg.Timeout
	}
	var out []SMTPSpec
	var total time.Duration
	for _, h := range chk.SMTP.Hosts {
		t := tg
		if h.ConnectIP.IsValid() {
			t.ConnectIP = h.ConnectIP
		}
		if h.ConnectPort != 0 {
			t.ConnectPort = uint16(h.ConnectPort)
		}
		if h.BindTo.IsValid() {
			t.BindTo = h.BindTo
		}
		if h.BindPort != 0 {
			t.BindPort = uint16(h.BindPort)
		}
		if h.BindIf != "" {
			t.BindIf = h.BindIf
		}
		if h.FWMark != 0 {
			t.FWMark = h.FWMark
		}
		if h.ConnectTimeout != nil {
			t.Timeout = *h.ConnectTimeout
		}
		total += t.Timeout
		out = append(out, SMTPSpec{Target: t, HeloName: chk.SMTP.HeloName})
	}
	return out, total
}

func fileSpec(cfg *config.Config, chk *config.Checker) (FileSpec, error) {
	for _, tf := range cfg.TrackFiles {
		if tf.Name != chk.File.TrackFile {
			continue
		}
		w := tf.Weight
		if chk.File.Weight != nil {
			w = *chk.File.Weight
		}
		return FileSpec{Path: tf.File, Weight: w.Weight, Reverse: w.Reverse, Dynamic: chk.File.Dynamic}, nil
	}
	return FileSpec{}, fmt.Errorf("no track_file %q is defined", chk.File.TrackFile)
}

// miscSpec resolves the script, its user (the checker's user, else the
// misc_path's, else global script_user, else keepalived_script when that
// user exists, else tandem's own) and keepalived's script security: a
// script run as root whose file or directories non-root users may
// change is refused with enable_script_security and a warning without.
func miscSpec(cfg *config.Config, chk *config.Checker) (MiscSpec, string, error) {
	m := chk.Misc
	if m.Path == nil || m.Path.Cmd == "" {
		return MiscSpec{}, "", fmt.Errorf("no misc_path")
	}
	s := MiscSpec{Path: m.Path.Cmd, Timeout: m.Timeout, Dynamic: m.Dynamic}
	if s.Timeout <= 0 {
		s.Timeout = chk.DelayLoop // keepalived's misc_timeout default
	}
	switch {
	case m.User.User != "":
		s.User, s.Group = m.User.User, m.User.Group
	case m.Path.User != "":
		s.User, s.Group = m.Path.User, m.Path.Group
	case cfg.Global.ScriptUser.User != "":
		s.User, s.Group = cfg.Global.ScriptUser.User, cfg.Global.ScriptUser.Group
	default:
		if _, err := user.Lookup("keepalived_script"); err == nil {
			s.User = "keepalived_script"
		}
	}
	uid := os.Geteuid()
	if s.User != "" {
		cred, err := lookupCredential(s.User, s.Group)
		if err != nil {
			return s, "", err
		}
		uid = int(cred.Uid)
	}
	args, err := SplitArgs(s.Path)
	if err != nil || len(args) == 0 {
		return s, "", fmt.Errorf("misc_path %q: %v", s.Path, err)
	}
	prog, err := exec.LookPath(args[0])
	if err != nil {
		// The file may be replicated to a node where the script exists;
		// here each attempt fails, with this reason, until it appears.
		return s, fmt.Sprintf("misc_path %s: %v; the check fails until it exists", args[0], unwrapExec(err)), nil
	}
	if uid != 0 {
		return s, "", nil
	}
	if err := scriptSecure(prog); err != nil {
		if cfg.Global.EnableScriptSecurity {
			return s, "", fmt.Errorf("misc_path %s would run as root: %v (enable_script_security)", prog, err)
		}
		return s, fmt.Sprintf("misc_path %s runs as root: %v; keepalived refuses this with enable_script_security", prog, err), nil
	}
	return s, "", nil
}

// scriptSecure applies keepalived's check_security to path: it and every
// directory above it must be owned by root and not writable by a
// non-root group or by others (directories with the sticky bit may be).
func scriptSecure(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	var walk []string
	for p := abs; ; p = filepath.Dir(p) {
		walk = append([]string{p}, walk...)
		if p == "/" {
			break
		}
	}
	for i, p := range walk {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		last := i == len(walk)-1
		mode := st.Mode & syscall.S_IFMT
		isDir, isReg := mode == syscall.S_IFDIR, mode == syscall.S_IFREG
		if (!last && !isDir) || (last && !isReg && mode != syscall.S_IFLNK) {
			return fmt.Errorf("%s: wrong file type", p)
		}
		if st.Uid != 0 {
			return fmt.Errorf("%s is owned by uid %d, not root", p, st.Uid)
		}
		if (isDir && st.Mode&syscall.S_ISVTX == 0) || isReg {
			if st.Gid != 0 && st.Mode&0o020 != 0 {
				return fmt.Errorf("%s is writable by group %d", p, st.Gid)
			}
			if st.Mode&0o002 != 0 {
				return fmt.Errorf("%s is writable by everyone", p)
			}
		}
	}
	return nil
}

// allOf passes only when every prober passes (SMTP_CHECK host blocks).
type allOf []Prober

func (a allOf) Probe(ctx context.Context) Result {
	var last Result
	for _, p := range a {
		if last = p.Probe(ctx); !last.OK {
			return last
		}
	}
	last.Reason = strconv.Itoa(len(a)) + " hosts passed; last: " + last.Reason
	return last
}
