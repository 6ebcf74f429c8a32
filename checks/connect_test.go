package checks

import (
	"context"
	"net"
	"testing"
	"time"
)

func TestTCPCheckIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tg := targetOf(t, addr, time.Second)
	if r := NewTCP(TCPSpec{Target: tg}).Probe(context.Background()); !r.OK || r.Reason != "connected to "+addr {
		t.Fatalf("%+v", r)
	}
	ln.Close()
	if r := NewTCP(TCPSpec{Target: tg}).Probe(context.Background()); r.OK || r.Reason != "connect "+addr+": connection refused" {
		t.Fatalf("%+v", r)
	}
}

func TestTCPCheckCancelled(t *testing.T) {
	l := newLab(t)
	// l.none is on the lab link but answers nothing: the connect pends.
	tg := Target{ConnectIP: l.none, ConnectPort: 80, Timeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	var r Result
	start := time.Now()
	l.in(t, l.a, func() { r = NewTCP(TCPSpec{Target: tg}).Probe(ctx) })
	if r.OK || r.Reason != "connect "+tg.String()+": cancelled" || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelling the context must end the probe: %+v after %v", r, time.Since(start))
	}
}
