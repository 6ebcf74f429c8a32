package vrrp_test

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// TestWireEquality: for the same configuration, tandem's adverts and GARPs
// are keepalived's, byte for byte (IP id, flags and checksum aside), with
// 5 + 5 GARPs per VIP at the same times.
func TestWireEquality(t *testing.T) {
	needLab(t)
	vips := []netip.Addr{netip.MustParseAddr("10.203.5.100"), netip.MustParseAddr("10.203.5.101")}
	conf := instConf{VRID: 41, Priority: 100, Pass: "secret", VIPs: vips}.String()

	type result struct {
		start time.Time
		ws    []wire
		h     *lab.Host
		l     *lab.Lab
		c     *lab.Capture
	}
	// keepalived and tandem each run alone in a lab of their own on
	// 10.203.5.0/24 (labs are isolated, so they share the subnet and hence
	// the MAC addresses), at the same time. Both labs are built before
	// either daemon starts (see the package's note on lab creation).
	var res [2]result // 0 keepalived, 1 tandem
	for i := range res {
		l := lab.New(t, lab.Options{Subnet: netip.MustParsePrefix("10.203.5.0/24"), Hosts: []string{"w"}})
		res[i] = result{h: l.Host("w"), l: l}
	}
	for i := range res {
		c, err := res[i].l.Capture(context.Background(), "", "vrrp or arp")
		if err != nil {
			t.Fatal(err)
		}
		res[i].c = c
	}
	res[0].start = time.Now()
	lab.StartKeepalived(t, res[0].h, conf)
	res[1].start = time.Now()
	tn := startTandem(t, res[1].l, res[1].h, conf, "")
	time.Sleep(3*time.Second + skew(100) + 5*time.Second + 900*time.Millisecond)
	for i := range res {
		res[i].ws = readCapture(t, res[i].c)
	}
	{
		ka, ta := res[0], res[1]
		kAds, tAds := adverts(ka.ws, ka.h.IP, 41), adverts(ta.ws, ta.h.IP, 41)
		if len(kAds) < 5 || len(tAds) < 5 {
			t.Fatalf("adverts: keepalived %d, tandem %d", len(kAds), len(tAds))
		}
		for i := range 5 {
			if !bytes.Equal(kAds[i].Payload, tAds[i].Payload) {
				t.Errorf("advert %d payload:\n keepalived % x\n tandem     % x", i, kAds[i].Payload, tAds[i].Payload)
			}
			kh, th := append([]byte(nil), kAds[i].IPHeader...), append([]byte(nil), tAds[i].IPHeader...)
			for _, b := range []int{4, 5, 6, 7, 10, 11} { // id, flags+offset, checksum
				kh[b], th[b] = 0, 0
			}
			if !bytes.Equal(kh, th) {
				t.Errorf("advert %d IPv4 header beyond id/flags/checksum:\n keepalived % x\n tandem     % x", i, kAds[i].IPHeader, tAds[i].IPHeader)
			}
		}
		t.Logf("advert payload % x equal; IPv4 header % x (keepalived % x)", tAds[0].Payload, tAds[0].IPHeader, kAds[0].IPHeader)
		checkNear(t, "tandem process start to first advert", tAds[0].At.Sub(ta.start), 3*time.Second+skew(100), 400*time.Millisecond)
		checkNear(t, "tandem instance start to first advert", tAds[0].At.Sub(instanceStart(t, tn.Log(), "VI_1", 0)), 3*time.Second+skew(100), 50*time.Millisecond)
		checkNear(t, "keepalived process start to first advert", kAds[0].At.Sub(ka.start), 3*time.Second+skew(100), 400*time.Millisecond)
		for _, vip := range vips {
			kg, tg := garps(ka.ws, ka.h.MAC, vip), garps(ta.ws, ta.h.MAC, vip)
			if len(kg) != 10 || len(tg) != 10 {
				t.Fatalf("GARPs for %v: keepalived %d, tandem %d; want 5 + 5 each", vip, len(kg), len(tg))
			}
			for i := range tg {
				if !bytes.Equal(kg[i].Frame, tg[i].Frame) {
					t.Errorf("GARP %d for %v:\n keepalived % x\n tandem     % x", i, vip, kg[i].Frame, tg[i].Frame)
				}
				// Times relative to each one's first advert as master.
				kAt, tAt := kg[i].At.Sub(kAds[0].At), tg[i].At.Sub(tAds[0].At)
				if d := tAt - kAt; d < -50*time.Millisecond || d > 50*time.Millisecond {
					t.Errorf("GARP %d for %v at +%v after the first advert, keepalived's at +%v", i, vip, tAt, kAt)
				}
			}
			t.Logf("GARPs for %v: 5 at +%v and 5 at +%v (keepalived +%v, +%v), frames equal: % x",
				vip, tg[0].At.Sub(tAds[0].At).Round(time.Millisecond), tg[5].At.Sub(tAds[0].At).Round(time.Millisecond),
				kg[0].At.Sub(kAds[0].At).Round(time.Millisecond), kg[5].At.Sub(kAds[0].At).Round(time.Millisecond), tg[0].Frame)
		}
		// The order of GARPs between VIPs too.
		var korder, torder []netip.Addr
		for _, w := range ka.ws {
			if w.ARP {
				korder = append(korder, w.ARPIP)
			}
		}
		for _, w := range ta.ws {
			if w.ARP {
				torder = append(torder, w.ARPIP)
			}
		}
		if len(korder) != len(torder) {
			t.Errorf("ARP frames: keepalived %d, tandem %d", len(korder), len(torder))
		} else {
			for i := range korder {
				if korder[i] != torder[i] {
					t.Errorf("GARP order differs at %d: keepalived %v, tandem %v\n%v\n%v", i, korder[i], torder[i], korder, torder)
					break
				}
			}
		}
	}
}
