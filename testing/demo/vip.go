package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// holders returns the hosts with the VIP on eth0.
func (d *demo) holders() []string {
	var out []string
	for _, h := range d.lab.Hosts() {
		if ok, _ := h.HasAddr(d.vip); ok {
			out = append(out, h.Name)
		}
	}
	return out
}

// waitHolder waits until want alone holds the VIP, or, with want "", until
// any single host other than not does; it returns that host.
func (d *demo) waitHolder(ctx context.Context, want, not string, timeout time.Duration) (string, error) {
	var got string
	what := "a single VIP holder"
	if want != "" {
		what = want + " alone holding the VIP"
	}
	err := poll(ctx, what, timeout, func() (bool, error) {
		hs := d.holders()
		if len(hs) != 1 || hs[0] == not || (want != "" && hs[0] != want) {
			return false, nil
		}
		got = hs[0]
		return true, nil
	}, func() string { return fmt.Sprintf("holders: %v", d.holders()) })
	return got, err
}

// showVIP prints who holds the VIP and where the client's traffic goes.
func (d *demo) showVIP(ctx context.Context) error {
	fmt.Printf("  VIP %v is on: %s\n", d.vip, strings.Join(d.holders(), ", "))
	cli := d.lab.Host("client")
	if _, err := cli.Run(ctx, "ping", "-c1", "-W2", d.vip.String()); err != nil {
		return fmt.Errorf("client ping %v: %w", d.vip, err)
	}
	mac, err := cli.Neigh(d.vip)
	if err != nil {
		return err
	}
	owner := "?"
	for _, h := range d.lab.Hosts() {
		if h.MAC.String() == mac.String() {
			owner = h.Name
		}
	}
	fmt.Printf("  client pings %v: reply from MAC %v (%s)\n", d.vip, mac, owner)
	return nil
}

// timeoutError is a wait that ran out of time.
type timeoutError struct {
	what  string
	after time.Duration
	last  string
}

func (e *timeoutError) Error() string {
	s := fmt.Sprintf("timed out after %v waiting for %s", e.after, e.what)
	if e.last != "" {
		s += " (" + e.last + ")"
	}
	return s
}

// poll calls cond every 100ms until it is true, it fails, ctx is done or
// timeout passes; then last, if not nil, says what was seen.
func poll(ctx context.Context, what string, timeout time.Duration, cond func() (bool, error), last func() string) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			e := &timeoutError{what: what, after: timeout}
			if last != nil {
				e.last = last()
			}
			return e
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
