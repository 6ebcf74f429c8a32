package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tandem-ha/tandem/fsm"
)

// Client talks to a node's local API over its unix socket.
type Client struct {
	http *http.Client
	base string
}

// NewClient returns a client for the unix socket at path.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialUnix(ctx, socket)
		},
	}
	return &Client{http: &http.Client{Transport: tr}, base: "http://tandem"}
}

// Status returns the node's view of the cluster.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// Members returns the gossip members.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	var m []Member
	return m, c.do(ctx, http.MethodGet, "/v1/members", nil, &m)
}

// Apply submits a new config version.
func (c *Client) Apply(ctx context.Context, req ApplyRequest) (ApplyResult, error) {
	var r ApplyResult
	return r, c.do(ctx, http.MethodPost, "/v1/apply", req, &r)
}

// Config returns config version v with its text (0: the latest).
func (c *Client) Config(ctx context.Context, v uint64) (fsm.ConfigVersion, error) {
	var cv fsm.ConfigVersion
	q := ""
	if v > 0 {
		q = "?version=" + strconv.FormatUint(v, 10)
	}
	return cv, c.do(ctx, http.MethodGet, "/v1/config"+q, nil, &cv)
}

// History returns every config version's metadata, newest first.
func (c *Client) History(ctx context.Context) ([]fsm.ConfigVersion, error) {
	var h []fsm.ConfigVersion
	return h, c.do(ctx, http.MethodGet, "/v1/config/history", nil, &h)
}

// Diff returns the unified diff from version a to version b.
func (c *Client) Diff(ctx context.Context, a, b string) (Diff, error) {
	var d Diff
	return d, c.do(ctx, http.MethodGet, "/v1/config/diff?a="+url.QueryEscape(a)+"&b="+url.QueryEscape(b), nil, &d)
}

// Rollback creates a new version with an older version's text.
func (c *Client) Rollback(ctx context.Context, req RollbackRequest) (ApplyResult, error) {
	var r ApplyResult
	return r, c.do(ctx, http.MethodPost, "/v1/config/rollback", req, &r)
}

// Peers returns the raft configuration.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var p []Peer
	return p, c.do(ctx, http.MethodGet, "/v1/raft/peers", nil, &p)
}

// RemovePeer removes a server from raft.
func (c *Client) RemovePeer(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/v1/raft/remove-peer", removePeerRequest{ID: id}, nil)
}

// Leave makes the node leave the cluster and stop.
func (c *Client) Leave(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/leave", nil, nil)
}

// do sends a request; an error answer comes back as *APIError.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("tandem API: %w (is the agent running?)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ae := &APIError{Status: resp.StatusCode}
		if err := json.NewDecoder(resp.Body).Decode(ae); err != nil || ae.Message == "" {
			return fmt.Errorf("tandem API: HTTP %s", resp.Status)
		}
		return ae
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("tandem API: decode answer: %w", err)
	}
	return nil
}
