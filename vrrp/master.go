package vrrp

import "time"

// handleTimers runs every timer that is due at the Clock's time.
func (in *Instance) handleTimers() {
	now := in.clock.Now()
	if in.timers.due(masterDownTimer, now) {
		in.timers.stop(masterDownTimer)
		if in.state == StateBackup {
			if in.canMast != nil && !in.canMast() {
				in.armDown(now, in.masterAdvInt, in.downReason)
			} else {
				in.becomeMaster(in.downReason)
			}
		}
	}
	if in.timers.due(advertTimer, now) {
		in.timers.stop(advertTimer)
		if in.state == StateMaster {
			in.sendAdvert(in.effPrio)
		}
	}
	if in.timers.due(garpDelayTimer, now) {
		in.timers.stop(garpDelayTimer)
		in.sendGARPs(in.cfg.GARPMasterRepeat)
	}
	if in.timers.due(garpRefreshTimer, now) {
		in.sendGARPs(in.cfg.GARPMasterRefreshRepeat)
		in.timers.set(garpRefreshTimer, now.Add(in.cfg.GARPMasterRefresh))
	}
	if in.timers.due(garpLowerPrioTimer, now) {
		in.timers.stop(garpLowerPrioTimer)
		in.sendGARPs(in.cfg.GARPLowerPrioRepeat)
	}
}

// becomeMaster is keepalived's order: advert first (so the old master
// drops the VIPs before our GARPs), then VIPs, then the first GARP burst.
func (in *Instance) becomeMaster(r Reason) {
	now := in.clock.Now()
	from := in.state
	in.state = StateMaster
	in.timers.stop(masterDownTimer)
	in.masterAdvInt = in.cfg.AdvertInterval
	in.sendAdvert(in.effPrio)
	in.addVIPs()
	in.sendGARPs(in.cfg.GARPMasterRepeat)
	if in.cfg.GARPMasterDelay > 0 {
		in.timers.set(garpDelayTimer, now.Add(in.cfg.GARPMasterDelay))
	}
	if in.cfg.GARPMasterRefresh > 0 {
		in.timers.set(garpRefreshTimer, now.Add(in.cfg.GARPMasterRefresh))
	}
	in.masterAddr, in.masterPrio = in.srcAddr(), in.effPrio
	in.stats.becameMaster.Add(1)
	in.announce(from, StateMaster, r)
}

// leaveMaster stops being master. Unlike keepalived, every pending GARP
// burst is cancelled: a backup must not announce VIPs it no longer holds.
func (in *Instance) leaveMaster(to State, r Reason, sendStop bool) {
	if sendStop {
		in.sendAdvert(PriorityStop)
	}
	in.removeVIPs()
	in.timers.stopAll()
	in.stats.releasedMaster.Add(1)
	in.setState(to, r)
	if to == StateBackup {
		in.preemptAt = time.Time{}
		in.armDown(in.clock.Now(), in.masterDown(), ReasonMasterDown)
	}
}

// sendAdvert sends one advert with priority prio to every destination. An
// advert at our own priority restarts the master's advert timer.
func (in *Instance) sendAdvert(prio uint8) {
	in.tx.Priority = prio
	src := in.srcAddr()
	for _, dst := range in.dsts {
		n, err := in.tx.Encode(in.txBuf[:], src, dst, in.checksum)
		if err == nil {
			err = in.conn.Send(in.txBuf[:n], dst)
		}
		if err != nil {
			in.stats.sendErrors.Add(1)
			in.log.Warn("vrrp: send advert", "dst", dst, "err", err)
			continue
		}
		in.stats.advertsSent.Add(1)
		if prio == PriorityStop {
			in.stats.prioZeroSent.Add(1)
		}
	}
	if in.state == StateMaster && prio != PriorityStop {
		in.timers.set(advertTimer, in.clock.Now().Add(in.cfg.AdvertInterval))
	}
}

// sendGARPs sends repeat rounds of one gratuitous ARP per VIP (excluded
// VIPs included), round by round as keepalived does.
func (in *Instance) sendGARPs(repeat int) {
	if in.state != StateMaster {
		return
	}
	for range repeat {
		for _, p := range in.allVIPs {
			if err := in.arp.SendGARP(in.cfg.Interface, p.Addr()); err != nil {
				in.stats.arpErrors.Add(1)
				in.log.Warn("vrrp: send gratuitous ARP", "ip", p.Addr(), "err", err)
				continue
			}
			in.stats.garpsSent.Add(1)
		}
	}
}

func (in *Instance) addVIPs() {
	for _, p := range in.allVIPs {
		if err := in.addrs.AddAddr(in.cfg.Interface, p); err != nil {
			in.stats.addrErrors.Add(1)
			in.log.Error("vrrp: add VIP", "vip", p, "interface", in.cfg.Interface, "err", err)
		}
	}
	in.vipsSet = true
}

func (in *Instance) removeVIPs() {
	if !in.vipsSet {
		return
	}
	for _, p := range in.allVIPs {
		if err := in.addrs.RemoveAddr(in.cfg.Interface, p); err != nil {
			in.stats.addrErrors.Add(1)
			in.log.Error("vrrp: remove VIP", "vip", p, "interface", in.cfg.Interface, "err", err)
		}
	}
	in.vipsSet = false
}
