package vrrp

import "context"

// LinkWatcher is implemented by Networks that can report interface state
// (SystemNetwork, through netlink). A Manager whose Network is not a
// LinkWatcher treats every tracked interface as up.
type LinkWatcher interface {
	// WatchLinks calls fn with the current state of every interface and
	// then with every change, until ctx is done. up means administratively
	// up with carrier (IFF_UP and IFF_RUNNING), what keepalived tracks.
	WatchLinks(ctx context.Context, fn func(name string, up bool)) error
}
