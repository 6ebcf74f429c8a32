package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// startWeb starts busybox httpd on port 80 of w's host, serving a page
// that names the host, and waits until the client can fetch it.
func (d *demo) startWeb(ctx context.Context, w webServer) (*lab.Proc, error) {
	root := filepath.Join(d.lab.Dir, w.host+"-www")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("hello from "+w.host+"\n"), 0o644); err != nil {
		return nil, err
	}
	p, err := d.lab.Host(w.host).Start(ctx, d.busybox, "httpd", "-f", "-p", "80", "-h", root)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://%v/", w.ip)
	err = poll(ctx, w.host+" serving "+url, 5*time.Second, func() (bool, error) {
		return d.fetch(w.ip) == nil, nil
	}, func() string { return fmt.Sprint(d.fetch(w.ip)) })
	return p, err
}

// checkRow is the part of a `tandem checks --json` row the demo reads.
type checkRow struct {
	VirtualServer string `json:"virtual_server"`
	RealServer    string `json:"real_server"`
	State         string `json:"state"`
	Reason        string `json:"reason"`
}

// checks runs `tandem checks -f FILE` on host, as an operator would there,
// until every real server in want has the wanted state ("UP" or "DOWN"),
// then prints the rows.
func (d *demo) checks(ctx context.Context, host string, want map[string]string) error {
	h := d.lab.Host(host)
	var out []byte
	var rows []checkRow
	err := poll(ctx, "checker verdicts "+fmt.Sprint(want), 15*time.Second, func() (bool, error) {
		var err error
		out, err = h.Run(ctx, d.bin, "checks", "-f", d.seedPath, "-i", host, "--json")
		if err != nil {
			return false, err
		}
		rows = nil
		if err := json.Unmarshal(out, &rows); err != nil {
			return false, fmt.Errorf("tandem checks --json: %w", err)
		}
		for rs, st := range want {
			ok := false
			for _, r := range rows {
				if r.RealServer == rs && strings.EqualFold(r.State, st) {
					ok = true
				}
			}
			if !ok {
				return false, nil
			}
		}
		return true, nil
	}, func() string {
		var sum []string
		for _, r := range rows {
			sum = append(sum, r.RealServer+" "+r.State)
		}
		if sum == nil {
			return string(out)
		}
		return strings.Join(sum, ", ")
	})
	if err != nil {
		return err
	}
	fmt.Printf("  $ tandem checks -f keepalived.conf --json   (on %s; its rows, shortened)\n", host)
	for _, r := range rows {
		name := ""
		for _, w := range d.webs {
			if r.RealServer == rsKey(w.ip) {
				name = w.host
			}
		}
		fmt.Printf("    %s  %-4s %-17s %-4s  %s\n", r.VirtualServer, name, r.RealServer, strings.ToUpper(r.State), r.Reason)
	}
	return nil
}

// fetch GETs / from ip:80 from the client host and wants a 200. The
// connection is made on Host.Do's thread, so it is the client's.
func (d *demo) fetch(ip netip.Addr) error {
	return d.lab.Host("client").Do(func() error {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(ip, 80).String(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		if _, err := fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %v\r\n\r\n", ip); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET http://%v/: %s", ip, resp.Status)
		}
		return nil
	})
}
