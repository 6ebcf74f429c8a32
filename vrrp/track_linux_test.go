package vrrp_test

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/testing/lab"
)

// httpServer is a small web server listening inside a lab host, the
// "nginx" a tracked script checks.
type httpServer struct {
	h   *lab.Host
	srv *http.Server
}

func startHTTP(t testing.TB, h *lab.Host, port int) *httpServer {
	t.Helper()
	var ln net.Listener
	err := h.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", fmt.Sprintf("%s:%d", h.IP, port))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &httpServer{h: h, srv: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })}}
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// TestTrackScriptNginx is the nginx pattern: tandem is master at priority
// 100 with a vrrp_script (interval 1, fall 2, weight -20) fetching a page
// from a local web server; a keepalived backup runs at 90. When the server
// stops, tandem advertises 80 once fall × interval has passed, keepalived
// discards those lower-priority adverts and takes over when its
// Master_Down timer runs out; when the server is back, tandem advertises
// 100 again and preempts.
func TestTrackScriptNginx(t *testing.T) {
	f := newFailoverLab(t, 40)
	const port = 8080
	url := fmt.Sprintf("http://%s:%d/", f.tHost.IP, port)
	script := fmt.Sprintf(`vrrp_script chk_nginx {
    script "/usr/bin/curl -fsS -m 1 -o /dev/null %s"
    interval 1
    timeout 1
    fall 2
    rise 2
    weight -20
}
`, url)
	srv := startHTTP(t, f.tHost, port)
	c := f.capture(t)
	tan := &node{f: f, host: f.tHost, isTan: true, conf: instConf{VRID: 40, Priority: 100, VIPs: []netip.Addr{f.vip},
		Extra: "    track_script {\n        chk_nginx\n    }\n"}}
	ka := &node{f: f, host: f.kHost, conf: instConf{VRID: 40, Priority: 90, VIPs: []netip.Addr{f.vip}}}
	conf := tan.conf
	tan.conf = instConf{}
	tan.proc = startTandem(t, f.l, f.tHost, script+conf.String(), "").Proc
	ka.start(t)
	f.onlyHolder(t, f.tHost, 10*time.Second)
	time.Sleep(1500 * time.Millisecond)

	srv.srv.Close()
	stopped := time.Now()
	f.onlyHolder(t, f.kHost, 15*time.Second)
	t.Logf("VIP on keepalived %v after the web server stopped (fall 2 × interval 1 + Master_Down 3.65 s; keepalived pair: 5.1 s)", time.Since(stopped).Round(10*time.Millisecond))
	f.clientReachesVIPOn(t, f.kHost)

	startHTTP(t, f.tHost, port)
	back := time.Now()
	f.onlyHolder(t, f.tHost, 15*time.Second)
	t.Logf("VIP back on tandem %v after the web server restarted (rise 2 + preemption)", time.Since(back).Round(10*time.Millisecond))
	f.clientReachesVIPOn(t, f.tHost)
	time.Sleep(1500 * time.Millisecond)

	ws := adverts(readCapture(t, c), f.tHost.IP, 40)
	var prios []string
	for _, w := range ws {
		p := fmt.Sprint(w.Advert.Priority)
		if len(prios) == 0 || prios[len(prios)-1] != p {
			prios = append(prios, p)
		}
	}
	// tandem's priority on the wire: 100 as master, 80 once the script has
	// failed twice (until it steps down for keepalived's 90, without a
	// priority 0, as keepalived), then 100 again.
	got := strings.Join(prios, " ")
	if !strings.Contains(got, "100 80") || !strings.HasSuffix(got, "100") {
		t.Errorf("tandem's advertised priorities (runs) %q, want 100 then 80 then back to 100", got)
	} else {
		t.Logf("tandem's advertised priorities (runs): %s", got)
	}
}
