package vrrp

import "net/netip"

// ConnOptions say how an instance's conn sends.
type ConnOptions struct {
	// Src is the source address of adverts: mcast_src_ip or
	// unicast_src_ip. Invalid means the interface's primary IPv4 address.
	Src netip.Addr
	// NotPrimary lists addresses never taken as the interface's primary
	// address (the VIPs of the configuration).
	NotPrimary []netip.Addr
}

// Conn is a PacketConn that must be closed when its instance is done.
type Conn interface {
	PacketConn
	// Close detaches the instance; the shared socket is closed with its
	// last instance.
	Close() error
}

// Network is the I/O a Manager gives its instances: on Linux,
// SystemNetwork (raw sockets, netlink, AF_PACKET).
type Network interface {
	// Open returns the conn of the instance cfg.
	Open(cfg InstanceConfig, opts ConnOptions) (Conn, error)
	// Addrs adds and removes VIPs.
	Addrs() AddrSpecManager
	// ARP sends gratuitous ARPs.
	ARP() ARPSender
}
