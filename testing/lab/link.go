package lab

import (
	"errors"
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
)

// CutLink partitions host from the rest of the lab: its switch port leaves
// the bridge, so its frames go nowhere and none reach it. Both ends of the
// veth stay up, so the host sees nothing wrong with its own link, as behind
// a failed switch: a keepalived on it stays MASTER (split brain) rather than
// going to FAULT. Use SetLinkUp to make the host lose carrier instead.
func (l *Lab) CutLink(host string) error {
	return l.setPort(l.Host(host).Name, false, true)
}

// RestoreLink plugs a host cut by CutLink back into the bridge.
func (l *Lab) RestoreLink(host string) error {
	h := l.Host(host)
	if err := l.setPort(h.Name, true, true); err != nil {
		return err
	}
	return l.waitLink(h, true)
}

// SetLinkUp sets host's switch-side veth administratively up or down, and
// returns once the host sees the change. Down, the host's eth0 loses carrier
// (NO-CARRIER), as when a cable is pulled; a keepalived on it goes to FAULT.
func (l *Lab) SetLinkUp(host string, up bool) error {
	h := l.Host(host)
	if err := l.setPort(h.Name, true, up); err != nil {
		return err
	}
	return l.waitLink(h, up)
}

// waitLink waits until h's Link and its switch port are both operationally
// up, or, if !up, until h's Link is not. The kernel applies carrier changes
// asynchronously (up to a second later), dropping frames sent before.
func (l *Lab) waitLink(h *Host, up bool) error {
	operUp := func(nh *netlink.Handle, name string) (bool, error) {
		link, err := nh.LinkByName(name)
		if err != nil {
			return false, err
		}
		return link.Attrs().OperState == netlink.OperUp, nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var hostUp, portUp bool
		err := h.netlink(func(nh *netlink.Handle) (err error) {
			hostUp, err = operUp(nh, h.Link)
			return err
		})
		if err == nil {
			l.swMu.Lock()
			if l.sw == nil {
				err = errors.New("lab is closed")
			} else {
				portUp, err = operUp(l.sw, h.Name)
			}
			l.swMu.Unlock()
		}
		switch {
		case err != nil:
			return fmt.Errorf("host %s: link state: %w", h.Name, err)
		case up && hostUp && portUp, !up && !hostUp:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("host %s: link not %s after 5s (host side %v, switch side %v)",
				h.Name, map[bool]string{true: "up", false: "down"}[up], hostUp, portUp)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// setPort sets the switch port named port in or out of the bridge, and up or
// down.
func (l *Lab) setPort(port string, inBridge, up bool) error {
	l.swMu.Lock()
	defer l.swMu.Unlock()
	if l.sw == nil {
		return errors.New("switch: lab is closed")
	}
	link, err := l.sw.LinkByName(port)
	if err != nil {
		return fmt.Errorf("switch: find port %s: %w", port, err)
	}
	if inBridge {
		br, err := l.sw.LinkByName(bridgeName)
		if err != nil {
			return fmt.Errorf("switch: find %s: %w", bridgeName, err)
		}
		if err := l.sw.LinkSetMaster(link, br); err != nil {
			return fmt.Errorf("switch: plug %s into %s: %w", port, bridgeName, err)
		}
	} else if err := l.sw.LinkSetNoMaster(link); err != nil {
		return fmt.Errorf("switch: unplug %s from %s: %w", port, bridgeName, err)
	}
	set, verb := l.sw.LinkSetUp, "up"
	if !up {
		set, verb = l.sw.LinkSetDown, "down"
	}
	if err := set(link); err != nil {
		return fmt.Errorf("switch: set %s %s: %w", port, verb, err)
	}
	return nil
}
