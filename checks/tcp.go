package checks

import "context"

// TCPSpec configures a TCP_CHECK: a connect, nothing more.
type TCPSpec struct {
	Target
}

// TCP is a TCP_CHECK.
type TCP struct {
	spec TCPSpec
}

// NewTCP returns a TCP_CHECK for spec.
func NewTCP(spec TCPSpec) *TCP { return &TCP{spec: spec} }

// Probe connects to the target and closes the connection, as keepalived
// does; success is a completed three-way handshake.
func (c *TCP) Probe(ctx context.Context) Result {
	a, cancel := c.spec.begin(ctx)
	defer cancel()
	conn, err := c.spec.dial(a, "tcp")
	if err != nil {
		return fail("connect %s: %s", c.spec, a.describe(err))
	}
	conn.Close()
	return Result{OK: true, Reason: "connected to " + c.spec.String()}
}
