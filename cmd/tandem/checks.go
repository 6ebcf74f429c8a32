package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-ha/tandem/checks"
	"github.com/tandem-ha/tandem/config"
)

func newChecksCmd() *cobra.Command {
	var f configFlags
	var watch, asJSON bool
	cmd := &cobra.Command{
		Use:   "checks -f FILE [-i NODE] [--watch] [--json]",
		Short: "Run every health checker of a keepalived.conf and show each real server's state",
		Long: `checks runs every checker of every real server in FILE, from this host,
with keepalived's semantics (connect_timeout, retry, delay_before_retry,
alpha; a real server is up only while all its checkers pass), and prints one
row per real server: virtual server, real server, state, effective weight,
the deciding checker with its FILE:LINE, the last change and the reason.

It waits until every checker has finished its first round (at most the
longest connect_timeout × (retry+1) plus the retry delays); the first round
starts at once rather than after warmup. --watch then keeps checking on each
checker's delay_loop and prints every change as it happens, until
interrupted. --json prints the rows as a JSON array, or with --watch one JSON
event per line.

Configuration errors are printed as FILE:LINE: message and exit with
status 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, diags := f.load()
			var defs []checks.CheckDef
			if !diags.HasErrors() {
				var more config.Diagnostics
				defs, more = checks.FromConfig(cfg)
				diags = append(diags, more...)
			}
			if err := f.report(cmd.ErrOrStderr(), diags); err != nil {
				return err
			}
			if len(defs) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no real server has a checker")
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runChecks(ctx, cmd.OutOrStdout(), defs, watch, asJSON)
		},
	}
	f.register(cmd, false)
	cmd.Flags().BoolVar(&watch, "watch", false, "keep checking and print every change")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// firstRoundBound is how long the slowest checker's first round may take.
func firstRoundBound(defs []checks.CheckDef) time.Duration {
	var bound time.Duration
	for _, d := range defs {
		t := d.Timing
		attempt := max(t.AttemptLimit, t.ConnectTimeout)
		bound = max(bound, time.Duration(t.Retry+1)*attempt+time.Duration(t.Retry)*t.DelayBeforeRetry)
	}
	return bound + time.Second
}

func runChecks(ctx context.Context, out io.Writer, defs []checks.CheckDef, watch, asJSON bool) error {
	for i := range defs {
		defs[i].Timing.Warmup = 0
	}
	e := checks.NewEngine(checks.Options{Logger: slog.New(slog.DiscardHandler)})
	sub := e.Subscribe()
	defer sub.Close()
	e.Update(defs)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	defer func() { cancel(); <-done }()

	if watch {
		return watchChecks(ctx, out, sub, asJSON)
	}
	deadline := time.NewTimer(firstRoundBound(defs))
	defer deadline.Stop()
	for !allChecked(e.Status()) {
		select {
		case <-sub.Ready():
			sub.Take()
		case <-deadline.C:
			return printRows(out, e.Status(), asJSON)
		case <-ctx.Done():
			return printRows(out, e.Status(), asJSON)
		}
	}
	return printRows(out, e.Status(), asJSON)
}

func allChecked(st []checks.ServerStatus) bool {
	for _, s := range st {
		if !s.Checked {
			return false
		}
	}
	return len(st) > 0
}

// checkRow is one real server as printed.
type checkRow struct {
	VirtualServer string                 `json:"virtual_server"`
	RealServer    string                 `json:"real_server"`
	State         string                 `json:"state"`
	Weight        int                    `json:"weight"`
	Checker       string                 `json:"checker"`
	CheckerType   string                 `json:"checker_type"`
	Pos           string                 `json:"pos"`
	Reason        string                 `json:"reason"`
	LastChange    time.Time              `json:"last_change"`
	Checkers      []checks.CheckerStatus `json:"checkers"`
}

func rowOf(s checks.ServerStatus) checkRow {
	r := checkRow{VirtualServer: s.VirtualServer, RealServer: s.RealServer, State: "DOWN", Weight: s.Weight,
		Checker: s.Checker, Reason: s.Reason, LastChange: s.Since, Checkers: s.Checkers}
	if s.Up {
		r.State = "UP"
	}
	for _, c := range s.Checkers {
		if c.Key == s.Checker {
			r.CheckerType, r.Pos = c.Type, c.Pos
		}
	}
	if !s.Checked {
		r.State = "PENDING"
		var waiting []string
		for _, c := range s.Checkers {
			if !c.Checked {
				w := c.Type + " " + c.Pos + " has no verdict yet"
				if c.Retrying != "" {
					w += " (retrying after: " + c.Retrying + ")"
				}
				waiting = append(waiting, w)
			}
		}
		r.Reason = strings.Join(waiting, "; ")
	}
	return r
}

func printRows(out io.Writer, st []checks.ServerStatus, asJSON bool) error {
	rows := make([]checkRow, len(st))
	for i, s := range st {
		rows[i] = rowOf(s)
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VIRTUAL SERVER\tREAL SERVER\tSTATE\tWEIGHT\tCHECKER\tLAST CHANGE\tREASON")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.VirtualServer, r.RealServer, r.State, r.Weight,
			strings.TrimSpace(r.CheckerType+" "+r.Pos), r.LastChange.Format("2006-01-02 15:04:05"), r.Reason)
	}
	return tw.Flush()
}

// watchEvent is one change as printed by --watch --json.
type watchEvent struct {
	Time          time.Time `json:"time"`
	VirtualServer string    `json:"virtual_server"`
	RealServer    string    `json:"real_server"`
	State         string    `json:"state"`
	Weight        int       `json:"weight"`
	Checker       string    `json:"checker"`
	CheckerType   string    `json:"checker_type"`
	Pos           string    `json:"pos"`
	CheckerState  string    `json:"checker_state"`
	Attempts      int       `json:"attempts"`
	Reason        string    `json:"reason"`
	Missed        int       `json:"missed,omitempty"`
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}

func watchChecks(ctx context.Context, out io.Writer, sub *checks.Subscription, asJSON bool) error {
	enc := json.NewEncoder(out)
	for {
		evs, err := sub.Next(ctx)
		if err != nil {
			return nil // interrupted
		}
		for _, ev := range evs {
			w := watchEvent{Time: ev.Time, VirtualServer: ev.VirtualServer, RealServer: ev.RealServer,
				State: upDown(ev.Up), Weight: ev.Weight, Checker: ev.Checker, CheckerType: ev.CheckerType,
				Pos: ev.CheckerPos, CheckerState: upDown(ev.CheckerUp), Attempts: ev.Attempts, Reason: ev.Reason,
				Missed: ev.Coalesced}
			if asJSON {
				if err := enc.Encode(w); err != nil {
					return err
				}
				continue
			}
			line := fmt.Sprintf("%s %s %s %s weight %d: %s %s %s", w.Time.Format("2006-01-02 15:04:05.000"),
				w.VirtualServer, w.RealServer, w.State, w.Weight, w.CheckerType, w.Pos, w.CheckerState)
			if w.Attempts > 1 {
				line += fmt.Sprintf(" after %d attempts", w.Attempts)
			}
			line += ": " + w.Reason
			if w.Missed > 0 {
				line += fmt.Sprintf(" (%d earlier changes not shown)", w.Missed)
			}
			if _, err := fmt.Fprintln(out, line); err != nil {
				return err
			}
		}
	}
}
