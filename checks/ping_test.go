package checks

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPingLoopback(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "::1"} {
		r := NewPing(PingSpec{Target: Target{ConnectIP: netip.MustParseAddr(ip), Timeout: time.Second}}).Probe(context.Background())
		if !r.OK {
			t.Errorf("%s: %s", ip, r.Reason)
		}
	}
}

func TestPingInNamespace(t *testing.T) {
	l := newLab(t)
	probe := func(p *Ping) (r Result) {
		l.in(t, l.a, func() { r = p.Probe(context.Background()) })
		return r
	}
	peer := PingSpec{Target: Target{ConnectIP: l.ipB, Timeout: time.Second}}
	if r := probe(NewPing(peer)); !r.OK || r.Reason != "echo reply from "+l.ipB.String() {
		t.Fatalf("raw: %+v", r)
	}

	absent := PingSpec{Target: Target{ConnectIP: l.none, Timeout: 500 * time.Millisecond}}
	if r := probe(NewPing(absent)); r.OK || r.Reason != "ping "+l.none.String()+": no echo reply: timeout after 500ms" {
		t.Fatalf("absent host: %+v", r)
	}

	// The unprivileged ping socket, allowed for root's group in A only.
	var werr error
	l.in(t, l.a, func() { werr = os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 0"), 0o644) })
	if werr != nil {
		t.Fatal(werr)
	}
	if r := probe(&Ping{spec: peer, dgramOnly: true}); !r.OK {
		t.Fatalf("ping socket: %+v", r)
	}
	if r := probe(&Ping{spec: absent, dgramOnly: true}); r.OK || !strings.Contains(r.Reason, "timeout after 500ms") {
		t.Fatalf("ping socket, absent host: %+v", r)
	}
}

func TestUDPHostUnreachableInNamespace(t *testing.T) {
	// The neighbour lookup for 10.77.X.3 fails after about 3s and the
	// kernel reports host unreachable to the connected socket.
	l := newLab(t)
	c := newUDP(t, UDPSpec{Target: Target{ConnectIP: l.none, ConnectPort: 9, Timeout: 8 * time.Second}})
	var r Result
	l.in(t, l.a, func() { r = c.Probe(context.Background()) })
	if r.OK || !strings.Contains(r.Reason, "host unreachable") {
		t.Fatalf("%+v", r)
	}
}
