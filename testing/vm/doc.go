// Package vm boots Debian's stock kernel under QEMU to run tests that need
// kernel features the build machine lacks (IPVS, for one).
//
// PrepareKernel fetches the kernel package with `apt-get download` (no
// install) and unpacks it with `dpkg -x` into a cache outside the
// repository (~/.cache/tandem, or $TANDEM_CACHE), then extracts the
// uncompressed vmlinux from the bzImage's xz payload: QEMU boots it through
// its PVH entry point in about 3 s under TCG instead of about 7 s. The
// package ships no modules.dep, so Kernel.Initramfs reads each module's
// depends= from its .modinfo ELF section and loads the closure in
// dependency order. The initramfs holds a static busybox as init (built
// with `busybox cpio`, as the build machine has no cpio).
//
// Run boots the kernel with TCG (the machine's /dev/kvm cannot run a stock
// kernel), shares a host folder with the guest over 9p, runs a shell
// script there, streams the guest console to the caller and returns the
// script's exit status, which the guest writes back into the shared
// folder. A `go test -c` binary built with CGO_ENABLED=0 runs in the guest
// as is.
//
// Host requirements: qemu-system-x86_64, a static busybox (Debian's
// busybox-static), apt-get and dpkg, and xz (xz-utils) for the vmlinux
// extraction (without it the bzImage is booted). Available reports what is
// missing.
package vm
