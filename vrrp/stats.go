package vrrp

import "sync/atomic"

// Stats are the counters of one instance, a snapshot taken by
// Instance.Stats.
type Stats struct {
	// AdvertsReceived counts valid adverts for our VRID.
	AdvertsReceived uint64
	// AdvertsSent counts adverts sent (one per destination).
	AdvertsSent uint64
	// PriorityZeroReceived and PriorityZeroSent count priority-0 adverts.
	PriorityZeroReceived, PriorityZeroSent uint64
	// BecameMaster and ReleasedMaster count entries to and exits from MASTER.
	BecameMaster, ReleasedMaster uint64
	// GARPsSent counts gratuitous ARPs sent.
	GARPsSent uint64
	// SendErrors, AddrErrors and ARPErrors count failed sends, VIP
	// changes and GARPs.
	SendErrors, AddrErrors, ARPErrors uint64
	// Dropped counts dropped packets per DropReason (index 0 is unused).
	Dropped [numDropReasons]uint64
}

// DroppedTotal returns the number of dropped packets over all reasons.
func (s *Stats) DroppedTotal() uint64 {
	var n uint64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

// counters is the live, concurrently readable form of Stats.
type counters struct {
	advertsReceived, advertsSent      atomic.Uint64
	prioZeroReceived, prioZeroSent    atomic.Uint64
	becameMaster, releasedMaster      atomic.Uint64
	garpsSent                         atomic.Uint64
	sendErrors, addrErrors, arpErrors atomic.Uint64
	dropped                           [numDropReasons]atomic.Uint64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		AdvertsReceived:      c.advertsReceived.Load(),
		AdvertsSent:          c.advertsSent.Load(),
		PriorityZeroReceived: c.prioZeroReceived.Load(),
		PriorityZeroSent:     c.prioZeroSent.Load(),
		BecameMaster:         c.becameMaster.Load(),
		ReleasedMaster:       c.releasedMaster.Load(),
		GARPsSent:            c.garpsSent.Load(),
		SendErrors:           c.sendErrors.Load(),
		AddrErrors:           c.addrErrors.Load(),
		ARPErrors:            c.arpErrors.Load(),
	}
	for i := range c.dropped {
		s.Dropped[i] = c.dropped[i].Load()
	}
	return s
}
