package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tandem-ha/tandem/fsm"
)

// ApplyRequest asks for a new config version.
type ApplyRequest struct {
	// Name is the file name used in diagnostics ("keepalived.conf").
	Name string `json:"name,omitempty"`
	// Text is the whole keepalived.conf, without includes.
	Text string `json:"text"`
	// Author and Message describe the change.
	Author  string `json:"author,omitempty"`
	Message string `json:"message,omitempty"`
	// RequestID makes retries safe: a request ID already committed returns
	// the version it created instead of creating another.
	RequestID string `json:"request_id,omitempty"`
	// IfNone applies only if the cluster has no config yet (seeding), and
	// IfDifferent only if Text differs from the latest version's.
	IfNone      bool `json:"if_none,omitempty"`
	IfDifferent bool `json:"if_different,omitempty"`
}

// ApplyResult is the outcome of an ApplyRequest or RollbackRequest.
type ApplyResult struct {
	// Version is the version created (or, for a duplicate request or an
	// ignored one, the existing version), without its text.
	Version fsm.ConfigVersion `json:"version"`
	// Duplicate is set when the RequestID had already been committed.
	Duplicate bool `json:"duplicate,omitempty"`
	// Ignored is set when IfNone or IfDifferent held the request back.
	Ignored bool `json:"ignored,omitempty"`
}

