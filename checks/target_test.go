package checks

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

func TestTargetAddr(t *testing.T) {
	for _, tc := range []struct {
		t    Target
		want string
	}{
		{Target{ConnectIP: netip.MustParseAddr("10.0.0.3"), ConnectPort: 80}, "10.0.0.3:80"},
		{Target{ConnectIP: netip.MustParseAddr("::ffff:10.0.0.3"), ConnectPort: 80}, "10.0.0.3:80"},
		{Target{ConnectIP: netip.MustParseAddr("2001:db8::1"), ConnectPort: 443}, "[2001:db8::1]:443"},
		{Target{ConnectIP: netip.MustParseAddr("fe80::1"), ConnectPort: 22, BindIf: "eth1"}, "[fe80::1%eth1]:22"},
		{Target{ConnectIP: netip.MustParseAddr("fe80::1%eth2"), ConnectPort: 22, BindIf: "eth1"}, "[fe80::1%eth2]:22"},
	} {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.t, got, tc.want)
		}
	}
	if got := hostPort(netip.MustParseAddrPort("[fe80::1%eth0]:80")); got != "[fe80::1]:80" {
		t.Errorf("hostPort drops the zone: %s", got)
	}
}

func TestDescribe(t *testing.T) {
	a, cancel := beginWith(context.Background(), 3*time.Second)
	defer cancel()
	for err, want := range map[error]string{
		context.DeadlineExceeded: "timeout after 3s",
		syscall.ECONNREFUSED:     "connection refused",
		io.EOF:                   "connection closed by server",
		errors.New("odd"):        "odd",
	} {
		if got := a.describe(err); got != want {
			t.Errorf("describe(%v) = %q, want %q", err, got, want)
		}
	}
	ctx, cancel2 := context.WithCancel(context.Background())
	cancel2()
	b, cancel3 := beginWith(ctx, 0)
	defer cancel3()
	if got := b.describe(context.Canceled); got != "cancelled" {
		t.Errorf("cancelled: %q", got)
	}
	if r := NewTCP(TCPSpec{}).Probe(context.Background()); r.OK || r.Reason != "connect invalid AddrPort: no connect address" {
		t.Errorf("no address: %+v", r)
	}
}
