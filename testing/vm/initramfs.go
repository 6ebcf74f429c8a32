package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BaseModules are what every guest needs: virtio PCI and 9p for the shared
// folder.
var baseModules = []string{"virtio_pci", "9pnet_virtio", "9p"}

// initScript is the guest's /init. It mounts the shared folder, runs
// run.sh there with the console as output and writes its exit status back
// as exit_status.
const initScript = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /mnt /sbin /usr/bin /usr/sbin /run
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
# moby/ipvs runs modprobe once; the modules are already loaded.
rm -f /sbin/modprobe
printf '#!/bin/sh\nexit 0\n' > /sbin/modprobe
chmod +x /sbin/modprobe
for m in $(cat /modules.order); do
	insmod /lib/modules/$m.ko || echo "tandem-vm: insmod $m failed"
done
ip link set lo up
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share /mnt; then
	echo "tandem-vm: cannot mount the shared folder"
	poweroff -f
fi
cd /mnt
echo "tandem-vm: kernel $(uname -r) up, running run.sh"
sh /mnt/run.sh
echo $? > /mnt/exit_status
sync
poweroff -f
`

func staticBusybox() (string, error) {
	p, err := exec.LookPath("busybox")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("file", "-L", p).Output()
	if err == nil && !bytes.Contains(out, []byte("statically linked")) {
		return "", fmt.Errorf("%s is not statically linked (install busybox-static)", p)
	}
	return p, nil
}

// Initramfs builds (or reuses from the cache) an initramfs that loads
// modules (with their dependencies, after the base virtio and 9p ones)
// and runs the shared folder's run.sh.
func (k *Kernel) Initramfs(ctx context.Context, modules []string) (string, error) {
	mods, err := k.Modules(ctx, append(append([]string{}, baseModules...), modules...))
	if err != nil {
		return "", err
	}
	bb, err := staticBusybox()
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	h := sha256.New()
	fmt.Fprintln(h, initScript, k.Version, bb)
	for _, m := range mods {
		fmt.Fprintln(h, m.Name)
	}
	out := filepath.Join(k.Cache, "kernel", "initramfs-"+k.Version+"-"+hex.EncodeToString(h.Sum(nil))[:12]+".cpio")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}

	stage, err := os.MkdirTemp("", "tandem-initramfs-")
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	defer os.RemoveAll(stage)
	for _, d := range []string{"bin", "lib/modules"} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			return "", fmt.Errorf("vm: %w", err)
		}
	}
	bbData, err := os.ReadFile(bb)
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	files := map[string][]byte{"bin/busybox": bbData, "init": []byte(initScript)}
	var order []string
	for _, m := range mods {
		img, err := moduleBytes(ctx, m.Path)
		if err != nil {
			return "", fmt.Errorf("vm: %w", err)
		}
		files["lib/modules/"+m.Name+".ko"] = img
		order = append(order, m.Name)
	}
	files["modules.order"] = []byte(strings.Join(order, "\n") + "\n")
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(stage, name), data, 0o755); err != nil {
			return "", fmt.Errorf("vm: %w", err)
		}
	}
	// busybox cpio reads the file list on stdin, like cpio -o.
	cmd := exec.CommandContext(ctx, bb, "sh", "-c", "find . | busybox cpio -o -H newc")
	cmd.Dir = stage
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bb)+":"+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("vm: busybox cpio: %v: %s", err, stderr.Bytes())
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	if err := os.WriteFile(tmp, stdout.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	return out, os.Rename(tmp, out)
}
