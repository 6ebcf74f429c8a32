// Package vrrp implements VRRP for IPv4 the way keepalived 2.2.7 speaks it:
// the VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) advertisement codec, the
// IPv4 header keepalived writes, the gratuitous ARP frame, and a
// deterministic per-instance state machine.
//
// The state machine does no I/O of its own: time, the advert socket, the
// VIP manager and the ARP sender are injected through the small interfaces
// in env.go, so the same code runs against real sockets in production and
// against fakes in unit tests.
//
// Around the instances, a Manager runs what keepalived.conf adds to them:
// tracking (vrrp_script, track_file, vrrp_track_process, track_interface
// and the instance's own interface; track.go, track_run.go) turned into a
// priority adjustment or FAULT; vrrp_sync_group (members follow each other
// into MASTER, BACKUP and FAULT; extras.go); notifications (notify_* scripts
// with keepalived's arguments, notify FIFOs, smtp_alert e-mail; notify.go,
// fifo.go, mail.go), all asynchronous so no transition waits for them;
// script_user and enable_script_security (scriptenv.go, package script);
// and use_vmac (vmac.go, vmac_linux.go).
package vrrp
