package lvs

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// Difference markers of SideBySide.
const (
	MarkSame    = ' '
	MarkMissing = '+' // desired, missing from the kernel
	MarkExtra   = '-' // in the kernel, not desired
	MarkDiffers = '~' // in both, with different attributes
)

// SideBySide writes the desired and the kernel's table next to each other
// in ipvsadm -Ln's format, one entry a row, each row starting with a
// difference marker, and returns how many rows differ.
func SideBySide(w io.Writer, desired, actual Table) (int, error) {
	type row struct {
		mark        byte
		left, right string
	}
	rows := []row{
		{MarkSame, "DESIRED (configuration)", "KERNEL"},
		{MarkSame, "Prot LocalAddress:Port Scheduler Flags", "Prot LocalAddress:Port Scheduler Flags"},
		{MarkSame, "  -> RemoteAddress:Port           Forward Weight", "  -> RemoteAddress:Port           Forward Weight"},
	}
	var keys []ServiceKey
	for _, t := range []Table{desired, actual} {
		for _, s := range t.Services {
			if !slices.Contains(keys, s.Key) {
				keys = append(keys, s.Key)
			}
		}
	}
	slices.SortFunc(keys, compareServiceKeys)
	diffs := 0
	add := func(r row) {
		if r.mark != MarkSame {
			diffs++
		}
		rows = append(rows, r)
	}
	for _, k := range keys {
		want, wok := desired.Service(k)
		have, hok := actual.Service(k)
		switch {
		case wok && hok && want.sameAttrs(have):
			add(row{MarkSame, want.String(), have.String()})
		case wok && hok:
			add(row{MarkDiffers, want.String(), have.String()})
		case wok:
			add(row{MarkMissing, want.String(), ""})
		default:
			add(row{MarkExtra, "", have.String()})
		}
		var aps []netip.AddrPort
		for _, d := range append(slices.Clone(want.Dests), have.Dests...) {
			if !slices.Contains(aps, d.AddrPort()) {
				aps = append(aps, d.AddrPort())
			}
		}
		slices.SortFunc(aps, netip.AddrPort.Compare)
		for _, ap := range aps {
			wd, wok := want.Dest(ap)
			hd, hok := have.Dest(ap)
			switch {
			case wok && hok && sameDest(wd, hd):
				add(row{MarkSame, "  " + wd.String(), "  " + hd.String()})
			case wok && hok:
				add(row{MarkDiffers, "  " + wd.String(), "  " + hd.String()})
			case wok:
				add(row{MarkMissing, "  " + wd.String(), ""})
			default:
				add(row{MarkExtra, "", "  " + hd.String()})
			}
		}
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r.left))
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.TrimRight(fmt.Sprintf("%c %-*s | %s", r.mark, width, r.left, r.right), " ") + "\n")
	}
	if diffs > 0 {
		fmt.Fprintf(&b, "\n%d difference(s): + desired but missing from the kernel, - in the kernel but not desired, ~ different\n", diffs)
	}
	_, err := io.WriteString(w, b.String())
	return diffs, err
}
