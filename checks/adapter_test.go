package checks

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-ha/tandem/config"
)

func parse(t *testing.T, src string) ([]CheckDef, config.Diagnostics) {
	t.Helper()
	cfg, diags := config.Parse("k.conf", []byte(src), config.Options{NodeID: "n1"})
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags.Err())
	}
	return FromConfig(cfg)
}

const adapterConf = `track_file maint {
    file %s
    weight 2
}
virtual_server 10.0.0.1 80 {
    delay_loop 7
    protocol TCP
    virtualhost vs.example
    real_server 127.0.0.1 %d {
        weight 5
        TCP_CHECK {
            connect_timeout 2
            retry 3
            delay_before_retry 1
            warmup 0
        }
        HTTP_GET {
            connect_port 8080
            url {
                path /health
                status_code 200-204 301
            }
            alpha
        }
        MISC_CHECK {
            misc_path "/bin/sh -c 'exit 4'"
            misc_dynamic
        }
        FILE_CHECK {
            track_file maint
        }
    }
}
`

func TestFromConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "maint")
	defs, diags := parse(t, fmt.Sprintf(adapterConf, file, 9000))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := []struct {
		key, pos string
		tm       Timing
	}{
		{"[10.0.0.1]:tcp:80/[127.0.0.1]:9000/TCP_CHECK#1", "k.conf:11",
			Timing{DelayLoop: 7 * time.Second, ConnectTimeout: 2 * time.Second, Retry: 3, DelayBeforeRetry: time.Second}},
		{"[10.0.0.1]:tcp:80/[127.0.0.1]:9000/HTTP_GET#2", "k.conf:17",
			Timing{DelayLoop: 7 * time.Second, ConnectTimeout: 5 * time.Second, Retry: 1, DelayBeforeRetry: 3 * time.Second, Warmup: 7 * time.Second, Alpha: true, AttemptLimit: 6 * time.Second}},
		{"[10.0.0.1]:tcp:80/[127.0.0.1]:9000/MISC_CHECK#3", "k.conf:25",
			Timing{DelayLoop: 7 * time.Second, ConnectTimeout: 5 * time.Second, DelayBeforeRetry: time.Second, Warmup: 7 * time.Second, AttemptLimit: 7*time.Second + MiscKillGrace + time.Second}},
		{"[10.0.0.1]:tcp:80/[127.0.0.1]:9000/FILE_CHECK#4", "k.conf:29", Timing{DelayLoop: FileCheckInterval}},
	}
	if len(defs) != len(want) {
		t.Fatalf("got %d defs", len(defs))
	}
	for i, w := range want {
		d := defs[i]
		if d.Key != w.key || d.Pos != w.pos || d.VirtualServer != "[10.0.0.1]:tcp:80" || d.RealServer != "[127.0.0.1]:9000" || d.Weight != 5 {
			t.Errorf("def %d: %+v", i, d)
		}
		if d.Timing != w.tm {
			t.Errorf("%s timing %+v, want %+v", d.Key, d.Timing, w.tm)
		}
	}
	if h := defs[1].Probe.(*HTTP); h.spec.ConnectPort != 8080 || h.spec.VirtualHost != "vs.example" ||
		len(h.urls) != 1 || formatStatus(h.urls[0].status) != "200-204 301" {
		t.Errorf("HTTP spec %+v", h.spec)
	}
	if r := defs[2].Probe.Probe(t.Context()); !r.OK || *r.Weight != 2 {
		t.Errorf("misc_dynamic exit 4: %+v", r)
	}
	os.WriteFile(file, []byte("3\n"), 0o644)
	if r := defs[3].Probe.Probe(t.Context()); !r.OK || *r.WeightOffset != 6 {
		t.Errorf("FILE_CHECK 3 × 2: %+v", r)
	}

	// The same file gives the same fingerprints; a changed setting
	// changes only that checker's.
	again, _ := parse(t, fmt.Sprintf(adapterConf, file, 9000))
	changed, _ := parse(t, strings.Replace(fmt.Sprintf(adapterConf, file, 9000), "retry 3", "retry 4", 1))
	for i := range defs {
		if again[i].Fingerprint != defs[i].Fingerprint {
			t.Errorf("%s: fingerprint not stable", defs[i].Key)
		}
		if (changed[i].Fingerprint != defs[i].Fingerprint) != (i == 0) {
			t.Errorf("%s: fingerprint change %v", defs[i].Key, i == 0)
		}
	}
}

