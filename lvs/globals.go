package lvs

import (
	"fmt"

	"github.com/tandem-ha/tandem/config"
)

// Setup applies the global LVS settings before the first Apply: lvs_flush
// empties the table (keepalived's start-up flush; without it the table is
// adopted), lvs_timeouts sets the connection timeouts. lvs_sync_daemon is
// refused with ErrNotSupported: moby/ipvs has no command for the sync
// daemon.
func Setup(h Handle, g *config.GlobalDefs) error {
	if g.LVSSyncDaemon != nil {
		return fmt.Errorf("lvs_sync_daemon %s: %w (start it with ipvsadm --start-daemon)", g.LVSSyncDaemon.Interface, ErrNotSupported)
	}
	if g.LVSFlush {
		if err := h.Flush(); err != nil {
			return fmt.Errorf("ipvs: lvs_flush: %w", err)
		}
	}
	t := Timeouts{TCP: g.LVSTimeouts.TCP, TCPFin: g.LVSTimeouts.TCPFin, UDP: g.LVSTimeouts.UDP}
	if t != (Timeouts{}) {
		if err := h.SetTimeouts(t); err != nil {
			return fmt.Errorf("ipvs: lvs_timeouts tcp %s tcpfin %s udp %s: %w", t.TCP, t.TCPFin, t.UDP, err)
		}
	}
	return nil
}
