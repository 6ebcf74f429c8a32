//go:build !linux

package vrrp

import (
	"errors"
	"log/slog"
)

// SystemNetwork is the Network of a real host; only Linux has one.
type SystemNetwork struct{ Network }

// NewSystemNetwork fails: VRRP needs Linux raw sockets and netlink.
func NewSystemNetwork(log *slog.Logger) (*SystemNetwork, error) {
	return nil, errors.New("vrrp: only supported on Linux")
}

// Close does nothing.
func (n *SystemNetwork) Close() error { return nil }

// Malformed returns 0.
func (n *SystemNetwork) Malformed() uint64 { return 0 }

// Overflow returns 0.
func (n *SystemNetwork) Overflow() uint64 { return 0 }
