// Package lab builds throw-away networks out of Linux network namespaces for
// tandem's integration tests and `make demo`.
//
// A lab is one private "switch" namespace holding a Linux bridge (br0) and N
// hosts, each a network namespace whose eth0 is one end of a veth pair whose
// other end is a port of the bridge. Hosts are addressed from a caller-chosen
// 10.x.y.0/24 (host i gets the subnet's (i+1)th address) and get a stable MAC,
// 02:00 followed by the four IPv4 address bytes, so captures are
// deterministic. Nothing in a lab can reach the machine's real network.
//
//	l := lab.New(t, lab.Options{Subnet: netip.MustParsePrefix("10.77.1.0/24")})
//	h1, h2 := l.Host("h1"), l.Host("h2")
//	out, err := h1.Run(ctx, "ping", "-c1", h2.IP.String())
//	ka := lab.StartKeepalived(t, h2, conf)
//	ka.Kill() // SIGKILL to its whole process group: a crash
//
// Processes run inside a host with `ip netns exec`, which also gives them a
// /sys that shows the namespace's interfaces; Go code runs inside a host with
// Host.Do. Host.Addrs and Host.Neigh tell who holds a VIP and which MAC a
// client reaches it at. Lab.CutLink partitions a host while its link stays
// up; Lab.SetLinkUp pulls its cable. Lab.Capture runs tcpdump on the bridge
// (every frame between hosts) or on a host, and ReadPcap reads the file back
// with timestamps. StartKeepalived runs Debian's stock keepalived, each
// instance with its own pid files and, through --namespace, its own
// /run/keepalived.
//
// Since every lab has its own bridge, labs never see each other's traffic;
// the rule that each test package picks its own subnet keeps captures and
// logs unambiguous. Create builds a lab without a testing.TB, for the demo.
//
// # Naming and teardown
//
// Every namespace of a lab is named "tlab-<pid>-<random>-<name>" (see
// /run/netns), pid being the test process's, so labs of test packages running
// in parallel never collide.
//
// New registers a cleanup that, even when the test failed, SIGKILLs the process
// group of every process the lab started, then every other process still
// inside one of the lab's namespaces (found by comparing /proc/*/ns/net with
// the namespaces' inodes, as `ip netns pids` does), then deletes the
// namespaces, which takes the bridge and veths with them. Processes are also
// started with a parent-death signal (SIGKILL), so they die with a killed test
// binary.
//
// A test binary killed outright (SIGKILL, go test's timeout, a crash) cannot
// clean up its namespaces, so every New first reaps the leftovers of earlier
// runs: each /run/netns entry whose name has the lab prefix and whose pid is
// no longer alive (or is a zombie) has its processes killed and is deleted,
// as is keepalived's /run/keepalived/<namespace> directory. A recycled pid
// only delays this reaping until the unrelated process holding that pid exits.
package lab
