package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tandem-ha/tandem/testing/lab"
)

// node is one VRRP speaker of the demo: a tandem cluster member or the
// stock keepalived node.
type node struct {
	host   string
	tandem bool
	proc   *lab.Proc
}

// kind says what runs on the node.
func (n *node) kind() string {
	if n.tandem {
		return "tandem"
	}
	return "keepalived 2.2.7"
}

// secrets is what the cluster's members share: a gossip key and a CA that
// signed each member's certificate.
type secrets struct {
	dir string
	key string
}

// makeSecrets runs `tandem keygen` and `tandem tls` as an operator would.
func (d *demo) makeSecrets(ctx context.Context) error {
	dir := filepath.Join(d.lab.Dir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := d.tandem(ctx, "keygen")
	if err != nil {
		return err
	}
	if _, err := d.tandem(ctx, "tls", "ca", "create", "--dir", dir); err != nil {
		return err
	}
	for _, n := range d.nodes {
		if !n.tandem {
			continue
		}
		ip := d.lab.Host(n.host).IP.String()
		if _, err := d.tandem(ctx, "tls", "cert", "create", "--node", n.host, "--ip", ip, "--dir", dir); err != nil {
			return err
		}
	}
	d.sec = secrets{dir: dir, key: strings.TrimSpace(key)}
	return nil
}

// tandem runs the tandem binary outside the lab and returns its stdout.
func (d *demo) tandem(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("tandem %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// dataDir is node host's --data-dir.
func (d *demo) dataDir(host string) string { return filepath.Join(d.lab.Dir, host+"-data") }

// start starts n: a tandem agent joining the cluster, or stock keepalived
// reading the same shared file with --config-id keepalived.
func (d *demo) start(ctx context.Context, n *node) error {
	h := d.lab.Host(n.host)
	var err error
	if !n.tandem {
		n.proc, err = h.StartKeepalived(ctx, d.seed, "--config-id", n.host)
		return err
	}
	dir := d.dataDir(n.host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var peers []string
	for _, p := range d.nodes {
		if p.tandem && p != n {
			peers = append(peers, d.lab.Host(p.host).IP.String())
		}
	}
	argv := []string{d.bin, "agent",
		"--node-id", n.host,
		"--bind", h.IP.String(),
		"--bootstrap-expect", "2",
		"--join", strings.Join(peers, ","),
		"--encrypt", d.sec.key,
		"--tls-ca", filepath.Join(d.sec.dir, "tandem-ca.pem"),
		"--tls-cert", filepath.Join(d.sec.dir, n.host+".pem"),
		"--tls-key", filepath.Join(d.sec.dir, n.host+"-key.pem"),
		"-f", d.seedPath,
		"--data-dir", dir}
	n.proc, err = h.Start(ctx, argv...)
	return err
}

// ctl runs `tandem ctl ARGS` against host's agent, inside its namespace.
func (d *demo) ctl(ctx context.Context, host string, args ...string) (string, error) {
	argv := append([]string{d.bin, "ctl", "--data-dir", d.dataDir(host), "--timeout", "10s"}, args...)
	out, err := d.lab.Host(host).Run(ctx, argv...)
	return string(out), err
}

// clusterStatus is the part of `tandem ctl status --json` the demo waits on.
type clusterStatus struct {
	Leader string `json:"leader"`
	Quorum bool   `json:"quorum"`
	// Running is the version the answering node runs.
	Running struct {
		Version uint64 `json:"version"`
	} `json:"running"`
	Nodes []struct {
		NodeID         string `json:"node_id"`
		Alive          bool   `json:"alive"`
		Voter          bool   `json:"voter"`
		AppliedVersion uint64 `json:"applied_version"`
		AppliedOK      bool   `json:"applied_ok"`
	} `json:"nodes"`
}

// status asks host's agent for its view of the cluster.
func (d *demo) status(ctx context.Context, host string) (clusterStatus, error) {
	var st clusterStatus
	out, err := d.ctl(ctx, host, "status", "--json")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("ctl status --json: %w", err)
	}
	return st, nil
}

// converged reports whether st shows a leader with quorum and every node in
// hosts alive, a voter, and running version v.
func converged(st clusterStatus, hosts []string, v uint64) bool {
	if st.Leader == "" || !st.Quorum {
		return false
	}
	for _, h := range hosts {
		ok := false
		for _, n := range st.Nodes {
			if n.NodeID == h && n.Alive && n.Voter && n.AppliedVersion == v && n.AppliedOK {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
