package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/tandem-ha/tandem/config"
)

// configFlags are the flags every command reading keepalived.conf takes.
type configFlags struct {
	file   string
	nodeID string
	strict bool
}

func (f *configFlags) register(cmd *cobra.Command, withStrict bool) {
	cmd.Flags().StringVarP(&f.file, "use-file", "f", "/etc/keepalived/keepalived.conf", "keepalived.conf to read")
	cmd.Flags().StringVarP(&f.nodeID, "config-id", "i", "", "node id selecting @NAME conditional lines (default: short host name)")
	if withStrict {
		cmd.Flags().BoolVar(&f.strict, "strict", false, "treat warnings as errors")
	}
}

func (f *configFlags) load() (*config.Config, config.Diagnostics) {
	// A one-shot command: trade memory for less garbage collection.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	return config.Load(f.file, config.Options{NodeID: f.nodeID, Strict: f.strict})
}

// report prints every diagnostic on stderr and turns errors into exit
// status 1.
func (f *configFlags) report(stderr io.Writer, diags config.Diagnostics) error {
	for _, d := range diags {
		fmt.Fprintln(stderr, d)
	}
	if diags.HasErrors() {
		return &exitError{code: 1, msg: fmt.Sprintf("%s: %d error(s)", f.file, len(diags.Errors()))}
	}
	return nil
}

// mustLoad loads the configuration, reporting problems on stderr; the
// error is exit status 1 when there are errors.
func (f *configFlags) mustLoad(stderr io.Writer) (*config.Config, error) {
	c, diags := f.load()
	return c, f.report(stderr, diags)
}

func newCheckConfigCmd() *cobra.Command {
	var f configFlags
	cmd := &cobra.Command{
		Use:   "check-config -f FILE [-i NODE] [--strict]",
		Short: "Check a keepalived.conf and report problems as FILE:LINE: message",
		Long: `check-config reads a keepalived.conf (with its includes) as the node NODE
would, and prints every problem on stderr as FILE:LINE: message, like
keepalived -t. It exits 0 when the configuration is valid and 1 otherwise;
warnings alone do not fail it unless --strict is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := f.mustLoad(cmd.ErrOrStderr())
			return err
		},
	}
	f.register(cmd, true)
	return cmd
}

func newDumpConfigCmd() *cobra.Command {
	var f configFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dump-config -f FILE [-i NODE] [--json]",
		Short: "Print the normalised configuration (keepalived.conf or JSON)",
		Long: `dump-config prints the configuration as node NODE reads it: includes,
conditional lines and definitions resolved, keepalived's defaults written
out. The text form is a keepalived.conf that keepalived accepts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.mustLoad(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(c)
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), config.Render(c))
			return err
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the typed model as JSON")
	return cmd
}
