package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/node"
)

func TestKeygen(t *testing.T) {
	out, stderr, code := run(t, "keygen")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil || len(k) != 32 {
		t.Fatalf("key %q: %d bytes, %v", out, len(k), err)
	}
	if _, err := decodeGossipKey(strings.TrimSpace(out)); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeGossipKey("c2hvcnQ="); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestTLSCreate(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := run(t, "tls", "ca", "create", "--dir", dir); code != 0 {
		t.Fatalf("ca create: %s", stderr)
	}
	if _, stderr, code := run(t, "tls", "cert", "create", "--node", "n1", "--ip", "10.205.9.1", "--dir", dir); code != 0 {
		t.Fatalf("cert create: %s", stderr)
	}
	for _, f := range []string{"tandem-ca.pem", "tandem-ca-key.pem", "n1.pem", "n1-key.pem"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, "key.pem") && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	caPEM, _ := os.ReadFile(filepath.Join(dir, "tandem-ca.pem"))
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "n1.pem"), filepath.Join(dir, "n1-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(pair.Certificate[0])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("verify for %v: %v", usage, err)
		}
	}
	if err := cert.VerifyHostname("10.205.9.1"); err != nil || cert.Subject.CommonName != "n1" {
		t.Errorf("certificate names %q / %v: %v", cert.Subject.CommonName, cert.IPAddresses, err)
	}
	if _, stderr, code := run(t, "tls", "ca", "create", "--dir", dir); code == 0 || !strings.Contains(stderr, "exists") {
		t.Errorf("overwrote the CA: exit %d %s", code, stderr)
	}
	if _, _, code := run(t, "tls", "cert", "create", "--node", "n2", "--ip", "10.205.9.2", "--dir", t.TempDir()); code == 0 {
		t.Error("signed without a CA")
	}
}

