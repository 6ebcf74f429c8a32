package vrrp

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// handlePacket validates a received packet and, only if it is valid, lets
// it act on the state machine. A dropped packet touches no timer: a flood
// of invalid adverts must not silence a master or hold off a backup.
func (in *Instance) handlePacket(p Packet) {
	if in.state != StateBackup && in.state != StateMaster {
		return
	}
	if len(p.Payload) >= 2 && p.Payload[1] != in.cfg.VRID {
		return // another VRID sharing the socket
	}
	if r := in.validate(p); r != 0 {
		in.stats.dropped[r].Add(1)
		if in.log.Enabled(context.Background(), slog.LevelDebug) {
			in.log.Debug("vrrp: dropped advert", "src", p.Src, "reason", r.String())
		}
		return
	}
	in.stats.advertsReceived.Add(1)
	if in.rx.Priority == PriorityStop {
		in.stats.prioZeroReceived.Add(1)
	}
	if in.state == StateBackup {
		in.backupRx(p.Src)
	} else {
		in.masterRx(p.Src)
	}
}

// validate decodes p into in.rx and applies every receive check of RFC 3768
// §7.1 / RFC 5798 §7.1 and keepalived; it returns 0 for a valid advert.
func (in *Instance) validate(p Packet) DropReason {
	a := &in.rx
	if err := a.Decode(p.Payload); err != nil {
		r, _ := err.(DropReason)
		return r
	}
	if in.unicast {
		if (in.cfg.MinTTL != 0 && p.TTL < in.cfg.MinTTL) || (in.cfg.MaxTTL != 0 && p.TTL > in.cfg.MaxTTL) {
			return ErrTTL
		}
	} else if p.TTL != TTL {
		return ErrTTL
	}
	if int(a.Version) != in.cfg.Version {
		return ErrVersion
	}
	if VerifyChecksum(p.Payload, p.Src, p.Dst, in.checksum) != nil {
		return ErrChecksum
	}
	if err := a.CheckAuth(in.cfg.AuthType, in.auth); err != nil {
		return err.(DropReason)
	}
	if err := a.CheckInterval(in.cfg.AdvertInterval); err != nil {
		return err.(DropReason)
	}
	if err := a.CheckAddrs(in.vips); err != nil {
		return err.(DropReason)
	}
	if p.Dst.IsValid() && p.Dst.IsMulticast() == in.unicast {
		return ErrDestination
	}
	return 0
}

// backupRx is RFC 3768 §6.4.2 with keepalived's preempt_delay.
func (in *Instance) backupRx(src netip.Addr) {
	a := &in.rx
	now := in.clock.Now()
	switch {
	case a.Priority == PriorityStop:
		// The master resigned: take over after Skew_Time only.
		in.armDown(now, in.skew(), ReasonPriorityZero)
	case in.cfg.NoPreempt || a.Priority >= in.effPrio ||
		(in.cfg.PreemptDelay > 0 && (in.preemptAt.IsZero() || in.preemptAt.After(now))):
		if in.cfg.Version == 3 {
			in.masterAdvInt = a.AdvertInterval()
		}
		in.armDown(now, in.masterDown(), ReasonMasterDown)
		in.masterAddr, in.masterPrio = src, a.Priority
		if in.cfg.PreemptDelay > 0 {
			if a.Priority >= in.effPrio {
				in.preemptAt = time.Time{}
			} else if in.preemptAt.IsZero() {
				in.preemptAt = now.Add(in.cfg.PreemptDelay)
			}
		}
	default:
		// A lower-priority master and we preempt: let Master_Down run out.
		in.masterAddr, in.masterPrio = src, a.Priority
		if in.log.Enabled(context.Background(), slog.LevelDebug) {
			in.log.Debug("vrrp: ignoring lower priority advert", "src", src, "priority", a.Priority)
		}
	}
}

// masterRx is RFC 3768 §6.4.3 as keepalived 2.2.7 implements it.
func (in *Instance) masterRx(src netip.Addr) {
	a := &in.rx
	cmp := src.Compare(in.srcAddr())
	higher := a.Priority > in.effPrio || (a.Priority == in.effPrio && cmp > 0)
	if a.Priority == PriorityStop || (in.cfg.HigherPrioSendAdvert && higher) {
		in.sendAdvert(in.effPrio)
		if a.Priority == PriorityStop {
			return
		}
	}
	if a.Priority == in.effPrio {
		if cmp == 0 {
			in.log.Warn("vrrp: equal priority advert from our own address", "src", src)
		} else if in.effPrio == PriorityOwner {
			// Two owners: keepalived lowers its own priority to break the tie.
			in.log.Warn("vrrp: another address owner (priority 255) advertises, lowering ours to 254", "src", src)
			in.basePrio = PriorityOwner - 1
			in.applyPriority()
			higher = true
		}
	}
	if a.Priority < in.effPrio || (a.Priority == in.effPrio && cmp < 0) {
		if in.onLower != nil && a.Priority < in.effPrio {
			in.onLower(src, a.Priority)
		}
		if !in.cfg.LowerPrioNoAdvert {
			in.sendAdvert(in.effPrio)
		}
		if in.cfg.GARPLowerPrioRepeat > 0 {
			in.sendGARPs(in.cfg.GARPLowerPrioRepeat)
			if in.cfg.GARPLowerPrioDelay > 0 {
				in.timers.set(garpLowerPrioTimer, in.clock.Now().Add(in.cfg.GARPLowerPrioDelay))
			}
		}
		return
	}
	if !higher {
		return // equal priority from our own address
	}
	if in.cfg.Version == 3 {
		in.masterAdvInt = a.AdvertInterval()
	}
	in.masterAddr, in.masterPrio = src, a.Priority
	in.leaveMaster(StateBackup, ReasonHigherPriority, false)
}