func TestFromConfigErrorsNameFileLine(t *testing.T) {
	insecure := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(insecure, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(insecure, 0o777)
	scriptPath := script(t, insecure, "chk.sh", "exit 0")
	for name, tc := range map[string]struct{ conf, want string }{
		"regex option": {`virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        HTTP_GET {
            url {
                path /
                regex "ok"
                regex_options extended
            }
        }
    }
}`, `k.conf:3: HTTP_GET of real_server [10.0.0.2]:80 in virtual_server [10.0.0.1]:tcp:80: url /: regex option "extended" is not supported (Go regexp)`},
		"bfd": {`bfd_instance b1 {
    neighbor_ip 10.0.0.2
}
virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        BFD_CHECK {
            name b1
        }
    }
}`, `k.conf:6: BFD_CHECK of real_server [10.0.0.2]:80 in virtual_server [10.0.0.1]:tcp:80: BFD_CHECK is not supported by tandem`},
		"script security": {`global_defs {
    script_user root
    enable_script_security
}
virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        MISC_CHECK {
            misc_path "` + scriptPath + ` arg"
        }
    }
}`, `k.conf:7: MISC_CHECK of real_server [10.0.0.2]:80 in virtual_server [10.0.0.1]:tcp:80: misc_path ` + scriptPath + ` would run as root: ` + insecure + ` is writable by everyone (enable_script_security)`},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "script security" && os.Geteuid() != 0 {
				t.Skip("script security applies to scripts run as root")
			}
			defs, diags := parse(t, tc.conf)
			if len(defs) != 0 || diags.Err() == nil || diags.Err().Error() != tc.want {
				t.Fatalf("got %d defs, %v\nwant %s", len(defs), diags.Err(), tc.want)
			}
		})
	}
}

func TestFromConfigScriptSecurityOffWarns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("script security applies to scripts run as root")
	}
	insecure := filepath.Join(t.TempDir(), "open")
	os.Mkdir(insecure, 0o777)
	os.Chmod(insecure, 0o777)
	p := script(t, insecure, "chk.sh", "exit 0")
	defs, diags := parse(t, `global_defs {
    script_user root
}
virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        MISC_CHECK {
            misc_path `+p+`
        }
    }
}`)
	if len(defs) != 1 || len(diags) != 1 || diags[0].Severity != config.Warning || !strings.Contains(diags[0].String(), "k.conf:6: warning: misc_path "+p+" runs as root") {
		t.Fatalf("%d defs, %v", len(defs), diags)
	}
}

func TestFromConfigHTTPThroughEngine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.example" || r.UserAgent() != "KeepAliveClient" {
			w.WriteHeader(400)
		}
		w.WriteHeader(503)
	}))
	defer srv.Close()
	tg := serverTarget(t, srv, time.Second)
	defs, _ := parse(t, fmt.Sprintf(`virtual_server 10.0.0.1 80 {
    delay_loop 1
    real_server %s %d {
        HTTP_GET {
            virtualhost app.example
            retry 0
            warmup 0
            url {
                path /health
            }
        }
    }
}`, tg.ConnectIP, tg.ConnectPort))
	e := runEngine(t, Options{}, nil)
	sub := e.Subscribe()
	e.Update(defs)
	ev := nextEvent(t, sub, defs[0].RealServer, 5*time.Second)
	if want := fmt.Sprintf("HTTP 503 from %s/health, want 200-299", tg); ev.Up || ev.Reason != want || ev.CheckerPos != "k.conf:4" {
		t.Fatalf("got %+v\nwant reason %q", ev, want)
	}
}

func TestFromConfigMissingScriptWarns(t *testing.T) {
	defs, diags := parse(t, `virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        MISC_CHECK {
            misc_path "/nonexistent/check.sh arg"
        }
    }
}`)
	if len(defs) != 1 || len(diags) != 1 || diags[0].String() != "k.conf:3: warning: misc_path /nonexistent/check.sh: no such file or directory; the check fails until it exists" {
		t.Fatalf("%d defs, %v", len(defs), diags)
	}
	if r := defs[0].Probe.Probe(t.Context()); r.OK || !strings.Contains(r.Reason, "no such file or directory") {
		t.Fatalf("%+v", r)
	}
}
