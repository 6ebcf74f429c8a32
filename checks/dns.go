package checks

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// dnsTypes are the query types DNS_CHECK accepts.
var dnsTypes = map[string]uint16{
	"A": dns.TypeA, "NS": dns.TypeNS, "CNAME": dns.TypeCNAME, "SOA": dns.TypeSOA,
	"MX": dns.TypeMX, "TXT": dns.TypeTXT, "AAAA": dns.TypeAAAA,
}

// DNSSpec configures a DNS_CHECK.
type DNSSpec struct {
	Target
	// Type is A, NS, CNAME, SOA, MX, TXT or AAAA; "" means SOA.
	Type string
	// Name is the queried name; "" means ".".
	Name string
}

// DNS is a DNS_CHECK: one UDP query with recursion desired.
type DNS struct {
	spec  DNSSpec
	qtype uint16
}

// NewDNS validates spec.
func NewDNS(spec DNSSpec) (*DNS, error) {
	if spec.Type == "" {
		spec.Type = "SOA"
	}
	if spec.Name == "" {
		spec.Name = "."
	}
	spec.Type = strings.ToUpper(spec.Type)
	qt, ok := dnsTypes[spec.Type]
	if !ok {
		return nil, fmt.Errorf("DNS_CHECK type %q: want A, NS, CNAME, SOA, MX, TXT or AAAA", spec.Type)
	}
	if _, ok := dns.IsDomainName(spec.Name); !ok {
		return nil, fmt.Errorf("DNS_CHECK name %q is not a domain name", spec.Name)
	}
	return &DNS{spec: spec, qtype: qt}, nil
}

// Probe sends the query and waits for a reply. As in keepalived, success
// is a response (QR set) with the query's id and RCODE NOERROR; the
// answer section is not looked at, so an empty NOERROR answer passes.
// Datagrams that are too short, carry another id or are not responses are
// ignored and the wait goes on.
func (c *DNS) Probe(ctx context.Context) Result {
	a, cancel := c.spec.begin(ctx)
	defer cancel()
	what := fmt.Sprintf("%s %s", c.spec.Type, c.spec.Name)

	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(c.spec.Name), c.qtype)
	q.RecursionDesired = true
	wire, err := q.Pack()
	if err != nil {
		return fail("DNS %s: pack query %s: %s", c.spec, what, err)
	}

	conn, err := c.spec.dial(a, "udp")
	if err != nil {
		return fail("DNS %s: %s", c.spec, a.describe(err))
	}
	defer conn.Close()
	stop := a.guard(conn)
	defer stop()

	if _, err := conn.Write(wire); err != nil {
		return fail("DNS %s: send query: %s", c.spec, a.describe(err))
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if isTimeout(a, err) {
				return fail("DNS %s: no reply to %s: %s", c.spec, what, a.describe(err))
			}
			return fail("DNS %s: query %s: %s", c.spec, what, icmpText(a, err))
		}
		if n < 12 {
			continue
		}
		id := binary.BigEndian.Uint16(buf[0:2])
		flags := binary.BigEndian.Uint16(buf[2:4])
		if id != q.Id || flags&(1<<15) == 0 {
			continue
		}
		if rc := int(flags & 0xf); rc != dns.RcodeSuccess {
			return fail("DNS %s: %s for %s", c.spec, rcodeName(rc), what)
		}
		return Result{OK: true, Reason: fmt.Sprintf("DNS %s: NOERROR for %s", c.spec, what)}
	}
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE %d", rc)
}
