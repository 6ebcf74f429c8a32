package checks

import "time"

// Timing is a checker's schedule, as keepalived's keywords set it.
type Timing struct {
	// DelayLoop is the time between rounds (delay_loop).
	DelayLoop time.Duration
	// ConnectTimeout bounds each attempt (connect_timeout); the probe
	// applies it, the engine only reports it.
	ConnectTimeout time.Duration
	// Retry is how many more attempts a failing round makes before the
	// checker is declared down (retry, nb_get_retry).
	Retry int
	// DelayBeforeRetry spaces those attempts (delay_before_retry).
	DelayBeforeRetry time.Duration
	// Warmup bounds the random delay before the first round (warmup); 0
	// starts at once.
	Warmup time.Duration
	// Alpha starts the checker down until its first success (alpha);
	// otherwise it starts up.
	Alpha bool
	// AttemptLimit is a backstop on one attempt as a whole (all urls, a
	// script with its kill grace); 0 means none.
	AttemptLimit time.Duration
}

// CheckDef is one checker of one real server of one virtual server, ready
// to run.
type CheckDef struct {
	// Key identifies the checker across configuration changes:
	// "[VIP]:proto:port/[RIP]:port/TYPE#n".
	Key string
	// VirtualServer and RealServer name the pair as keepalived logs them.
	VirtualServer string
	RealServer    string
	// Weight is the real server's configured weight.
	Weight int
	// Type is the checker keyword, e.g. "HTTP_GET".
	Type string
	// Pos is where the checker is written, FILE:LINE.
	Pos string
	// Timing is the checker's schedule.
	Timing Timing
	// Probe makes one attempt.
	Probe Prober
	// Fingerprint captures every setting of the checker: an Update with
	// the same Key and Fingerprint keeps the running check (its state and
	// schedule); any difference restarts it.
	Fingerprint string
}

// ServerKey identifies the real server the checker belongs to:
// "VIRTUAL/REAL".
func (d *CheckDef) ServerKey() string { return d.VirtualServer + "/" + d.RealServer }

// Event is a change of a checker's verdict, with the verdict of its real
// server after the change.
type Event struct {
	// Key is the real server's key ("VIRTUAL/REAL", see CheckDef.ServerKey).
	Key           string
	VirtualServer string
	RealServer    string
	// Up is the real server's state: up only while all its checkers pass.
	Up bool
	// Weight is the real server's effective weight: its configured
	// weight, or the last misc_dynamic weight, plus FILE_CHECK offsets.
	Weight int
	// Checker is the key of the checker whose result caused the event;
	// CheckerType and CheckerPos describe it and CheckerUp is its verdict.
	Checker     string
	CheckerType string
	CheckerPos  string
	CheckerUp   bool
	// Attempts is how many attempts the deciding round made (1..retry+1).
	Attempts int
	// Reason is the checker's explanation ("connect: connection refused").
	Reason string
	// Time is when the round ended.
	Time time.Time
	// Coalesced counts earlier events from this checker that a slow
	// subscriber never saw because this one replaced them.
	Coalesced int
}

// ServerStatus is the current verdict on one real server.
type ServerStatus struct {
	Key           string
	VirtualServer string
	RealServer    string
	Up            bool
	Weight        int
	// Checked is true once every checker has finished a first round.
	Checked bool
	// Checker is the deciding checker: the first failing one when down,
	// else the last one whose verdict changed. Reason is its reason.
	Checker string
	Reason  string
	// Since is the last up/down change (or when checking began).
	Since    time.Time
	Checkers []CheckerStatus
}

// CheckerStatus is the current verdict of one checker.
type CheckerStatus struct {
	Key  string `json:"key"`
	Type string `json:"type"`
	Pos  string `json:"pos"`
	Up   bool   `json:"up"`
	// Checked is true once a first round has finished.
	Checked bool `json:"checked"`
	// Attempts is how many attempts the last finished round made.
	Attempts int `json:"attempts"`
	// Reason explains the last finished round.
	Reason string `json:"reason"`
	// Retrying holds the reason of a failed attempt in a round that is
	// still retrying; empty otherwise.
	Retrying string    `json:"retrying,omitempty"`
	LastRun  time.Time `json:"last_run"`
	Since    time.Time `json:"since"`
}
