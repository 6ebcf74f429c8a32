package vrrp_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
	"github.com/tandem-ha/tandem/vrrp"
)

// TestBadPackets: a tandem master (100, keepalived at 90 as backup) gets
// invalid adverts of every kind at priority 200 from a third host. Each is
// dropped and counted under its reason (read from the agent's stats file,
// written on SIGUSR2), nobody changes state, and under a flood of invalid
// adverts the master keeps advertising on time.
func TestBadPackets(t *testing.T) {
	needLab(t)
	l := lab.New(t, lab.Options{Subnet: netip.MustParsePrefix("10.203.8.0/24"), Hosts: []string{"tandem", "keepalived", "evil"}})
	th, kh, eh := l.Host("tandem"), l.Host("keepalived"), l.Host("evil")
	vip, other := l.IP(100), l.IP(101)
	conf := instConf{VRID: 51, Priority: 100, Pass: "secret", VIPs: []netip.Addr{vip}}
	kconf := conf
	kconf.Priority = 90
	tn := startTandem(t, l, th, conf.String(), "")
	kp := lab.StartKeepalived(t, kh, kconf.String())
	waitFor(t, 8*time.Second, "tandem to become master", func() bool { return len(holders(t, vip, th)) == 1 })

	group := vrrp.MulticastGroup()
	good := func() vrrp.Advert {
		a := vrrp.Advert{Version: 2, Type: vrrp.TypeAdvert, VRID: 51, Priority: 200, AuthType: vrrp.AuthPass, Interval: 1}
		a.SetPassword("secret")
		if err := a.SetAddrs([]netip.Addr{vip}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	encode := func(a vrrp.Advert) []byte {
		var b [vrrp.MaxAdvertLen]byte
		n, err := a.Encode(b[:], eh.IP, group, vrrp.ChecksumRFC)
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte(nil), b[:n]...)
	}
	// recompute fixes the VRRPv2 checksum after a change.
	recompute := func(p []byte) []byte {
		p[6], p[7] = 0, 0
		var s uint32
		for i := 0; i+1 < len(p); i += 2 {
			s += uint32(binary.BigEndian.Uint16(p[i:]))
		}
		if len(p)%2 == 1 {
			s += uint32(p[len(p)-1]) << 8
		}
		for s > 0xffff {
			s = s>>16 + s&0xffff
		}
		binary.BigEndian.PutUint16(p[6:], ^uint16(s))
		return p
	}
	type bad struct {
		reason  string
		payload []byte
		ttl     uint8
	}
	var cases []bad
	cases = append(cases, bad{"bad TTL", encode(good()), 254})
	{
		a := good()
		a.AuthType = vrrp.AuthNone
		cases = append(cases, bad{"auth type mismatch", encode(a), 255})
	}
	{
		a := good()
		a.SetPassword("wrong")
		cases = append(cases, bad{"bad password", encode(a), 255})
	}
	{
		p := encode(good())
		p[6] ^= 0xff
		cases = append(cases, bad{"bad checksum", p, 255})
	}
	{
		a := good()
		a.Interval = 2
		cases = append(cases, bad{"advert interval mismatch", encode(a), 255})
	}
	{
		a := good()
		a.SetAddrs([]netip.Addr{vip, other})
		cases = append(cases, bad{"VIP count mismatch", encode(a), 255})
	}
	{
		a := good()
		a.SetAddrs([]netip.Addr{other})
		cases = append(cases, bad{"VIP list mismatch", encode(a), 255})
	}
	{
		// The header announces one address but the auth data is cut short.
		p := encode(good())
		cases = append(cases, bad{"bad length", recompute(p[:len(p)-4]), 255})
	}
	{
		// A well-formed VRRPv3 advert to a VRRPv2 instance.
		a := vrrp.Advert{Version: 3, Type: vrrp.TypeAdvert, VRID: 51, Priority: 200, Interval: 100}
		a.SetAddrs([]netip.Addr{vip})
		cases = append(cases, bad{"bad version", encode(a), 255})
	}
	otherVRID := encode(func() vrrp.Advert { a := good(); a.VRID = 52; return a }())

	c, err := l.Capture(context.Background(), "", "vrrp")
	if err != nil {
		t.Fatal(err)
	}
	inj := newInjector(t, eh)
	before := tn.stats(t)
	for _, bc := range cases {
		for range 3 {
			inj.send(t, bc.payload, group, bc.ttl)
		}
	}
	for range 3 {
		inj.send(t, otherVRID, group, 255)
	}
	time.Sleep(300 * time.Millisecond)
	after := tn.stats(t)
	if len(after.Instances) != 1 || len(before.Instances) != 1 {
		t.Fatalf("stats: %+v", after)
	}
	b, a := before.Instances[0], after.Instances[0]
	for _, bc := range cases {
		if got := a.Dropped[bc.reason] - b.Dropped[bc.reason]; got != 3 {
			t.Errorf("%q: %d drops counted, want 3 (all: %v)", bc.reason, got, a.Dropped)
		}
	}
	if got := a.DroppedTotal - b.DroppedTotal; got != uint64(3*len(cases)) {
		t.Errorf("%d drops in all, want %d (other VRIDs are ignored, not counted): %v", got, 3*len(cases), a.Dropped)
	}
	if a.State != "MASTER" {
		t.Errorf("tandem state %s after bad packets, want MASTER", a.State)
	}
	t.Logf("drops counted per reason: %v", a.Dropped)

	// Flood: 4 s of invalid adverts at about 2000 per second.
	flood := cases[2].payload // bad password, priority 200
	floodStart := time.Now()
	n := 0
	for time.Since(floodStart) < 4*time.Second {
		for range 20 {
			inj.send(t, flood, group, 255)
			n++
		}
		time.Sleep(10 * time.Millisecond)
	}
	floodEnd := time.Now()
	time.Sleep(1200 * time.Millisecond)
	ws := readCapture(t, c)
	var prev time.Time
	count := 0
	for _, w := range adverts(ws, th.IP, 51) {
		if w.At.Before(floodStart.Add(-time.Second)) || w.At.After(floodEnd.Add(time.Second)) {
			continue
		}
		if w.Advert.Priority != 100 {
			t.Errorf("tandem advertised priority %d during the flood", w.Advert.Priority)
		}
		if !prev.IsZero() {
			if gap := w.At.Sub(prev); gap > time.Second+50*time.Millisecond || gap < time.Second-50*time.Millisecond {
				t.Errorf("tandem's adverts %v apart during the flood, want 1s ± 50ms", gap)
			}
		}
		prev = w.At
		count++
	}
	if count < 5 {
		t.Errorf("only %d tandem adverts around a 4 s flood", count)
	}
	if ka := adverts(ws, kh.IP, 51); len(ka) != 0 {
		t.Errorf("keepalived advertised %d times: it became master", len(ka))
	}
	if strings.Contains(kp.Log(), "Entering MASTER") {
		var lines []string
		for _, ln := range strings.Split(kp.Log(), "\n") {
			if !strings.Contains(ln, "invalid passwd") && !strings.Contains(ln, "gratuitous ARP on") {
				lines = append(lines, ln)
			}
		}
		t.Errorf("keepalived entered MASTER:\n%s", strings.Join(lines, "\n"))
	}
	final := tn.stats(t)
	if final.Instances[0].State != "MASTER" {
		t.Errorf("tandem state %s after the flood", final.Instances[0].State)
	}
	select {
	case <-tn.Done():
		t.Fatalf("tandem exited: %v", tn.Wait())
	default:
	}
	if h := holders(t, vip, th, kh); len(h) != 1 || h[0] != "tandem" {
		t.Errorf("VIP holders %v after the flood, want [tandem]", h)
	}
	t.Logf("flood of %d invalid adverts in %v: tandem sent %d adverts 1s ± 50ms apart, stayed master; %d dropped as %q",
		n, floodEnd.Sub(floodStart).Round(time.Millisecond), count, final.Instances[0].Dropped["bad password"]-a.Dropped["bad password"], "bad password")
}
