package vrrp

import (
	"errors"
	"log/slog"
	"os"
	"os/user"
	"syscall"

	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/vrrp/script"
)

// scriptEnv decides, as keepalived does from global_defs script_user and
// enable_script_security, who a configured script runs as and whether it
// may run at all.
type scriptEnv struct {
	log       *slog.Logger
	root      bool
	secure    bool
	defCred   *syscall.Credential // nil: run as ourselves
	defUser   string
	warnedSV  bool
	noDefault bool // script_user unset and keepalived_script missing
}

func newScriptEnv(g *config.GlobalDefs, log *slog.Logger) *scriptEnv {
	e := &scriptEnv{log: log, root: os.Geteuid() == 0, secure: g.EnableScriptSecurity}
	name, group := g.ScriptUser.User, g.ScriptUser.Group
	if name == "" {
		if _, err := user.Lookup(script.DefaultUser); err != nil {
			e.noDefault = true
			return e
		}
		name = script.DefaultUser
	}
	c, err := script.Credential(name, group)
	if err != nil {
		log.Error("vrrp: script_user: "+err.Error()+", scripts run as root", "user", name)
		return e
	}
	e.defCred, e.defUser = c, name
	return e
}

// prepare returns the command of s (a Script with its own user, if any)
// or an error saying why keepalived would refuse it; nil s is not an error.
func (e *scriptEnv) prepare(s *config.Script, what string) (*script.Cmd, error) {
	if s == nil || len(s.Args) == 0 {
		return nil, nil
	}
	return e.prepareArgs(s.Args, s.User, s.Group, what)
}

func (e *scriptEnv) prepareArgs(args []string, usr, group, what string) (*script.Cmd, error) {
	c := &script.Cmd{Args: args, Cred: e.defCred}
	if e.noDefault && usr == "" {
		e.noDefault = false
		e.log.Warn("WARNING - default user '" + script.DefaultUser + "' for script execution does not exist - please create.")
	}
	if usr != "" {
		cred, err := script.Credential(usr, group)
		if err != nil {
			return nil, err
		}
		c.Cred = cred
	}
	if e.root && e.secure {
		// Whoever runs it, a script a non-root user can change is refused.
		if err := script.CheckSecure(args[0]); err != nil {
			e.log.Error("Unsafe permissions found for script '"+args[0]+"' - disabling.", "script", what, "why", err)
			return nil, errors.New("unsafe permissions: " + err.Error())
		}
	} else if e.root && (c.Cred == nil || c.Cred.Uid == 0) && !e.warnedSV {
		e.warnedSV = true
		e.log.Warn("SECURITY VIOLATION - scripts are being executed but script_security not enabled.")
	}
	if _, err := os.Stat(args[0]); err != nil {
		e.log.Error("Disabling "+what+" since not found/accessible", "script", args[0], "err", err)
		return nil, err
	}
	return c, nil
}

func credentialOf(name, group string) (*syscall.Credential, error) {
	return script.Credential(name, group)
}
