//go:build !linux

package lvs

import "errors"

// ErrNoIPVS is returned by OpenKernel on a kernel without IPVS.
var ErrNoIPVS = errors.New("kernel has no IPVS: IPVS exists only on Linux")

// KernelHandle is the kernel's IPVS table; only Linux has one.
type KernelHandle struct{ FakeHandle }

// OpenKernel fails: IPVS exists only on Linux.
func OpenKernel(string) (*KernelHandle, error) { return nil, ErrNoIPVS }

// Close does nothing.
func (k *KernelHandle) Close() error { return nil }
