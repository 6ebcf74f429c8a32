package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// RunOptions configure Run.
type RunOptions struct {
	Kernel *Kernel
	// Initramfs is from Kernel.Initramfs.
	Initramfs string
	// Share is the host folder the guest sees as its working directory.
	Share string
	// Script is the shell script run in the guest (written to
	// Share/run.sh); its output goes to the console.
	Script string
	// Console receives the guest's console output line by line; nil
	// discards it.
	Console io.Writer
	// MemoryMB is the guest's memory; default 512.
	MemoryMB int
}

// Run boots the kernel, runs the script and returns its exit status. It
// fails when the guest stops without reporting one (a panic, a failed
// mount) or when ctx ends first, in which case QEMU is killed.
func Run(ctx context.Context, o RunOptions) (int, error) {
	if o.MemoryMB == 0 {
		o.MemoryMB = 512
	}
	if o.Console == nil {
		o.Console = io.Discard
	}
	status := filepath.Join(o.Share, "exit_status")
	os.Remove(status)
	if err := os.WriteFile(filepath.Join(o.Share, "run.sh"), []byte(o.Script), 0o755); err != nil {
		return 0, fmt.Errorf("vm: %w", err)
	}
	args := []string{
		"-accel", "tcg", "-M", "pc", "-cpu", "max", "-smp", "1", "-m", strconv.Itoa(o.MemoryMB),
		"-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio",
		"-kernel", o.Kernel.Image, "-initrd", o.Initramfs,
		"-append", "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init",
		"-virtfs", "local,path=" + o.Share + ",mount_tag=share,security_model=none,id=share",
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("vm: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("vm: start qemu: %w", err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintln(o.Console, strings.TrimRight(sc.Text(), "\r"))
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("vm: guest did not finish: %w", ctx.Err())
	}
	if err != nil {
		return 0, fmt.Errorf("vm: qemu: %w", err)
	}
	b, rerr := os.ReadFile(status)
	if rerr != nil {
		return 0, errors.New("vm: the guest stopped without an exit status (see its console output)")
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("vm: exit status %q: %w", b, err)
	}
	return code, nil
}
