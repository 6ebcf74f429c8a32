package main

import (
	"fmt"
	"net/netip"

	"github.com/spf13/cobra"
	"github.com/vishvananda/netlink"

	"github.com/tandem-ha/tandem/lvs"
)

func newIPVSCmd() *cobra.Command {
	var f configFlags
	cmd := &cobra.Command{
		Use:   "ipvs -f FILE [-i NODE]",
		Short: "Show the IPVS table the configuration asks for beside the kernel's",
		Long: `ipvs computes the IPVS table the virtual_servers of a keepalived.conf ask
for, as node NODE reads it, and prints it beside the table the kernel holds,
in ipvsadm -Ln's format. Each row starts with a marker: + desired but
missing from the kernel, - in the kernel but not desired, ~ different.

The desired table assumes every real server is in its initial state (up,
or down when a checker has alpha set): the checkers' live verdicts are only
known to a running agent. ha_suspend uses this host's addresses.

It exits 0 when the tables match, 1 when they differ or the configuration
has errors, and 2 when the kernel cannot be read (no IPVS).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.mustLoad(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			desired, _, err := lvs.NewPool(c, lvs.PoolOptions{}).Update(nil, localAddrs())
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "tandem:", err)
			}
			h, err := lvs.OpenKernel("")
			if err != nil {
				fmt.Fprint(cmd.OutOrStdout(), desired.String())
				return &exitError{code: 2, msg: err.Error()}
			}
			defer h.Close()
			svcs, err := h.Services()
			if err != nil {
				return &exitError{code: 2, msg: fmt.Sprintf("read the kernel's IPVS table: %v", err)}
			}
			actual := lvs.Table{Services: svcs}
			actual.Sort()
			n, err := lvs.SideBySide(cmd.OutOrStdout(), desired, actual)
			if err != nil {
				return err
			}
			if n > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

// localAddrs returns a test for the addresses configured on this host
// (nil, meaning all, when they cannot be listed).
func localAddrs() func(netip.Addr) bool {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil
	}
	set := map[netip.Addr]bool{}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			set[ip.Unmap()] = true
		}
	}
	return func(a netip.Addr) bool { return set[a] }
}
