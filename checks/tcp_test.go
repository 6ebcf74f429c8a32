package checks

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestTCPCheck(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan net.Addr, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr()
			c.Close()
		}
	}()
	tg := targetOf(t, ln.Addr().String(), time.Second)
	if r := NewTCP(TCPSpec{Target: tg}).Probe(ctx); !r.OK {
		t.Fatal(r.Reason)
	}
	<-peers

	// bindto and bind_port set the source address.
	src := closedPort(t)
	srcAP := netip.MustParseAddrPort(src)
	tg2 := tg
	tg2.BindTo = netip.MustParseAddr("127.0.0.2")
	tg2.BindPort = srcAP.Port()
	if r := NewTCP(TCPSpec{Target: tg2}).Probe(ctx); !r.OK {
		t.Fatal(r.Reason)
	}
	if got, want := (<-peers).String(), "127.0.0.2:"+strings.Split(src, ":")[1]; got != want {
		t.Errorf("server saw %s, want %s", got, want)
	}

	// bind_if lo works for a loopback target; a missing device fails.
	tg3 := tg
	tg3.BindIf = "lo"
	if r := NewTCP(TCPSpec{Target: tg3}).Probe(ctx); !r.OK {
		t.Fatal(r.Reason)
	}
	<-peers
	tg3.BindIf = "nosuchdev0"
	if r := NewTCP(TCPSpec{Target: tg3}).Probe(ctx); r.OK || !strings.Contains(r.Reason, "bind to device nosuchdev0: no such device") {
		t.Errorf("%+v", r)
	}
}

func TestTCPCheckRefused(t *testing.T) {
	tg := targetOf(t, closedPort(t), time.Second)
	r := NewTCP(TCPSpec{Target: tg}).Probe(context.Background())
	if want := "connect " + tg.String() + ": connection refused"; r.OK || r.Reason != want {
		t.Fatalf("got %q want %q", r.Reason, want)
	}
}

func TestTCPCheckInNamespace(t *testing.T) {
	l := newLab(t)
	port := l.listenB(t)
	tg := Target{ConnectIP: l.ipB, ConnectPort: port, Timeout: 500 * time.Millisecond}
	probe := func(tg Target) (r Result) {
		l.in(t, l.a, func() { r = NewTCP(TCPSpec{Target: tg}).Probe(context.Background()) })
		return r
	}
	if r := probe(tg); !r.OK {
		t.Fatal(r.Reason)
	}

	t.Run("connect timeout", func(t *testing.T) {
		tg := tg
		tg.ConnectIP = l.none
		if r := probe(tg); r.OK || r.Reason != "connect "+tg.String()+": timeout after 500ms" {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("fwmark", func(t *testing.T) {
		l.prohibitMark(t, 0x77)
		tg := tg
		tg.FWMark = 0x77
		if r := probe(tg); r.OK || !strings.Contains(r.Reason, "permission denied") {
			t.Fatalf("marked connect should hit the prohibit rule: %+v", r)
		}
		tg.FWMark = 0x78
		if r := probe(tg); !r.OK {
			t.Fatalf("other mark: %+v", r)
		}
	})
	t.Run("bind_if", func(t *testing.T) {
		tg := tg
		tg.BindIf = l.ifA
		if r := probe(tg); !r.OK {
			t.Fatalf("bind_if %s: %+v", l.ifA, r)
		}
		tg.BindIf = "lo"
		if r := probe(tg); r.OK {
			t.Fatalf("bind_if lo should not reach %s: %+v", l.ipB, r)
		}
	})
}
