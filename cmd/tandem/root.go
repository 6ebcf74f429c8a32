package main

import (
	"io"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "tandem",
		Short: "A keepalived-compatible HA director whose nodes form a cluster",
		Long: `tandem speaks VRRP with stock keepalived nodes, runs keepalived's health
checkers, programs IPVS, and replicates one keepalived.conf and one view of
real-server health across all directors through Raft.

keepalived.conf is the configuration language: an existing file works as is.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newVersionCmd(),
		newCheckConfigCmd(),
		newDumpConfigCmd(),
		newAgentCmd(),
		newCtlCmd(),
		newKeygenCmd(),
		newTLSCmd(),
		newIPVSCmd(),
		newChecksCmd(),
		newGenhashCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tandem's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.Printf("tandem %s (keepalived.conf compatible with keepalived 2.2.x)\n", version)
			return nil
		},
	}
}
