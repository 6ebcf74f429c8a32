//go:build linux

package vrrp

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// WatchLinks implements LinkWatcher with an RTNLGRP_LINK subscription.
func (n *SystemNetwork) WatchLinks(ctx context.Context, fn func(name string, up bool)) error {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	errc := make(chan error, 1)
	err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
		ListExisting: true,
		ErrorCallback: func(err error) {
			select {
			case errc <- err:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("vrrp: subscribe to link updates: %w", err)
	}
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-ch:
				if !ok {
					return
				}
				name := u.Attrs().Name
				if u.Header.Type == unix.RTM_DELLINK {
					fn(name, false)
					continue
				}
				fl := u.IfInfomsg.Flags
				fn(name, fl&unix.IFF_UP != 0 && fl&unix.IFF_RUNNING != 0)
			case err := <-errc:
				_ = err // the subscription goes on; a lost update is fixed by the next one
			}
		}
	}()
	return nil
}
