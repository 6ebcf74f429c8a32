package lvs

import (
	"strings"
	"testing"
)

func TestSideBySide(t *testing.T) {
	desired := table(svc("10.0.0.1:80", "10.1.0.1:80", "10.1.0.2:80=2"), svc("10.0.0.2:80", "10.1.0.1:80"))
	rr := svc("10.0.0.1:80", "10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80")
	rr.Scheduler = "rr"
	actual := table(rr, svc("10.0.0.9:80"))
	var b strings.Builder
	n, err := SideBySide(&b, desired, actual)
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("%d differences, want 6", n)
	}
	want := `  DESIRED (configuration)                          | KERNEL
  Prot LocalAddress:Port Scheduler Flags           | Prot LocalAddress:Port Scheduler Flags
    -> RemoteAddress:Port           Forward Weight |   -> RemoteAddress:Port           Forward Weight
~ TCP  10.0.0.1:80 wlc                             | TCP  10.0.0.1:80 rr
    -> 10.1.0.1:80                  Masq    1      |   -> 10.1.0.1:80                  Masq    1
~   -> 10.1.0.2:80                  Masq    2      |   -> 10.1.0.2:80                  Masq    1
-                                                  |   -> 10.1.0.3:80                  Masq    1
+ TCP  10.0.0.2:80 wlc                             |
+   -> 10.1.0.1:80                  Masq    1      |
-                                                  | TCP  10.0.0.9:80 wlc

6 difference(s): + desired but missing from the kernel, - in the kernel but not desired, ~ different
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
