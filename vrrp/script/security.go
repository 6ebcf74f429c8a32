package script

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// CheckSecure implements enable_script_security for a daemon running as
// root: it returns an error unless path and every directory above it are
// writable only by root (owner root, and no group or other write bit unless
// the group is root's). A script anyone else could change would run as
// root.
func CheckSecure(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("script %q: not an absolute path", path)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	for p := resolved; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no ownership information", p)
		}
		mode := fi.Mode().Perm()
		sticky := fi.Mode()&os.ModeSticky != 0 && fi.IsDir()
		switch {
		case st.Uid != 0 && mode&0o200 != 0:
			return fmt.Errorf("%s is writable by uid %d", p, st.Uid)
		case st.Gid != 0 && mode&0o020 != 0 && !sticky:
			return fmt.Errorf("%s is writable by gid %d", p, st.Gid)
		case mode&0o002 != 0 && !sticky:
			return fmt.Errorf("%s is writable by everyone", p)
		}
		if p == "/" {
			return nil
		}
	}
}
