package vrrp

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/vrrp/script"
)

// runScript runs vrrp_script s every interval until ctx is done and feeds
// its rise/fall-filtered result to t. A run that outlives its timeout (the
// interval when unset, as in keepalived) has its process group killed and
// counts as a failure.
func runScript(ctx context.Context, t *tracker, s config.VRRPScript, cmd script.Cmd, log *slog.Logger) {
	key := trackKey{trackScript, s.Name}
	interval := max(s.Interval, 10*time.Millisecond)
	cmd.Timeout = s.Timeout
	if cmd.Timeout <= 0 {
		cmd.Timeout = interval
	}
	rise, fall := max(s.Rise, 1), max(s.Fall, 1)
	up, streak := !s.InitFail, 0
	log = log.With("script", s.Name)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		res := script.Run(ctx, cmd)
		if ctx.Err() != nil {
			return
		}
		if res.TimedOut {
			log.Warn("vrrp: track script timed out, process group killed", "timeout", cmd.Timeout)
		}
		ok := res.OK()
		if ok == up {
			streak = 0
		} else {
			streak++
			if (ok && streak >= rise) || (!ok && streak >= fall) {
				up, streak = ok, 0
				if ok {
					log.Info("VRRP_Script(" + s.Name + ") succeeded")
				} else {
					log.Info("VRRP_Script("+s.Name+") failed", "result", res.String())
				}
				t.set(key, func(o *trackObj) { o.up = up })
			}
		}
		timer.Reset(max(interval-time.Since(start), 0))
	}
}

// filePollInterval is how often a track_file is re-read.
const filePollInterval = 200 * time.Millisecond

// readTrackFile reads the integer a track_file holds; like keepalived,
// anything that is not a number counts as 0.
func readTrackFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return v
}

// initTrackFile is init_file: create the file with the value (or
// overwrite it when asked).
func initTrackFile(tf config.TrackFile, log *slog.Logger) {
	if tf.InitFile == nil {
		return
	}
	if _, err := os.Stat(tf.File); err == nil && !tf.InitFile.Overwrite {
		return
	}
	os.MkdirAll(filepath.Dir(tf.File), 0o755)
	if err := os.WriteFile(tf.File, []byte(strconv.Itoa(tf.InitFile.Value)+"\n"), 0o644); err != nil {
		log.Error("vrrp: track_file init_file", "file", tf.File, "err", err)
	}
}

// pollFile re-reads a track_file until ctx is done.
func pollFile(ctx context.Context, t *tracker, tf config.TrackFile) {
	key := trackKey{trackFile, tf.Name}
	tick := time.NewTicker(filePollInterval)
	defer tick.Stop()
	for {
		v := readTrackFile(tf.File)
		t.set(key, func(o *trackObj) { o.value = v })
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// processPollInterval is how often /proc is scanned for track_process.
const processPollInterval = 500 * time.Millisecond

// countProcesses counts the processes matching tp in /proc.
func countProcesses(tp config.TrackProcess) int {
	if len(tp.Process) == 0 {
		return 0
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if matchProcess(tp, e.Name(), argv) {
			n++
		}
	}
	return n
}

func matchProcess(tp config.TrackProcess, pid string, argv []string) bool {
	name := tp.Process[0]
	if tp.FullCommand || strings.Contains(name, "/") {
		if argv[0] != name {
			return false
		}
	} else {
		comm, _ := os.ReadFile("/proc/" + pid + "/comm")
		if strings.TrimSpace(string(comm)) != name && filepath.Base(argv[0]) != name {
			return false
		}
	}
	params := tp.Process[1:]
	if len(params) == 0 {
		return true
	}
	got := argv[1:]
	switch tp.ParamMatch {
	case "initial":
		if len(got) < len(params) {
			return false
		}
		got = got[:len(params)]
	case "partial":
		return strings.Contains(strings.Join(got, " "), strings.Join(params, " "))
	}
	return strings.Join(got, "\x00") == strings.Join(params, "\x00")
}

// pollProcess scans /proc for tp until ctx is done; it is up while the
// number of matching processes is within quorum..quorum_max.
func pollProcess(ctx context.Context, t *tracker, tp config.TrackProcess) {
	key := trackKey{trackProcess, tp.Name}
	quorum := max(tp.Quorum, 1)
	tick := time.NewTicker(processPollInterval)
	defer tick.Stop()
	for {
		n := countProcesses(tp)
		up := n >= quorum && (tp.QuorumMax == nil || n <= *tp.QuorumMax)
		t.set(key, func(o *trackObj) { o.up = up })
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
