//go:build linux

package vrrp

import (
	"errors"
	"log/slog"
	"sync"
)

// SystemNetwork is the Network of a real Linux host: raw sockets shared per
// interface, netlink for VIPs, AF_PACKET for gratuitous ARPs, all in the
// network namespace of the process.
type SystemNetwork struct {
	*RawNetwork
	addrs *NetlinkAddrs
	arp   *PacketARP

	vmacMu sync.Mutex
	bases  map[string]*baseState // base interfaces of VMACs
}

// NewSystemNetwork returns the Network of the host, logging to log.
func NewSystemNetwork(log *slog.Logger) (*SystemNetwork, error) {
	return &SystemNetwork{RawNetwork: NewRawNetwork(log), addrs: NewNetlinkAddrs(nil), arp: NewPacketARP()}, nil
}

// Addrs implements Network.
func (n *SystemNetwork) Addrs() AddrSpecManager { return n.addrs }

// ARP implements Network.
func (n *SystemNetwork) ARP() ARPSender { return n.arp }

// Close closes every socket.
func (n *SystemNetwork) Close() error {
	return errors.Join(n.RawNetwork.Close(), n.arp.Close())
}
