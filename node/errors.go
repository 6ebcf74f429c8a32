package node

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrNoQuorum is wrapped by writes that cannot reach a leader backed by a
// majority of the cluster.
var ErrNoQuorum = errors.New("no quorum")

// Error codes carried by APIError.
const (
	CodeInvalidConfig = "invalid_config"
	CodeNoQuorum      = "no_quorum"
	CodeNotLeader     = "not_leader"
	CodeBadRequest    = "bad_request"
	CodeNotFound      = "not_found"
	CodeInternal      = "internal"
)

// APIError is an error as the APIs return it, in JSON.
type APIError struct {
	// Status is the HTTP status.
	Status int `json:"-"`
	// Code classifies the error (Code* constants).
	Code string `json:"code"`
	// Message says what went wrong.
	Message string `json:"error"`
	// Field names the request field at fault, if one is.
	Field string `json:"field,omitempty"`
	// Diagnostics lists config problems as FILE:LINE: message.
	Diagnostics []string `json:"diagnostics,omitempty"`
}

// Error returns the message followed by the diagnostics, one per line.
func (e *APIError) Error() string {
	if len(e.Diagnostics) == 0 {
		return e.Message
	}
	return e.Message + "\n" + strings.Join(e.Diagnostics, "\n")
}

// Unwrap makes errors.Is(err, ErrNoQuorum) work for no-quorum errors.
func (e *APIError) Unwrap() error {
	if e.Code == CodeNoQuorum {
		return ErrNoQuorum
	}
	return nil
}

func noQuorum(format string, args ...any) *APIError {
	return &APIError{Status: http.StatusServiceUnavailable, Code: CodeNoQuorum,
		Message: "no quorum: " + fmt.Sprintf(format, args...)}
}

func badRequest(field, format string, args ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: CodeBadRequest, Field: field,
		Message: fmt.Sprintf(format, args...)}
}

func notFound(field, format string, args ...any) *APIError {
	return &APIError{Status: http.StatusNotFound, Code: CodeNotFound, Field: field,
		Message: fmt.Sprintf(format, args...)}
}

// asAPIError returns err as an *APIError, wrapping other errors as internal.
func asAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, ErrNoQuorum) {
		return noQuorum("%v", err)
	}
	return &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: err.Error()}
}
