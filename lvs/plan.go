package lvs

import "fmt"

// OpKind is the kind of a table operation.
type OpKind int

// Operation kinds, one per IPVS netlink command that changes the table.
const (
	CreateService OpKind = iota + 1
	UpdateService
	DeleteService
	CreateDest
	UpdateDest
	DeleteDest
)

// String names the operation.
func (k OpKind) String() string {
	switch k {
	case CreateService:
		return "create service"
	case UpdateService:
		return "update service"
	case DeleteService:
		return "delete service"
	case CreateDest:
		return "create destination"
	case UpdateDest:
		return "update destination"
	case DeleteDest:
		return "delete destination"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op is one change to the table. Service ops carry the whole service (its
// Dests unused); destination ops carry the service key in Service.Key.
type Op struct {
	Kind    OpKind
	Service Service
	Dest    Destination
}

// String describes the op with the service and destination concerned.
func (o Op) String() string {
	switch o.Kind {
	case CreateService, UpdateService:
		return fmt.Sprintf("%s %s", o.Kind, o.Service)
	case DeleteService:
		return fmt.Sprintf("%s %s", o.Kind, o.Service.Key)
	}
	return fmt.Sprintf("%s %s (%s weight %d) of %s", o.Kind, o.Dest.AddrPort(), o.Dest.Method, o.Dest.Weight, o.Service.Key)
}

// Plan returns the fewest operations that turn actual into desired.
// Services of actual that desired lacks are deleted only when owned says
// they are ours; a service in desired is made exactly equal to it, losing
// any destination someone else added. Destinations are deleted before
// others are created (so that a thresholds or weight budget is never
// exceeded), and services are deleted last.
func Plan(desired, actual Table, owned func(ServiceKey) bool) []Op {
	var dels, svcs, dests, svcDels []Op
	for _, want := range desired.Services {
		have, ok := actual.Service(want.Key)
		if !ok {
			svcs = append(svcs, Op{Kind: CreateService, Service: want})
			for _, d := range want.Dests {
				dests = append(dests, Op{Kind: CreateDest, Service: want, Dest: d})
			}
			continue
		}
		if !want.sameAttrs(have) {
			svcs = append(svcs, Op{Kind: UpdateService, Service: want})
		}
		for _, d := range have.Dests {
			if _, ok := want.Dest(d.AddrPort()); !ok {
				dels = append(dels, Op{Kind: DeleteDest, Service: want, Dest: d})
			}
		}
		for _, d := range want.Dests {
			cur, ok := have.Dest(d.AddrPort())
			switch {
			case !ok:
				dests = append(dests, Op{Kind: CreateDest, Service: want, Dest: d})
			case !sameDest(cur, d):
				dests = append(dests, Op{Kind: UpdateDest, Service: want, Dest: d})
			}
		}
	}
	for _, have := range actual.Services {
		if _, ok := desired.Service(have.Key); !ok && owned != nil && owned(have.Key) {
			svcDels = append(svcDels, Op{Kind: DeleteService, Service: have})
		}
	}
	out := append(dels, svcs...)
	out = append(out, dests...)
	return append(out, svcDels...)
}