// TestCtl drives `tandem ctl` against an in-process single-node cluster.
func TestCtl(t *testing.T) {
	dir := t.TempDir()
	n, err := node.New(node.Options{NodeID: "solo", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctl := func(args ...string) (string, string, int) {
		return run(t, append([]string{"ctl", "--data-dir", dir}, args...)...)
	}
	conf := func(name, body string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n priority 100\n virtual_ipaddress {\n  10.1.1.1/24\n }\n}\n"
	good2 := strings.Replace(good, "priority 100", "priority 90", 1)

	var out string
	deadline := time.Now().Add(10 * time.Second)
	for {
		var code int
		out, _, code = ctl("--json", "status")
		if code == 0 && strings.Contains(out, `"quorum": true`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var st node.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Leader != "solo" || !st.Quorum {
		t.Fatalf("status --json: %s %v", out, err)
	}
	for _, key := range []string{`"leader"`, `"term"`, `"quorum"`, `"node_id"`, `"voter"`, `"alive"`, `"applied_version"`} {
		if !strings.Contains(out, key) {
			t.Errorf("status --json lacks %s", key)
		}
	}

	if out, stderr, code := ctl("apply", "-f", conf("k.conf", good), "-m", "first", "--wait"); code != 0 || !strings.Contains(out, "version 1 committed") || !strings.Contains(out, "solo: applied version 1") {
		t.Fatalf("apply --wait: exit %d\n%s%s", code, out, stderr)
	}
	bad := conf("bad.conf", "vrrp_instance VI_1 {\n interface eth0\n priority 100\n}\n")
	_, stderr, code := ctl("apply", "-f", bad)
	if code != 1 || !strings.Contains(stderr, bad+":1:") || !strings.Contains(stderr, "nothing committed") {
		t.Errorf("invalid apply: exit %d\n%s", code, stderr)
	}
	_, stderr, _ = ctl("--json", "apply", "-f", bad)
	var ae node.APIError
	if err := json.Unmarshal([]byte(stderr), &ae); err != nil || ae.Field != "text" || len(ae.Diagnostics) == 0 {
		t.Errorf("--json error: %s %v", stderr, err)
	}
	incDir := t.TempDir()
	os.WriteFile(filepath.Join(incDir, "part.conf"), []byte(good), 0o644)
	withInclude := filepath.Join(incDir, "main.conf")
	os.WriteFile(withInclude, []byte("include part.conf\n"), 0o644)
	if _, stderr, code := ctl("apply", "-f", withInclude, "-m", "included"); code != 0 {
		t.Fatalf("apply with include: exit %d %s", code, stderr)
	}
	if out, _, _ := ctl("config", "show"); !strings.Contains(out, "# include part.conf") || !strings.Contains(out, "virtual_router_id 7") {
		t.Errorf("include not inlined:\n%s", out)
	}
	os.WriteFile(withInclude, []byte("include part.conf\nvrrp_instance VI_2 {\n}\n"), 0o644)
	if _, stderr, code := ctl("apply", "-f", withInclude); code != 1 || !strings.Contains(stderr, withInclude+" (includes inlined):") {
		t.Errorf("invalid apply with include: exit %d %s", code, stderr)
	}

	if _, stderr, code := ctl("apply", "-f", conf("k2.conf", good2), "-m", "second"); code != 0 {
		t.Fatal(stderr)
	}
	if out, _, _ := ctl("config", "history"); !strings.Contains(out, "second") || !strings.Contains(out, "first") {
		t.Errorf("history:\n%s", out)
	}
	if out, _, _ := ctl("config", "show", "1"); out != good {
		t.Errorf("show 1:\n%s", out)
	}
	if out, _, _ := ctl("config", "diff", "1", "3"); !strings.Contains(out, "- priority 100") || !strings.Contains(out, "+ priority 90") {
		t.Errorf("diff:\n%s", out)
	}
	if out, stderr, code := ctl("config", "rollback", "1", "-m", "undo"); code != 0 || !strings.Contains(out, "version 4") {
		t.Errorf("rollback: %s %s", out, stderr)
	}
	if out, _, _ := ctl("config", "show"); out != good {
		t.Errorf("show after rollback:\n%s", out)
	}
	if out, _, _ := ctl("raft", "peers"); !strings.Contains(out, "solo") || !strings.Contains(out, "voter") {
		t.Errorf("peers:\n%s", out)
	}
	if _, stderr, code := ctl("raft", "remove-peer", "ghost"); code != 1 || !strings.Contains(stderr, "ghost") {
		t.Errorf("remove-peer ghost: exit %d %s", code, stderr)
	}
	if out, _, code := ctl("members"); code != 0 || !strings.Contains(out, "solo") {
		t.Errorf("members:\n%s", out)
	}
	if _, stderr, code := run(t, "ctl", "--socket", filepath.Join(dir, "nope.sock"), "status"); code != 1 || !strings.Contains(stderr, "agent running") {
		t.Errorf("no agent: exit %d %s", code, stderr)
	}
	if _, _, code := ctl("leave"); code != 0 {
		t.Error("leave failed")
	}
	select {
	case <-n.Done():
	case <-time.After(10 * time.Second):
		t.Error("node did not stop after leave")
	}
	if _, err := net.Dial("unix", filepath.Join(dir, node.SocketName)); err == nil {
		t.Error("socket still answers after leave")
	}
}

// TestAgentStandaloneCluster runs `tandem agent -f FILE` without --bind:
// a single-node cluster whose config is the file, versioned on SIGHUP and
// kept across restarts, reachable with tandem ctl.
func TestAgentStandaloneCluster(t *testing.T) {
	bin := tandemBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	write := func(id string) {
		if err := os.WriteFile(conf, []byte("global_defs {\n router_id "+id+"\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := func() *agentProc {
		var out strings.Builder
		cmd := exec.Command(bin, "agent", "-f", conf, "--data-dir", dir)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &agentProc{cmd: cmd, out: &out, done: make(chan struct{}), dataDir: dir}
		go func() { cmd.Wait(); close(p.done) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
		p.waitPid(t)
		return p
	}
	running := func(want uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, _, code := run(t, "ctl", "--data-dir", dir, "--json", "status")
			var st node.Status
			if code == 0 && json.Unmarshal([]byte(out), &st) == nil && st.Running.Version == want && st.LatestVersion == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not running version %d: %s", want, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	write("one")
	p := start()
	running(1)
	write("two")
	p.cmd.Process.Signal(syscall.SIGHUP)
	running(2)
	os.WriteFile(conf, []byte("global_defs {\n bogus {\n"), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	running(2)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.out)
	}
	// Unchanged file: the data dir's history stays; changed: a new version.
	write("two")
	p = start()
	running(2)
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(t)
	write("three")
	start() // over the killed agent's stale socket
	running(3)
	if out, _, _ := run(t, "ctl", "--data-dir", dir, "config", "show"); !strings.Contains(out, "router_id three") {
		t.Errorf("config show:\n%s", out)
	}
}

// TestAgentInsecureBindRefused: a cluster agent on a non-loopback address
// without TLS and gossip key refuses to start, saying why.
func TestAgentInsecureBindRefused(t *testing.T) {
	_, stderr, code := run(t, "agent", "--data-dir", t.TempDir(), "--bind", "10.205.9.1")
	if code == 0 || !strings.Contains(stderr, "--insecure") || !strings.Contains(stderr, "--encrypt") || !strings.Contains(stderr, "--tls-ca") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
