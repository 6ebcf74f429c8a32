package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tandem-ha/tandem/node"
)

// Files written by `tandem tls`.
const (
	caCertFile = "tandem-ca.pem"
	caKeyFile  = "tandem-ca-key.pem"
)

func newTLSCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tls",
		Short: "Create the cluster CA and node certificates for mutual TLS",
		Long: `tls creates what --tls-ca, --tls-cert and --tls-key need: a cluster CA and,
for each node, a certificate signed by it. Raft and the cluster API accept
only peers presenting a certificate of this CA, so keep the CA key away from
the nodes.`,
	}
	ca := &cobra.Command{Use: "ca", Short: "Manage the cluster CA"}
	ca.AddCommand(newTLSCACreateCmd())
	cert := &cobra.Command{Use: "cert", Short: "Manage node certificates"}
	cert.AddCommand(newTLSCertCreateCmd())
	cmd.AddCommand(ca, cert)
	return cmd
}

func newTLSCACreateCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "create [--dir D]",
		Short: "Write D/" + caCertFile + " and D/" + caKeyFile,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
			if err := refuseOverwrite(certPath, keyPath); err != nil {
				return err
			}
			c, k, err := node.CreateCA("tandem cluster CA")
			if err != nil {
				return err
			}
			if err := writePEMs(certPath, c, keyPath, k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s\n", certPath, keyPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "directory to write to")
	return cmd
}

func newTLSCertCreateCmd() *cobra.Command {
	var dir, name string
	var ips []string
	cmd := &cobra.Command{
		Use:   "create --node NAME --ip IP [--dir D]",
		Short: "Write D/NAME.pem and D/NAME-key.pem, signed by the CA in D",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var addrs []netip.Addr
			for _, s := range ips {
				a, err := netip.ParseAddr(s)
				if err != nil {
					return &exitError{code: 2, msg: fmt.Sprintf("--ip %q: %v", s, err)}
				}
				addrs = append(addrs, a)
			}
			caCert, err := os.ReadFile(filepath.Join(dir, caCertFile))
			if err != nil {
				return fmt.Errorf("read CA (create it with tandem tls ca create --dir %s): %w", dir, err)
			}
			caKey, err := os.ReadFile(filepath.Join(dir, caKeyFile))
			if err != nil {
				return fmt.Errorf("read CA key: %w", err)
			}
			certPath, keyPath := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
			if err := refuseOverwrite(certPath, keyPath); err != nil {
				return err
			}
			c, k, err := node.CreateCert(caCert, caKey, name, addrs)
			if err != nil {
				return err
			}
			if err := writePEMs(certPath, c, keyPath, k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s\n", certPath, keyPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "directory holding the CA and receiving the certificate")
	cmd.Flags().StringVar(&name, "node", "", "node ID (the certificate's name; must match --node-id)")
	cmd.Flags().StringSliceVar(&ips, "ip", nil, "IP address(es) the node binds (required)")
	_ = cmd.MarkFlagRequired("node")
	_ = cmd.MarkFlagRequired("ip")
	return cmd
}

func refuseOverwrite(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return &exitError{code: 1, msg: fmt.Sprintf("%s exists; not overwriting it", p)}
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func writePEMs(certPath string, cert []byte, keyPath string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(certPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if err := os.WriteFile(certPath, cert, 0o644); err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	return nil
}
