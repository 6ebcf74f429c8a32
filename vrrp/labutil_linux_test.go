package vrrp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tandem-ha/tandem/testing/lab"
	"github.com/tandem-ha/tandem/vrrp"
)

// The interop tests use 10.203.0.0/16: each lab takes its own /24.
//
// They run one after the other, never with t.Parallel: creating a lab
// (testing/lab's createNetns) ends a locked OS thread, and a process
// started earlier from that thread (keepalived, tandem, tcpdump of another
// lab) gets its parent-death signal, SIGKILL. Labs created while no lab
// process runs are safe.

// TestMain removes the tandem binary built by tandemBin, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if dir := binDir.Load(); dir != nil {
		os.RemoveAll(*dir)
	}
	os.Exit(code)
}

// binDir is the directory tandemBin built into.
var binDir atomic.Pointer[string]

// tandemBin builds cmd/tandem once per test binary.
var tandemBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tandem-vrrp-test-")
	if err != nil {
		return "", err
	}
	binDir.Store(&dir)
	bin := filepath.Join(dir, "tandem")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/tandem-ha/tandem/cmd/tandem")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build tandem: %v\n%s", err, out)
	}
	return bin, nil
})

// needLab skips t unless it can run the lab with stock keepalived.
func needLab(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("interop tests need root (network namespaces, raw sockets); run as root")
	}
	if _, err := os.Stat(lab.KeepalivedPath); err != nil {
		t.Skipf("stock keepalived not installed at %s: %v", lab.KeepalivedPath, err)
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed")
	}
	if _, err := tandemBin(); err != nil {
		t.Fatal(err)
	}
}

// tandemNode is a tandem agent running on a lab host.
type tandemNode struct {
	*lab.Proc
	host    *lab.Host
	dataDir string
	conf    string
}

// startTandem runs `tandem agent` with conf on host, with a data dir of its
// own (reused across restarts of the same dataDir).
func startTandem(t testing.TB, l *lab.Lab, h *lab.Host, conf, dataDir string) *tandemNode {
	t.Helper()
	bin, err := tandemBin()
	if err != nil {
		t.Fatal(err)
	}
	if dataDir == "" {
		dataDir = filepath.Join(l.Dir, h.Name+"-tandem")
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dataDir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := h.Start(context.Background(), bin, "agent", "-f", path, "--data-dir", dataDir, "-i", h.Name)
	if err != nil {
		t.Fatal(err)
	}
	return &tandemNode{Proc: p, host: h, dataDir: dataDir, conf: path}
}

// stop sends SIGTERM and waits for a clean exit.
func (n *tandemNode) stop(t testing.TB) {
	t.Helper()
	if err := n.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.Done():
		if err := n.Wait(); err != nil {
			t.Fatalf("tandem exit after SIGTERM: %v\n%s", err, n.Log())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("tandem still running 10s after SIGTERM\n%s", n.Log())
	}
}

// stats asks the agent for its counters (SIGUSR2) and reads them.
func (n *tandemNode) stats(t testing.TB) agentStats {
	t.Helper()
	path := filepath.Join(n.dataDir, "vrrp-stats.json")
	os.Remove(path)
	if err := n.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			var s agentStats
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatalf("stats file: %v", err)
			}
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stats file 5s after SIGUSR2\n%s", n.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// agentStats is the part of the agent's stats file the tests read.
type agentStats struct {
	Instances []struct {
		Name            string            `json:"name"`
		State           string            `json:"state"`
		AdvertsReceived uint64            `json:"adverts_received"`
		AdvertsSent     uint64            `json:"adverts_sent"`
		Dropped         map[string]uint64 `json:"dropped"`
		DroppedTotal    uint64            `json:"dropped_total"`
	} `json:"instances"`
}

// instConf is one vrrp_instance for a test, written as keepalived.conf.
type instConf struct {
	Name      string
	State     string
	VRID      int
	Priority  int
	AdvertInt int
	Pass      string
	VIPs      []netip.Addr
	NoPreempt bool
	Unicast   netip.Addr // unicast_src_ip; peers in Peers
	Peers     []netip.Addr
	Extra     string
}

func (c instConf) String() string {
	var b strings.Builder
	if c.Name == "" {
		c.Name = "VI_1"
	}
	if c.State == "" {
		c.State = "BACKUP"
	}
	if c.AdvertInt == 0 {
		c.AdvertInt = 1
	}
	fmt.Fprintf(&b, "vrrp_instance %s {\n    state %s\n    interface eth0\n    virtual_router_id %d\n    priority %d\n    advert_int %d\n",
		c.Name, c.State, c.VRID, c.Priority, c.AdvertInt)
	if c.NoPreempt {
		b.WriteString("    nopreempt\n")
	}
	if c.Pass != "" {
		fmt.Fprintf(&b, "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", c.Pass)
	}
	if c.Unicast.IsValid() {
		fmt.Fprintf(&b, "    unicast_src_ip %s\n    unicast_peer {\n", c.Unicast)
		for _, p := range c.Peers {
			fmt.Fprintf(&b, "        %s\n", p)
		}
		b.WriteString("    }\n")
	}
	b.WriteString("    virtual_ipaddress {\n")
	for _, v := range c.VIPs {
		fmt.Fprintf(&b, "        %s/32\n", v)
	}
	b.WriteString("    }\n")
	b.WriteString(c.Extra)
	b.WriteString("}\n")
	return b.String()
}

// waitFor polls cond every 20ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holders returns the hosts holding vip.
func holders(t testing.TB, vip netip.Addr, hosts ...*lab.Host) []string {
	t.Helper()
	var out []string
	for _, h := range hosts {
		ok, err := h.HasAddr(vip)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out = append(out, h.Name)
		}
	}
	return out
}

