package checks

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsServer answers on 127.0.0.1 by query name: ok. (SOA answer), empty.
// (NOERROR, no answer), nx. (NXDOMAIN), fail. (SERVFAIL), silent. (no
// reply), wrongid. (a reply with another id, then the right one),
// query. (the query echoed back without QR, then nothing).
func dnsServer(t *testing.T) (Target, func() []*dns.Msg) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []*dns.Msg
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		mu.Lock()
		seen = append(seen, q.Copy())
		mu.Unlock()
		m := new(dns.Msg)
		m.SetReply(q)
		switch q.Question[0].Name {
		case "ok.", ".":
			rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN SOA ns. host. 1 2 3 4 5")
			m.Answer = append(m.Answer, rr)
		case "empty.":
		case "nx.":
			m.Rcode = dns.RcodeNameError
		case "fail.":
			m.Rcode = dns.RcodeServerFailure
		case "silent.":
			return
		case "wrongid.":
			bad := m.Copy()
			bad.Id++
			bad.Rcode = dns.RcodeServerFailure
			w.WriteMsg(bad)
		case "query.":
			w.WriteMsg(q)
			return
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return targetOf(t, pc.LocalAddr().String(), 500*time.Millisecond), func() []*dns.Msg {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

func newDNS(t *testing.T, spec DNSSpec) *DNS {
	t.Helper()
	c, err := NewDNS(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDNSCheck(t *testing.T) {
	tg, seen := dnsServer(t)
	ctx := context.Background()
	where := "DNS " + tg.String() + ": "
	for _, tc := range []struct {
		typ, name string
		ok        bool
		reason    string
	}{
		{"", "", true, where + "NOERROR for SOA ."},
		{"a", "ok", true, where + "NOERROR for A ok"},
		{"TXT", "empty", true, ""}, // keepalived needs no answer section
		{"AAAA", "wrongid", true, ""},
		{"SOA", "nx.", false, where + "NXDOMAIN for SOA nx."},
		{"MX", "fail", false, where + "SERVFAIL for MX fail"},
		{"NS", "silent", false, where + "no reply to NS silent: timeout after 500ms"},
		{"CNAME", "query", false, where + "no reply to CNAME query: timeout after 500ms"},
	} {
		r := newDNS(t, DNSSpec{Target: tg, Type: tc.typ, Name: tc.name}).Probe(ctx)
		if r.OK != tc.ok || (tc.reason != "" && r.Reason != tc.reason) {
			t.Errorf("%s %s: got %+v, want ok=%v %q", tc.typ, tc.name, r, tc.ok, tc.reason)
		}
	}
	q := seen()[0]
	if !q.RecursionDesired || q.Question[0].Qtype != dns.TypeSOA || q.Question[0].Name != "." || q.Question[0].Qclass != dns.ClassINET {
		t.Errorf("first query %v", q)
	}
}

func TestDNSCheckPortUnreachable(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	tg := targetOf(t, addr, time.Second)
	r := newDNS(t, DNSSpec{Target: tg}).Probe(context.Background())
	if r.OK || !strings.Contains(r.Reason, "port unreachable") {
		t.Fatalf("%+v", r)
	}
}

func TestNewDNSRejects(t *testing.T) {
	if _, err := NewDNS(DNSSpec{Type: "PTR"}); err == nil {
		t.Error("PTR accepted")
	}
	if _, err := NewDNS(DNSSpec{Name: "a..b"}); err == nil {
		t.Error("bad name accepted")
	}
}
