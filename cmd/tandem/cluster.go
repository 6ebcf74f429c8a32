package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tandem-ha/tandem/config"
	"github.com/tandem-ha/tandem/node"
)

// clusterFlags are `tandem agent`'s cluster flags.
type clusterFlags struct {
	bind            string
	join            []string
	bootstrapExpect int
	encrypt         string
	tlsCA           string
	tlsCert         string
	tlsKey          string
	insecure        bool
}

// register adds the cluster flags; --node-id shares its variable with -i.
func (f *clusterFlags) register(cmd *cobra.Command, nodeID *string) {
	fl := cmd.Flags()
	fl.StringVar(nodeID, "node-id", "", "this node's name in the cluster and the @NAME of conditional config lines (-i is an alias; default: short host name)")
	fl.StringVar(&f.bind, "bind", "", fmt.Sprintf("address to listen on for gossip (:%d), raft (:%d) and the cluster API (:%d); without it the node is a single-node cluster with only its unix socket",
		node.DefaultGossipPort, node.DefaultRaftPort, node.DefaultAPIPort))
	fl.StringSliceVar(&f.join, "join", nil, "gossip addresses (IP or IP:port) of cluster members to join")
	fl.IntVar(&f.bootstrapExpect, "bootstrap-expect", 0, "form a new cluster once this many servers see each other")
	fl.StringVar(&f.encrypt, "encrypt", "", "gossip encryption key (tandem keygen)")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "cluster CA certificate (tandem tls ca create)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "this node's certificate (tandem tls cert create)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "this node's key")
	fl.BoolVar(&f.insecure, "insecure", false, "allow a non-loopback --bind without TLS and gossip encryption")
}

// options builds the node's options. file is the -f path and fileGiven
// says whether -f was given; seed is its text ("" for none).
func (f *clusterFlags) options(nodeID, dataDir, file string, fileGiven bool, log *slog.Logger) (node.Options, error) {
	if nodeID == "" {
		nodeID = config.DefaultNodeID()
	}
	o := node.Options{
		NodeID:          nodeID,
		DataDir:         dataDir,
		Join:            f.join,
		BootstrapExpect: f.bootstrapExpect,
		Insecure:        f.insecure,
		Logger:          log,
		Version:         version,
	}
	if f.bind != "" {
		a, err := netip.ParseAddr(f.bind)
		if err != nil {
			return o, &exitError{code: 2, msg: fmt.Sprintf("--bind %q: %v", f.bind, err)}
		}
		o.Bind = a
	}
	if f.encrypt != "" {
		k, err := decodeGossipKey(f.encrypt)
		if err != nil {
			return o, &exitError{code: 2, msg: err.Error()}
		}
		o.EncryptKey = k
	}
	switch n := countSet(f.tlsCA, f.tlsCert, f.tlsKey); n {
	case 0:
	case 3:
		t, err := node.LoadTLS(f.tlsCA, f.tlsCert, f.tlsKey)
		if err != nil {
			return o, &exitError{code: 1, msg: err.Error()}
		}
		o.TLS = t
	default:
		return o, &exitError{code: 2, msg: "--tls-ca, --tls-cert and --tls-key go together"}
	}
	local := o.LocalOnly()
	if local || fileGiven {
		name, text, err := bundle(file)
		if err != nil {
			return o, &exitError{code: 1, msg: err.Error()}
		}
		// Local-only, the file is the source of truth; in a cluster it
		// only seeds the first version.
		o.Seed = &node.Seed{Name: name, Text: text, Authoritative: local}
	}
	return o, nil
}

// bundle returns the self-contained text of the config file (includes
// inlined) and the name to give it in diagnostics: the file's, marked when
// includes were inlined, since line numbers then count in the bundle.
func bundle(file string) (name, text string, err error) {
	text, diags := config.Bundle(file)
	if diags.HasErrors() {
		return "", "", diags.Err()
	}
	orig, err := os.ReadFile(file)
	if err != nil {
		return "", "", err
	}
	plain := strings.ReplaceAll(string(orig), "\r\n", "\n")
	if !strings.HasSuffix(plain, "\n") {
		plain += "\n"
	}
	if plain != text {
		return file + " (includes inlined)", text, nil
	}
	return file, text, nil
}

func countSet(s ...string) int {
	n := 0
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			n++
		}
	}
	return n
}

// reloader is what the VRRP manager and the checkers/IPVS director offer
// the node: a SIGHUP-style reload.
type reloader interface {
	Reload(cfg *config.Config) error
}

// reloadFunc adapts a function to reloader.
type reloadFunc func(cfg *config.Config) error

// Reload calls f.
func (f reloadFunc) Reload(cfg *config.Config) error { return f(cfg) }

// subsystems runs each committed config through the agent's managers. Each
// gets the config even when another fails (keepalived's VRRP runs when
// its checker process cannot), and the errors are reported together.
type subsystems []reloader

// Apply implements node.Subsystems.
func (s subsystems) Apply(_ context.Context, cfg *config.Config) error {
	var errs []error
	for _, r := range s {
		if err := r.Reload(cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
