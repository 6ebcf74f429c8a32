package node

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"

	hclog "github.com/hashicorp/go-hclog"
)

// slogWriter turns the line-oriented logs of raft (hclog) and memberlist
// (log.Logger with "[LEVEL] " prefixes) into slog records.
type slogWriter struct {
	log *slog.Logger
}

func (w slogWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		w.line(strings.TrimSpace(string(line)))
	}
	return len(p), nil
}

func (w slogWriter) line(s string) {
	if s == "" {
		return
	}
	level := slog.LevelInfo
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i > 0 {
			switch s[1:i] {
			case "TRACE", "DEBUG":
				level = slog.LevelDebug
			case "WARN":
				level = slog.LevelWarn
			case "ERR", "ERROR":
				level = slog.LevelError
			}
			s = strings.TrimSpace(s[i+1:])
		}
	}
	w.log.Log(context.Background(), level, s)
}

// hclogFor returns an hclog.Logger writing into log.
func hclogFor(l *slog.Logger, name string) hclog.Logger {
	level := hclog.Info
	if l.Enabled(context.Background(), slog.LevelDebug) {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:        name,
		Level:       level,
		Output:      slogWriter{l},
		DisableTime: true,
	})
}

// stdlogFor returns a *log.Logger writing into l, for memberlist and
// net/http.
func stdlogFor(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{l}, "", 0)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// refusalWriter logs net/http's server errors; a failed TLS handshake is
// a peer without a valid cluster certificate being refused.
type refusalWriter struct {
	log *slog.Logger
}

func (w refusalWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		s := strings.TrimSpace(string(line))
		if strings.Contains(s, "TLS handshake error") {
			w.log.Warn("refused cluster API connection: TLS handshake failed (peer has no valid cluster certificate?)", "detail", s)
		} else if s != "" {
			w.log.Warn(s)
		}
	}
	return len(p), nil
}
