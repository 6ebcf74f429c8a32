package checks

import (
	"context"
	"time"
)

// TCPSpec configures a TCP_CHECK: a connect, nothing more.
type TCPSpec struct {
	Target
}

// TCP is a TCP_CHECK.
type TCP struct {
	spec TCPSpec
	ok   string // the success reason, made once
}

// NewTCP returns a TCP_CHECK for spec.
func NewTCP(spec TCPSpec) *TCP { return &TCP{spec: spec, ok: "connected to " + spec.String()} }

// Probe connects to the target and closes the connection, as keepalived
// does; success is a completed three-way handshake.
func (c *TCP) Probe(ctx context.Context) Result {
	// connectOnly applies connect_timeout itself, as a socket deadline:
	// no context timer per check.
	a := attempt{ctx: ctx, budget: c.spec.Timeout}
	if a.budget == 0 {
		if dl, ok := ctx.Deadline(); ok {
			a.budget = time.Until(dl).Round(time.Millisecond)
		}
	}
	if err := c.spec.connectOnly(a); err != nil {
		return fail("connect %s: %s", c.spec, a.describe(err))
	}
	return Result{OK: true, Reason: c.ok}
}
