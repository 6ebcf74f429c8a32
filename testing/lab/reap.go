package lab

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// labName matches the namespaces of any lab and captures the owner's pid.
var labName = regexp.MustCompile(`^tlab-([0-9]+)-[0-9a-f]+-`)

// deadOwner reports whether name is a lab namespace whose test process is
// gone.
func deadOwner(name string) bool {
	m := labName.FindStringSubmatch(name)
	if m == nil {
		return false
	}
	pid, err := strconv.Atoi(m[1])
	return err == nil && !pidAlive(pid)
}

// reapLeftovers deletes the namespaces of labs whose test process died
// without tearing them down, after killing every process in them, and the
// /run/keepalived directories of their keepalived processes. Test processes
// take turns, under the lab lock.
func reapLeftovers() error {
	return withLock(reapLocked)
}

func reapLocked() error {
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var dead []string
	ids := map[nsID]bool{}
	for _, e := range entries {
		if !deadOwner(e.Name()) {
			continue
		}
		dead = append(dead, e.Name())
		if id, err := nsIDOf(filepath.Join(netnsDir, e.Name())); err == nil {
			ids[id] = true
		}
	}
	errs := []error{killProcsIn(ids, 10*time.Second)}
	for _, name := range dead {
		errs = append(errs, deleteNetns(name))
	}
	// keepalived dirs outlive their namespace when the lab's teardown
	// did not run to its end.
	kas, _ := os.ReadDir(keepalivedRunDir)
	for _, e := range kas {
		if deadOwner(e.Name()) {
			removeKeepalivedDir(e.Name())
		}
	}
	return errors.Join(errs...)
}
