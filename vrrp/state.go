package vrrp

import (
	"fmt"
	"time"
)

// State is the VRRP state of an instance.
type State uint8

// The VRRP states; keepalived has the same four.
const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
)

// String returns keepalived's upper-case name of the state.
func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Reason says why a state transition happened.
type Reason uint8

// Transition reasons.
const (
	// ReasonStartup: the instance started (as backup, or as owner master).
	ReasonStartup Reason = iota + 1
	// ReasonMasterDown: no advert from a master within Master_Down.
	ReasonMasterDown
	// ReasonPriorityZero: the master resigned with priority 0 and we took over.
	ReasonPriorityZero
	// ReasonHigherPriority: a master saw a higher-priority advert (or equal
	// priority from a higher address) and stepped down.
	ReasonHigherPriority
	// ReasonFault: the instance was put into fault.
	ReasonFault
	// ReasonFaultCleared: the fault was cleared.
	ReasonFaultCleared
	// ReasonShutdown: the instance was stopped.
	ReasonShutdown
	// ReasonSyncGroup: another member of the instance's vrrp_sync_group
	// changed state and took this one with it.
	ReasonSyncGroup
)

// String returns a short description of the reason.
func (r Reason) String() string {
	switch r {
	case ReasonStartup:
		return "startup"
	case ReasonMasterDown:
		return "master down timer expired"
	case ReasonPriorityZero:
		return "master sent priority 0"
	case ReasonHigherPriority:
		return "higher priority advert received"
	case ReasonFault:
		return "fault"
	case ReasonFaultCleared:
		return "fault cleared"
	case ReasonShutdown:
		return "shutdown"
	case ReasonSyncGroup:
		return "sync group"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Transition is one state change of an instance.
type Transition struct {
	// Instance is the instance name.
	Instance string
	// From and To are the old and new states.
	From, To State
	// Reason says why.
	Reason Reason
	// At is the Clock time of the change.
	At time.Time
	// Priority is the effective priority at the time.
	Priority uint8
}
