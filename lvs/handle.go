package lvs

import (
	"errors"
	"time"
)

// Handle is the kernel's IPVS table, or a stand-in for it. Services
// returned by Services and Service carry their destinations, sorted.
// Errors name nothing: callers wrap them with the entry concerned.
type Handle interface {
	// Services returns the whole table.
	Services() ([]Service, error)
	// Service returns one service; ok is false when it does not exist.
	Service(k ServiceKey) (s Service, ok bool, err error)
	CreateService(s Service) error
	UpdateService(s Service) error
	DeleteService(k ServiceKey) error
	CreateDest(k ServiceKey, d Destination) error
	UpdateDest(k ServiceKey, d Destination) error
	DeleteDest(k ServiceKey, d Destination) error
	// Flush deletes every service.
	Flush() error
	// SetTimeouts sets the connection timeouts; a zero field is left as is.
	SetTimeouts(t Timeouts) error
}

// Timeouts are the IPVS connection timeouts (lvs_timeouts).
type Timeouts struct {
	TCP, TCPFin, UDP time.Duration
}

// ErrNotSupported is returned for IPVS features moby/ipvs cannot program.
var ErrNotSupported = errors.New("not supported by github.com/moby/ipvs v1.1.0")
