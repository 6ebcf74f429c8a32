package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/tandem-ha/tandem/fsm"
)

// maxBody bounds request bodies: a 1,000-virtual-server config is ~1 MB.
const maxBody = 64 << 20

// handler returns the API's routes; the cluster API adds the internal
// ones, reachable only with a cluster certificate.
func (n *Node) handler(cluster bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) { reply(w, n.Status(), nil) })
	mux.HandleFunc("GET /v1/members", func(w http.ResponseWriter, r *http.Request) { reply(w, n.Members(), nil) })
	mux.HandleFunc("POST /v1/apply", func(w http.ResponseWriter, r *http.Request) {
		var req ApplyRequest
		if decode(w, r, &req) {
			res, err := n.Apply(r.Context(), req)
			reply(w, res, err)
		}
	})
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, r *http.Request) {
		v, err := n.configVersion(r.URL.Query().Get("version"), "version")
		reply(w, v, err)
	})
	mux.HandleFunc("GET /v1/config/history", func(w http.ResponseWriter, r *http.Request) {
		reply(w, n.fsm.History(), nil)
	})
	mux.HandleFunc("GET /v1/config/diff", func(w http.ResponseWriter, r *http.Request) {
		d, err := n.diff(r.URL.Query().Get("a"), r.URL.Query().Get("b"))
		reply(w, d, err)
	})
	mux.HandleFunc("POST /v1/config/rollback", func(w http.ResponseWriter, r *http.Request) {
		var req RollbackRequest
		if decode(w, r, &req) {
			res, err := n.Rollback(r.Context(), req)
			reply(w, res, err)
		}
	})
	mux.HandleFunc("GET /v1/raft/peers", func(w http.ResponseWriter, r *http.Request) {
		p, err := n.Peers()
		reply(w, p, err)
	})
	mux.HandleFunc("POST /v1/raft/remove-peer", func(w http.ResponseWriter, r *http.Request) {
		var req removePeerRequest
		if decode(w, r, &req) {
			if req.ID == "" {
				reply(w, nil, badRequest("id", "id: required"))
				return
			}
			reply(w, empty{}, n.RemovePeer(r.Context(), req.ID))
		}
	})
	if !cluster {
		// Leaving is the local operator's decision, never a peer's.
		mux.HandleFunc("POST /v1/leave", func(w http.ResponseWriter, r *http.Request) {
			reply(w, empty{}, nil)
			go n.Leave(context.Background())
		})
	}
	if cluster {
		mux.HandleFunc("GET /v1/internal/hello", func(w http.ResponseWriter, r *http.Request) {
			hasState := n.raft.LastIndex() > 0
			reply(w, hello{NodeID: n.id, RaftAddr: string(n.raftAddr), HasState: hasState, Version: n.opts.Version}, nil)
		})
		mux.HandleFunc("GET /v1/internal/stats", func(w http.ResponseWriter, r *http.Request) { reply(w, n.raftStats(), nil) })
		internal(mux, "/v1/internal/apply", n.leaderApply)
		internal(mux, "/v1/internal/rollback", n.leaderRollback)
		internal(mux, "/v1/internal/report", n.leaderReport)
		internal(mux, "/v1/internal/remove-peer", n.leaderRemovePeer)
	}
	return mux
}

// internal routes a forwarded write to the leader-side function; it never
// forwards again, so a stale leader answers not_leader and the caller
// retries.
func internal[Req, Resp any](mux *http.ServeMux, path string, fn func(context.Context, Req) (Resp, error)) {
	mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if decode(w, r, &req) {
			res, err := fn(r.Context(), req)
			reply(w, res, err)
		}
	})
}

// decode reads a JSON body, answering a 400 naming the field on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		field := ""
		if errors.As(err, &te) {
			field = te.Field
		} else if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
			field = strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`)
		}
		reply(w, nil, badRequest(field, "request body: %v", err))
		return false
	}
	return true
}

// reply writes v, or err as a JSON APIError.
func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		ae := asAPIError(err)
		w.WriteHeader(ae.Status)
		_ = json.NewEncoder(w).Encode(ae)
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// configVersion returns version s (empty: the latest) with its text.
func (n *Node) configVersion(s, field string) (fsm.ConfigVersion, error) {
	if s == "" || s == "latest" {
		v, ok := n.fsm.Latest()
		if !ok {
			return v, notFound(field, "the cluster has no configuration yet")
		}
		return v, nil
	}
	num, err := strconv.ParseUint(s, 10, 64)
	if err != nil || num == 0 {
		return fsm.ConfigVersion{}, badRequest(field, "%s: %q is not a version number", field, s)
	}
	v, err := n.fsm.Version(num)
	if errors.Is(err, fsm.ErrNoSuchVersion) {
		return v, notFound(field, "%s: version %d does not exist", field, num)
	}
	if err != nil {
		return v, &APIError{Status: http.StatusGone, Code: CodeNotFound, Field: field, Message: fmt.Sprintf("%s: %v", field, err)}
	}
	return v, nil
}

// Diff is a unified diff between two config versions.
type Diff struct {
	A    uint64 `json:"a"`
	B    uint64 `json:"b"`
	Diff string `json:"diff"`
}

func (n *Node) diff(a, b string) (Diff, error) {
	if a == "" {
		return Diff{}, badRequest("a", "a: required")
	}
	va, err := n.configVersion(a, "a")
	if err != nil {
		return Diff{}, err
	}
	vb, err := n.configVersion(b, "b")
	if err != nil {
		return Diff{}, err
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(va.Text),
		B:        difflib.SplitLines(vb.Text),
		FromFile: fmt.Sprintf("version %d", va.Version),
		ToFile:   fmt.Sprintf("version %d", vb.Version),
		FromDate: va.Time.Format(time.RFC3339),
		ToDate:   vb.Time.Format(time.RFC3339),
		Context:  3,
	})
	return Diff{A: va.Version, B: vb.Version, Diff: text}, err
}
