// Package vrrp implements VRRP for IPv4 the way keepalived 2.2.7 speaks it:
// the VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) advertisement codec, the
// IPv4 header keepalived writes, the gratuitous ARP frame, and a
// deterministic per-instance state machine.
//
// The state machine does no I/O of its own: time, the advert socket, the
// VIP manager and the ARP sender are injected through the small interfaces
// in env.go, so the same code runs against real sockets in production and
// against fakes in unit tests.
package vrrp
