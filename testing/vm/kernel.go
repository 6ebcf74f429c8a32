package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultPackage is the kernel package booted: what linux-image-amd64
// depends on in Debian 12 when this was written.
const DefaultPackage = "linux-image-6.1.0-56-amd64"

// Kernel is an unpacked kernel package.
type Kernel struct {
	// Version is the module directory name, e.g. 6.1.0-56-amd64.
	Version string
	// Image is the file QEMU boots: vmlinux when it could be extracted,
	// else the bzImage.
	Image string
	// Root is where the package was unpacked.
	Root string
	// Cache is the cache directory.
	Cache string
}

// Options configure PrepareKernel.
type Options struct {
	// Cache is the cache directory; default $TANDEM_CACHE, else
	// ~/.cache/tandem.
	Cache string
	// Package is the kernel package; default DefaultPackage.
	Package string
	// Log receives progress messages; nil discards them.
	Log io.Writer
}

// CacheDir returns the default cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("TANDEM_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "tandem"), nil
}

// Available reports what the host lacks to boot a VM, or nil.
func Available() error {
	var missing []string
	for _, p := range []string{"qemu-system-x86_64", "apt-get", "dpkg"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := staticBusybox(); err != nil {
		missing = append(missing, "a static busybox (busybox-static)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("vm: host lacks %s", strings.Join(missing, ", "))
	}
	return nil
}

// PrepareKernel downloads and unpacks the kernel package, reusing the
// cache.
func PrepareKernel(ctx context.Context, o Options) (*Kernel, error) {
	if o.Cache == "" {
		d, err := CacheDir()
		if err != nil {
			return nil, fmt.Errorf("vm: cache directory: %w", err)
		}
		o.Cache = d
	}
	if o.Package == "" {
		o.Package = DefaultPackage
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir := filepath.Join(o.Cache, "kernel")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	root := filepath.Join(dir, o.Package)
	if _, err := os.Stat(filepath.Join(root, ".complete")); err != nil {
		deb, err := download(ctx, dir, o.Package, o.Log)
		if err != nil && o.Package == DefaultPackage {
			// Debian drops superseded kernels at point releases: boot
			// whatever linux-image-amd64 depends on now instead.
			if cur, rerr := currentKernelPackage(ctx); rerr == nil && cur != o.Package {
				fmt.Fprintf(o.Log, "vm: %s is not available (%v); using %s\n", o.Package, err, cur)
				o.Package = cur
				root = filepath.Join(dir, o.Package)
				if _, serr := os.Stat(filepath.Join(root, ".complete")); serr == nil {
					deb, err = "", nil // unpacked by an earlier run
				} else {
					deb, err = download(ctx, dir, o.Package, o.Log)
				}
			}
		}
		if err != nil {
			return nil, err
		}
		if deb != "" {
			os.RemoveAll(root)
			fmt.Fprintf(o.Log, "vm: unpacking %s\n", filepath.Base(deb))
			if out, err := exec.CommandContext(ctx, "dpkg", "-x", deb, root).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("vm: dpkg -x %s: %v: %s", deb, err, out)
			}
			if err := os.WriteFile(filepath.Join(root, ".complete"), nil, 0o644); err != nil {
				return nil, fmt.Errorf("vm: %w", err)
			}
		}
	}
	k := &Kernel{Root: root, Cache: o.Cache}
	mods, err := os.ReadDir(filepath.Join(root, "lib", "modules"))
	if err != nil || len(mods) != 1 {
		return nil, fmt.Errorf("vm: %s: want one directory in lib/modules (%v)", root, err)
	}
	k.Version = mods[0].Name()
	bz := filepath.Join(root, "boot", "vmlinuz-"+k.Version)
	k.Image = bz
	vmlinux := filepath.Join(root, "vmlinux")
	if _, err := os.Stat(vmlinux); err == nil {
		k.Image = vmlinux
	} else if err := extractVmlinux(ctx, bz, vmlinux); err != nil {
		fmt.Fprintf(o.Log, "vm: booting the bzImage (slower): %v\n", err)
	} else {
		k.Image = vmlinux
	}
	return k, nil
}

// download fetches the package's .deb into dir (kept as the cache), running
// apt-get update once if apt does not know the package.
func download(ctx context.Context, dir, pkg string, log io.Writer) (string, error) {
	if m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb")); len(m) > 0 {
		return m[0], nil
	}
	get := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", "download", pkg)
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	fmt.Fprintf(log, "vm: apt-get download %s\n", pkg)
	out, err := get()
	if err != nil {
		fmt.Fprintf(log, "vm: apt-get update\n")
		if o, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
			return "", fmt.Errorf("vm: apt-get update: %v: %s", err, o)
		}
		out, err = get()
	}
	if err != nil {
		return "", fmt.Errorf("vm: apt-get download %s: %v: %s", pkg, err, out)
	}
	m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(m) == 0 {
		return "", fmt.Errorf("vm: apt-get download %s left no .deb in %s", pkg, dir)
	}
	return m[0], nil
}

// extractVmlinux decompresses the xz payload of a bzImage. The payload
// uses the x86 BCJ filter, which only xz (not busybox's unxz) undoes.
func extractVmlinux(ctx context.Context, bz, out string) error {
	data, err := os.ReadFile(bz)
	if err != nil {
		return err
	}
	i := bytes.Index(data, []byte("\xfd7zXZ\x00"))
	if i < 0 {
		return errors.New("no xz payload in " + bz)
	}
	if _, err := exec.LookPath("xz"); err != nil {
		return errors.New("xz (xz-utils) is not installed")
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	cmd := exec.CommandContext(ctx, "xz", "-dc", "--single-stream")
	cmd.Stdin = bytes.NewReader(data[i:])
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("xz -d: %v: %s", err, stderr.Bytes())
	}
	if !isELF(tmp) {
		return errors.New("payload is not an ELF vmlinux")
	}
	return os.Rename(tmp, out)
}

// lock takes an exclusive flock on path, so that test processes running
// in parallel share one download.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("vm: lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func isELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	_, err = io.ReadFull(f, b[:])
	return err == nil && string(b[:]) == "\x7fELF"
}

// currentKernelPackage returns the kernel package linux-image-amd64
// depends on, e.g. linux-image-6.1.0-56-amd64.
func currentKernelPackage(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return "", fmt.Errorf("vm: apt-cache depends linux-image-amd64: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("vm: linux-image-amd64 depends on no linux-image package")
}
