package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where named namespaces are bind-mounted, as by `ip netns add`.
const netnsDir = "/run/netns"

// lockPath serialises, between test processes, the setup of netnsDir and
// the reaping of leftovers.
const lockPath = "/run/tandem-lab.lock"

// withLock runs fn holding the exclusive flock on lockPath.
func withLock(fn func() error) error {
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", lockPath, err)
	}
	defer lock.Close() // releases the lock
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lockPath, err)
	}
	return fn()
}

// ensureNetnsDir makes netnsDir a shared mount point, as iproute2 does. Then
// deleting a namespace also unmounts the copies of its bind mount held by the
// private mount namespaces of processes started with `ip netns exec`, which
// would otherwise keep it alive.
func ensureNetnsDir() error { return withLock(ensureNetnsDirLocked) }

func ensureNetnsDirLocked() error {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", netnsDir, err)
	}
	err := unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind mount %s: %w", netnsDir, err)
		}
		err = unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s shared: %w", netnsDir, err)
	}
	return nil
}

// createNetns creates the network namespace /run/netns/name and returns a
// handle to it. The namespace is made on a throw-away OS thread, so no thread
// of the caller ever changes namespace.
func createNetns(name string) (netns.NsHandle, error) {
	path := filepath.Join(netnsDir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return netns.None(), fmt.Errorf("create netns %s: %w", name, err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread is put back in its namespace and unlocked afterwards.
		// Letting it exit instead would kill every child process forked
		// from it earlier: Pdeathsig fires when the parent *thread* exits.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("get current netns: %w", err)
			return // nothing changed, but the thread is discarded anyway
		}
		defer orig.Close()
		err = unix.Unshare(unix.CLONE_NEWNET)
		if err == nil {
			self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
			if merr := unix.Mount(self, path, "none", unix.MS_BIND, ""); merr != nil {
				err = fmt.Errorf("bind mount: %w", merr)
			}
		} else {
			err = fmt.Errorf("unshare: %w", err)
		}
		if serr := netns.Set(orig); serr != nil {
			// Stay locked: the thread is discarded rather than reused
			// in the wrong namespace.
			errc <- errors.Join(err, fmt.Errorf("restore netns: %w", serr))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return netns.None(), fmt.Errorf("create netns %s: %w", name, err)
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		deleteNetns(name)
		return netns.None(), fmt.Errorf("open netns %s: %w", name, err)
	}
	return ns, nil
}

// deleteNetns removes /run/netns/name. The kernel frees the namespace, and
// its interfaces, once no process or open handle refers to it.
func deleteNetns(name string) error {
	path := filepath.Join(netnsDir, name)
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete netns %s: unmount: %w", name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}

// doIn runs fn on an OS thread switched into ns, restoring the thread's
// namespace afterwards. A panic in fn is re-raised in the caller.
func doIn(ns netns.NsHandle, fn func() error) error {
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- result{err: fmt.Errorf("get current netns: %w", err)}
			return // the locked thread dies with the goroutine
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			done <- result{err: fmt.Errorf("enter netns: %w", err)}
			return
		}
		var r result
		func() {
			defer func() { r.panic = recover() }()
			r.err = fn()
		}()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked so it is discarded, never reused
			// in the wrong namespace.
			done <- result{err: errors.Join(r.err, fmt.Errorf("restore netns: %w", err)), panic: r.panic}
			return
		}
		runtime.UnlockOSThread()
		done <- r
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// nsID identifies a namespace by the device and inode of its nsfs file.
type nsID struct{ dev, ino uint64 }

// nsIDOf returns the nsID of the namespace file at path.
func nsIDOf(path string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, err
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}

// procsIn returns the pids of the processes (other than this one) whose
// network namespace is one of ids.
func procsIn(ids map[nsID]bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		id, err := nsIDOf("/proc/" + e.Name() + "/ns/net")
		if err == nil && ids[id] {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killProcsIn SIGKILLs every process in the namespaces ids and waits until
// none is left, or timeout.
func killProcsIn(ids map[nsID]bool, timeout time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		pids := procsIn(ids)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still running in the lab's namespaces", pids)
		}
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pidAlive reports whether pid is a live (not zombie) process.
func pidAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself
	// contain ") ".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// killGroup sends sig to process group pgid; a group already gone is not an
// error.
func killGroup(pgid int, sig syscall.Signal) error {
	if err := unix.Kill(-pgid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", pgid, err)
	}
	return nil
}