// wire is one VRRP advert or ARP frame seen in a capture.
type wire struct {
	At    time.Time
	Frame []byte
	// For adverts:
	Src, Dst netip.Addr
	TTL      uint8
	Advert   vrrp.Advert
	Payload  []byte
	IPHeader []byte
	// For ARP:
	ARP    bool
	ARPSrc net.HardwareAddr
	ARPIP  netip.Addr
}

// readCapture stops c and decodes its adverts and ARP frames.
func readCapture(t testing.TB, c *lab.Capture) []wire {
	t.Helper()
	path, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	frames, err := lab.ReadPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []wire
	for _, f := range frames {
		w := wire{At: f.Time, Frame: f.Data}
		if f.EtherType() == 0x0806 && len(f.Data) >= 42 {
			w.ARP = true
			w.ARPSrc = net.HardwareAddr(f.Data[22:28])
			w.ARPIP = netip.AddrFrom4([4]byte(f.Data[28:32]))
			out = append(out, w)
			continue
		}
		p, ok := f.IPv4()
		if !ok || p.Protocol != vrrp.IPProtoVRRP {
			continue
		}
		if err := w.Advert.Decode(p.Payload); err != nil {
			continue
		}
		w.Src, w.Dst, w.TTL, w.Payload = p.Src, p.Dst, p.TTL, p.Payload
		w.IPHeader = f.Data[14 : 14+int(f.Data[14]&0x0f)*4]
		out = append(out, w)
	}
	return out
}

// adverts returns the adverts from src (any source when invalid) for vrid.
func adverts(ws []wire, src netip.Addr, vrid uint8) []wire {
	var out []wire
	for _, w := range ws {
		if !w.ARP && w.Advert.VRID == vrid && (!src.IsValid() || w.Src == src) {
			out = append(out, w)
		}
	}
	return out
}

// garps returns the gratuitous ARPs for vip sent by mac.
func garps(ws []wire, mac net.HardwareAddr, vip netip.Addr) []wire {
	var out []wire
	for _, w := range ws {
		if w.ARP && bytes.Equal(w.ARPSrc, mac) && w.ARPIP == vip &&
			binary.BigEndian.Uint16(w.Frame[20:22]) == 1 && bytes.Equal(w.Frame[28:32], w.Frame[38:42]) {
			out = append(out, w)
		}
	}
	return out
}

// checkNear fails t unless got is within tol of want.
func checkNear(t testing.TB, what string, got, want, tol time.Duration) {
	t.Helper()
	if d := got - want; d < -tol || d > tol {
		t.Errorf("%s: %v, want %v ± %v", what, got, want, tol)
	} else {
		t.Logf("%s: %v (want %v ± %v)", what, got, want, tol)
	}
}

// skew is VRRPv2's Skew_Time for prio.
func skew(prio int) time.Duration { return time.Duration(256-prio) * time.Second / 256 }

// injector sends hand-made VRRP packets from a lab host.
type injector struct {
	fd  int
	src netip.Addr
	id  uint16
}

// newInjector opens a raw socket with IP_HDRINCL on h's eth0.
func newInjector(t testing.TB, h *lab.Host) *injector {
	t.Helper()
	inj := &injector{src: h.IP}
	err := h.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, vrrp.IPProtoVRRP)
		if err != nil {
			return err
		}
		inj.fd = fd
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1); err != nil {
			return err
		}
		if err := unix.BindToDevice(fd, h.Link); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName(h.Link)
		if err != nil {
			return err
		}
		return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)})
	})
	if err != nil {
		t.Fatalf("injector: %v", err)
	}
	t.Cleanup(func() { unix.Close(inj.fd) })
	return inj
}

// send sends payload to dst with an IPv4 header carrying ttl.
func (inj *injector) send(t testing.TB, payload []byte, dst netip.Addr, ttl uint8) {
	t.Helper()
	inj.id++
	h := vrrp.AdvertIPv4Header(inj.id, inj.src, dst, len(payload))
	h.TTL = ttl
	var b [2048]byte
	n, err := h.Encode(b[:])
	if err != nil {
		t.Fatal(err)
	}
	n += copy(b[n:], payload)
	if err := unix.Sendto(inj.fd, b[:n], 0, &unix.SockaddrInet4{Addr: dst.As4()}); err != nil {
		t.Fatalf("inject: %v", err)
	}
}

// instanceStart returns when tandem's log says instance name entered
// BACKUP at start-up (the n-th time, from 0), to time the protocol apart
// from process start-up on a loaded machine.
func instanceStart(t testing.TB, log, name string, n int) time.Time {
	t.Helper()
	for _, ln := range strings.Split(log, "\n") {
		if !strings.Contains(ln, `msg="vrrp: entering BACKUP state"`) || !strings.Contains(ln, "instance="+name+" ") || !strings.Contains(ln, "reason=startup") {
			continue
		}
		if n > 0 {
			n--
			continue
		}
		f := strings.Fields(ln)
		if len(f) > 0 && strings.HasPrefix(f[0], "time=") {
			at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
			if err == nil {
				return at
			}
		}
	}
	t.Fatalf("no start-up of %s in the log:\n%s", name, log)
	return time.Time{}
}
