package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-ha/tandem/node"
)

// ctlFlags are the flags every `tandem ctl` command shares.
type ctlFlags struct {
	dataDir string
	socket  string
	json    bool
	timeout time.Duration
}

func (f *ctlFlags) client() *node.Client {
	s := f.socket
	if s == "" {
		s = filepath.Join(f.dataDir, node.SocketName)
	}
	return node.NewClient(s)
}

func (f *ctlFlags) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), f.timeout)
}

// print writes v as JSON with --json, and otherwise calls human.
func (f *ctlFlags) print(w io.Writer, v any, human func()) error {
	if f.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	human()
	return nil
}

// fail turns an API error into the command's error: the message and any
// FILE:LINE diagnostics on stderr (as JSON with --json), exit status 1.
func (f *ctlFlags) fail(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	var ae *node.APIError
	if f.json && errors.As(err, &ae) {
		enc := json.NewEncoder(cmd.ErrOrStderr())
		enc.SetIndent("", "  ")
		_ = enc.Encode(ae)
		return &exitError{code: 1}
	}
	return &exitError{code: 1, msg: err.Error()}
}

func newCtlCmd() *cobra.Command {
	f := &ctlFlags{}
	cmd := &cobra.Command{
		Use:   "ctl",
		Short: "Query and change the cluster through the local agent",
		Long: `ctl talks to the local agent's API on its unix socket, DATA_DIR/` + node.SocketName + `.
Every command takes --json for machine-readable output.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.dataDir, "data-dir", "/var/lib/tandem", "the agent's data dir (its socket is DATA_DIR/"+node.SocketName+")")
	pf.StringVar(&f.socket, "socket", "", "the agent's API socket (overrides --data-dir)")
	pf.BoolVar(&f.json, "json", false, "print JSON")
	pf.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up after this long")
	cmd.MarkFlagsMutuallyExclusive("data-dir", "socket")

	cfgCmd := &cobra.Command{Use: "config", Short: "Show, compare and roll back config versions"}
	cfgCmd.AddCommand(newCtlConfigShow(f), newCtlConfigHistory(f), newCtlConfigDiff(f), newCtlConfigRollback(f))
	raftCmd := &cobra.Command{Use: "raft", Short: "Inspect and change the raft configuration"}
	raftCmd.AddCommand(newCtlRaftPeers(f), newCtlRaftRemovePeer(f))
	cmd.AddCommand(newCtlStatus(f), newCtlMembers(f), newCtlApply(f), cfgCmd, raftCmd, newCtlLeave(f))
	return cmd
}

func newCtlStatus(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the leader, term, quorum and each node's applied config version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.ctx()
			defer cancel()
			st, err := f.client().Status(ctx)
			if err != nil {
				return f.fail(cmd, err)
			}
			w := cmd.OutOrStdout()
			return f.print(w, st, func() {
				leader := st.Leader
				if leader == "" {
					leader = "(none)"
				}
				fmt.Fprintf(w, "node:     %s (%s)\nleader:   %s\nterm:     %d\nquorum:   %v\n", st.NodeID, st.State, leader, st.Term, st.Quorum)
				fmt.Fprintf(w, "config:   latest version %d, this node runs version %d\n", st.LatestVersion, st.Running.Version)
				if st.Running.Error != "" {
					fmt.Fprintf(w, "          version %d failed: %s\n", st.Running.Attempted, st.Running.Error)
				}
				fmt.Fprintln(w)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NODE\tRAFT\tMEMBER\tHEALTH\tAPPLIED\tRESULT")
				for _, n := range st.Nodes {
					id := n.NodeID
					if n.Leader {
						id += " *"
					}
					res := "ok"
					switch {
					case n.AppliedVersion == 0:
						res = "-"
					case !n.AppliedOK:
						res = "error: " + n.AppliedError
					}
					health := "-"
					if n.Healthy != nil {
						health = map[bool]string{true: "healthy", false: "unhealthy"}[*n.Healthy]
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", id, n.Suffrage, n.Member, health, n.AppliedVersion, res)
				}
				tw.Flush()
			})
		},
	}
}

func newCtlMembers(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "members",
		Short: "List gossip members and whether they proved cluster membership",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.ctx()
			defer cancel()
			ms, err := f.client().Members(ctx)
			if err != nil {
				return f.fail(cmd, err)
			}
			w := cmd.OutOrStdout()
			return f.print(w, ms, func() {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NODE\tGOSSIP\tRAFT\tAPI\tSTATUS\tVERSION")
				for _, m := range ms {
					status := m.Status
					if m.Refusal != "" {
						status += " (" + m.Refusal + ")"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.NodeID, m.Addr, m.RaftAddr, m.APIAddr, status, m.Version)
				}
				tw.Flush()
			})
		},
	}
}

// applyOutput is what `ctl apply --json` prints.
type applyOutput struct {
	node.ApplyResult
	// Waited lists, with --wait, each live node's outcome.
	Waited []waitOutcome `json:"waited,omitempty"`
}

type waitOutcome struct {
	NodeID  string `json:"node_id"`
	Applied uint64 `json:"applied_version"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

func newCtlApply(f *ctlFlags) *cobra.Command {
	var file, msg, requestID string
	var wait bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE [-m MSG] [--wait]",
		Short: "Validate a keepalived.conf for every node and roll it out as a new version",
		Long: `apply sends FILE to the cluster's leader, which checks it as every node
would read it (conditional @NODE lines included) and commits it as the next
config version; every node then reloads it the way SIGHUP does. Errors come
back as FILE:LINE: message and nothing is committed.

Included files are inlined into the one text sent (the other nodes do not
have them); errors in a file with includes count lines in that bundle.

--wait returns once every live node runs the version, or says which did not.
Retrying with the same --request-id never creates a second version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, text, err := bundle(file)
			if err != nil {
				return &exitError{code: 1, msg: err.Error()}
			}
			if requestID == "" {
				requestID = newRequestID()
			}
			ctx, cancel := f.ctx()
			defer cancel()
			c := f.client()
			res, err := c.Apply(ctx, node.ApplyRequest{Name: name, Text: text, Author: author(),
				Message: msg, RequestID: requestID})
			if err != nil {
				return f.fail(cmd, err)
			}
			out := applyOutput{ApplyResult: res}
			var waitErr error
			if wait {
				out.Waited, waitErr = waitApplied(ctx, c, res.Version.Version)
			}
			w := cmd.OutOrStdout()
			if err := f.print(w, out, func() {
				dup := ""
				if res.Duplicate {
					dup = " (request already committed)"
				}
				fmt.Fprintf(w, "version %d committed%s (sha256 %.12s)\n", res.Version.Version, dup, res.Version.SHA256)
				for _, o := range out.Waited {
					switch {
					case o.OK:
						fmt.Fprintf(w, "  %s: applied version %d\n", o.NodeID, o.Applied)
					case o.Error != "":
						fmt.Fprintf(w, "  %s: FAILED: %s\n", o.NodeID, o.Error)
					default:
						fmt.Fprintf(w, "  %s: not applied (runs version %d)\n", o.NodeID, o.Applied)
					}
				}
			}); err != nil {
				return err
			}
			if waitErr != nil {
				return &exitError{code: 1, msg: waitErr.Error()}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "keepalived.conf to apply (required)")
	cmd.Flags().StringVarP(&msg, "message", "m", "", "what the change is for, kept in the history")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every live node runs the version")
	cmd.Flags().StringVar(&requestID, "request-id", "", "make retries safe: a committed request ID is never applied twice (default: random)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// waitApplied polls status until every live node has applied version v
// (or a newer one) or failed it; on timeout it says which did not.
func waitApplied(ctx context.Context, c *node.Client, v uint64) ([]waitOutcome, error) {
	for {
		st, err := c.Status(ctx)
		if err == nil {
			var out []waitOutcome
			var pending, failed []string
			for _, n := range st.Nodes {
				if !n.Alive {
					continue
				}
				o := waitOutcome{NodeID: n.NodeID, Applied: n.AppliedVersion,
					OK: n.AppliedOK && n.AppliedVersion >= v}
				if n.AppliedVersion == v && !n.AppliedOK {
					o.Error = n.AppliedError
					failed = append(failed, n.NodeID)
				} else if !o.OK {
					pending = append(pending, n.NodeID)
				}
				out = append(out, o)
			}
			if len(pending) == 0 {
				if len(failed) > 0 {
					return out, fmt.Errorf("version %d failed on %s", v, strings.Join(failed, ", "))
				}
				return out, nil
			}
			select {
			case <-ctx.Done():
				slices.Sort(pending)
				return out, fmt.Errorf("version %d not applied in time by %s", v, strings.Join(append(pending, failed...), ", "))
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for version %d: %w", v, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func author() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return name
}

func newCtlConfigShow(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show [VERSION]",
		Short: "Print a config version's text (default: the latest)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v uint64
			if len(args) == 1 {
				n, err := strconv.ParseUint(args[0], 10, 64)
				if err != nil {
					return &exitError{code: 2, msg: fmt.Sprintf("VERSION %q: not a number", args[0])}
				}
				v = n
			}
			ctx, cancel := f.ctx()
			defer cancel()
			cv, err := f.client().Config(ctx, v)
			if err != nil {
				return f.fail(cmd, err)
			}
			w := cmd.OutOrStdout()
			return f.print(w, cv, func() { fmt.Fprint(w, cv.Text) })
		},
	}
}

func newCtlConfigHistory(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "history",
		Short: "List config versions, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.ctx()
			defer cancel()
			h, err := f.client().History(ctx)
			if err != nil {
				return f.fail(cmd, err)
			}
			w := cmd.OutOrStdout()
			return f.print(w, h, func() {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tTIME\tAUTHOR\tSHA256\tMESSAGE")
				for _, v := range h {
					msg := v.Message
					if v.RollbackTo > 0 {
						msg = strings.TrimSpace(fmt.Sprintf("rollback to %d %s", v.RollbackTo, msg))
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%.12s\t%s\n", v.Version, v.Time.Local().Format(time.DateTime), v.Author, v.SHA256, msg)
				}
				tw.Flush()
			})
		},
	}
}

func newCtlConfigDiff(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "diff A B",
		Short: "Show the unified diff from version A to version B",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := f.ctx()
			defer cancel()
			d, err := f.client().Diff(ctx, args[0], args[1])
			if err != nil {
				return f.fail(cmd, err)
			}
			w := cmd.OutOrStdout()
			return f.print(w, d, func() { fmt.Fprint(w, d.Diff) })
		},
	}
}

func newCtlConfigRollback(f *ctlFlags) *cobra.Command {
	var msg string
	cmd := &cobra.Command{
		Use:   "rollback VERSION [-m MSG]",
		Short: "Make VERSION's text the newest version again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return &exitError{code: 2, msg: fmt.Sprintf("VERSION %q: not a number", args[0])}
			}
			ctx, cancel := f.ctx()
			defer cancel()
			res, err := f.client().Rollback(ctx, node.RollbackRequest{Version: v, Author: author(), Message: msg, RequestID: newRequestID()})
			if err != nil {
				return f.fail(cmd, err)
			}
			w := cmd.OutOrStdout()
			return f.print(w, res, func() {
				fmt.Fprintf(w, "version %d committed: the text of version %d\n", res.Version.Version, v)
			})
		},
	}
	cmd.Flags().StringVarP(&msg, "message", "m", "", "why, kept in the history")
	return cmd
}

func newCtlRaftPeers(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List the raft configuration's servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.ctx()
			defer cancel()
			ps, err := f.client().Peers(ctx)
			if err != nil {
				return f.fail(cmd, err)
			}
			w := cmd.OutOrStdout()
			return f.print(w, ps, func() {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tADDRESS\tSUFFRAGE\tLEADER")
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", p.ID, p.Address, p.Suffrage, p.Leader)
				}
				tw.Flush()
			})
		},
	}
}

func newCtlRaftRemovePeer(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-peer ID",
		Short: "Remove a server from the raft configuration",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := f.ctx()
			defer cancel()
			if err := f.client().RemovePeer(ctx, args[0]); err != nil {
				return f.fail(cmd, err)
			}
			w := cmd.OutOrStdout()
			return f.print(w, map[string]string{"removed": args[0]}, func() { fmt.Fprintf(w, "removed %s\n", args[0]) })
		},
	}
}

func newCtlLeave(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "leave",
		Short: "Make the local agent leave the cluster gracefully and stop",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.ctx()
			defer cancel()
			if err := f.client().Leave(ctx); err != nil {
				return f.fail(cmd, err)
			}
			w := cmd.OutOrStdout()
			return f.print(w, map[string]bool{"leaving": true}, func() { fmt.Fprintln(w, "leaving the cluster") })
		},
	}
}