// RollbackRequest asks for a new version with an older version's text.
type RollbackRequest struct {
	// Version is the version to return to.
	Version   uint64 `json:"version"`
	Author    string `json:"author,omitempty"`
	Message   string `json:"message,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// Apply validates req.Text for every known node ID and commits it as the
// newest config version. On a follower the request is forwarded to the
// leader; without a reachable leader it fails with ErrNoQuorum within the
// apply timeout.
func (n *Node) Apply(ctx context.Context, req ApplyRequest) (ApplyResult, error) {
	return write(ctx, n, "/v1/internal/apply", req, n.leaderApply)
}

// Rollback commits a new version with the text of req.Version.
func (n *Node) Rollback(ctx context.Context, req RollbackRequest) (ApplyResult, error) {
	return write(ctx, n, "/v1/internal/rollback", req, n.leaderRollback)
}

// RemovePeer removes a server from the raft configuration.
func (n *Node) RemovePeer(ctx context.Context, id string) error {
	_, err := write(ctx, n, "/v1/internal/remove-peer", removePeerRequest{ID: id}, n.leaderRemovePeer)
	return err
}

// report records this node's apply result in the replicated state.
func (n *Node) report(ctx context.Context, r fsm.ReportApplied) error {
	_, err := write(ctx, n, "/v1/internal/report", r, n.leaderReport)
	return err
}

type removePeerRequest struct {
	ID string `json:"id"`
}

type empty struct{}

// write runs local on the leader, or forwards req to the leader's cluster
// API, retrying while leadership moves, within the apply timeout.
func write[Req, Resp any](ctx context.Context, n *Node, path string, req Req, local func(context.Context, Req) (Resp, error)) (Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timing.ApplyTimeout)
	defer cancel()
	for {
		resp, err := writeOnce(ctx, n, path, req, local)
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || ae.Code != CodeNotLeader {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return resp, noQuorum("leadership is changing; retry")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func writeOnce[Req, Resp any](ctx context.Context, n *Node, path string, req Req, local func(context.Context, Req) (Resp, error)) (Resp, error) {
	var resp Resp
	if n.raft.State() == raft.Leader {
		return local(ctx, req)
	}
	if n.opts.LocalOnly() {
		return resp, notLeader() // not elected yet: it will be, at once
	}
	addr, id := n.raft.LeaderWithID()
	if addr == "" {
		return resp, noQuorum("no leader: this node cannot reach a majority of the cluster")
	}
	api := n.leaderAPI(string(id), string(addr))
	body, err := json.Marshal(req)
	if err != nil {
		return resp, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, n.scheme()+"://"+api+path, bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := n.peers.Do(hreq)
	if err != nil {
		return resp, noQuorum("cannot reach leader %s at %s: %v", id, api, err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		ae := &APIError{Status: hresp.StatusCode}
		if err := json.NewDecoder(hresp.Body).Decode(ae); err != nil || ae.Message == "" {
			return resp, fmt.Errorf("leader %s: HTTP %s", id, hresp.Status)
		}
		return resp, ae
	}
	if err := json.NewDecoder(hresp.Body).Decode(&resp); err != nil {
		return resp, fmt.Errorf("leader %s: decode response: %w", id, err)
	}
	return resp, nil
}

// leaderAPI returns the cluster API address of the leader.
func (n *Node) leaderAPI(id, raftAddr string) string {
	if m, ok := n.members.get(id); ok && m.APIAddr != "" {
		return m.APIAddr
	}
	host, _, err := net.SplitHostPort(raftAddr)
	if err != nil {
		host = raftAddr
	}
	return net.JoinHostPort(host, strconv.Itoa(DefaultAPIPort))
}

func notLeader() *APIError {
	return &APIError{Status: http.StatusServiceUnavailable, Code: CodeNotLeader, Message: "not the leader"}
}

func (n *Node) leaderApply(ctx context.Context, req ApplyRequest) (ApplyResult, error) {
	if n.raft.State() != raft.Leader {
		return ApplyResult{}, notLeader()
	}
	if strings.TrimSpace(req.Text) == "" {
		return ApplyResult{}, badRequest("text", "text: the configuration is empty")
	}
	name := req.Name
	if name == "" {
		name = n.opts.ConfigName
	}
	if err := n.validate(name, req.Text); err != nil {
		return ApplyResult{}, err
	}
	n.applyMu.Lock()
	defer n.applyMu.Unlock()
	if req.IfNone || req.IfDifferent {
		// The FSM must hold everything committed before we look at it.
		if err := n.raft.Barrier(n.timing.ApplyTimeout).Error(); err != nil {
			return ApplyResult{}, raftError(err)
		}
		if latest, ok := n.fsm.Latest(); ok {
			if req.IfNone || latest.Text == req.Text {
				latest.Text = ""
				return ApplyResult{Version: latest, Ignored: true}, nil
			}
		}
	}
	data, err := fsm.EncodeApplyConfig(fsm.ApplyConfig{Text: req.Text, Author: req.Author,
		Message: req.Message, RequestID: req.RequestID})
	if err != nil {
		return ApplyResult{}, err
	}
	return n.commit(ctx, data)
}

func (n *Node) leaderRollback(ctx context.Context, req RollbackRequest) (ApplyResult, error) {
	if n.raft.State() != raft.Leader {
		return ApplyResult{}, notLeader()
	}
	if req.Version == 0 {
		return ApplyResult{}, badRequest("version", "version: required")
	}
	c, err := n.fsm.PrepareRollback(fsm.RollbackConfig{ToVersion: req.Version, Author: req.Author,
		Message: req.Message, RequestID: req.RequestID})
	if err != nil {
		if errors.Is(err, fsm.ErrNoSuchVersion) {
			return ApplyResult{}, notFound("version", "version %d: %v", req.Version, err)
		}
		return ApplyResult{}, badRequest("version", "version %d: %v", req.Version, err)
	}
	if err := n.validate(fmt.Sprintf("version-%d.conf", req.Version), c.Text); err != nil {
		return ApplyResult{}, err
	}
	n.applyMu.Lock()
	defer n.applyMu.Unlock()
	data, err := fsm.EncodeRollbackConfig(c)
	if err != nil {
		return ApplyResult{}, err
	}
	return n.commit(ctx, data)
}

func (n *Node) leaderReport(ctx context.Context, r fsm.ReportApplied) (empty, error) {
	if n.raft.State() != raft.Leader {
		return empty{}, notLeader()
	}
	data, err := fsm.EncodeReportApplied(r)
	if err != nil {
		return empty{}, err
	}
	_, err = n.commit(ctx, data)
	return empty{}, err
}

func (n *Node) leaderRemovePeer(ctx context.Context, req removePeerRequest) (empty, error) {
	if n.raft.State() != raft.Leader {
		return empty{}, notLeader()
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return empty{}, raftError(err)
	}
	if !slices.ContainsFunc(cf.Configuration().Servers, func(s raft.Server) bool { return string(s.ID) == req.ID }) {
		return empty{}, notFound("id", "id: %q is not a raft peer", req.ID)
	}
	n.log.Info("removing raft peer on request", "peer", req.ID)
	n.members.markRemoved(req.ID)
	return empty{}, raftError(waitFuture(ctx, n.raft.RemoveServer(raft.ServerID(req.ID), 0, n.timing.ApplyTimeout)))
}

// commit submits an encoded command and waits for the FSM's result, no
// longer than ctx allows: a leader that lost its majority fails fast.
func (n *Node) commit(ctx context.Context, data []byte) (ApplyResult, error) {
	f := n.raft.Apply(data, n.timing.ApplyTimeout)
	if err := waitFuture(ctx, f); err != nil {
		return ApplyResult{}, raftError(err)
	}
	res, err := fsm.ResultOf(f)
	if err != nil {
		return ApplyResult{}, &APIError{Status: http.StatusConflict, Code: CodeBadRequest, Message: err.Error()}
	}
	return ApplyResult{Version: res.Version, Duplicate: res.Duplicate}, nil
}

// waitFuture waits for f or ctx.
func waitFuture(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return noQuorum("not committed within the apply timeout (it may still commit: retry with the same request id)")
	}
}

// raftError maps raft's errors to API errors.
func raftError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return notLeader()
	case errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrRaftShutdown):
		return noQuorum("%v", err)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return err
}
