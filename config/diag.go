package config

import (
	"errors"
	"fmt"
	"strings"
)

// Pos is a place in a configuration file.
type Pos struct {
	File string
	Line int
}

// String renders the position as FILE:LINE, the form editors and
// compilers use, so operators can jump to it.
func (p Pos) String() string {
	if p.File == "" && p.Line == 0 {
		return "<config>"
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Severity says whether a Diagnostic stops the configuration from loading.
type Severity int

const (
	// Warning is a problem keepalived would tolerate (often silently).
	Warning Severity = iota
	// Error makes the configuration unusable.
	Error
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Diagnostic is one problem found in a configuration.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
}

// String renders the diagnostic as "FILE:LINE: message" (warnings are
// prefixed with "warning: ").
func (d Diagnostic) String() string {
	if d.Severity == Warning {
		return fmt.Sprintf("%s: warning: %s", d.Pos, d.Msg)
	}
	return fmt.Sprintf("%s: %s", d.Pos, d.Msg)
}

// Diagnostics is the list of problems found while loading a configuration,
// in the order they were found.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an Error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the Error diagnostics.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Warnings returns only the Warning diagnostics.
func (ds Diagnostics) Warnings() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Warning {
			out = append(out, d)
		}
	}
	return out
}

// Err returns nil when there is no Error, and otherwise an error listing
// every error diagnostic, one "FILE:LINE: message" per line.
func (ds Diagnostics) Err() error {
	errs := ds.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &LoadError{Diagnostics: errs}
}

// String renders all diagnostics, one per line.
func (ds Diagnostics) String() string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// LoadError is returned when a configuration has errors.
type LoadError struct {
	Diagnostics Diagnostics
}

func (e *LoadError) Error() string {
	return strings.TrimSuffix(e.Diagnostics.String(), "\n")
}

// AsLoadError unwraps err into a *LoadError when it is one.
func AsLoadError(err error) (*LoadError, bool) {
	var le *LoadError
	ok := errors.As(err, &le)
	return le, ok
}

// diagSink collects diagnostics; the loader's stages share one.
type diagSink struct {
	list   Diagnostics
	strict bool
}

func (s *diagSink) errorf(p Pos, format string, args ...any) {
	s.list = append(s.list, Diagnostic{Pos: p, Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

func (s *diagSink) warnf(p Pos, format string, args ...any) {
	sev := Warning
	if s.strict {
		sev = Error
	}
	s.list = append(s.list, Diagnostic{Pos: p, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}
