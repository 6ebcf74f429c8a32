package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-ha/tandem/checks"
)

// genhashVerboseBody bounds the body bytes dumped by genhash -v.
const genhashVerboseBody = 1 << 20

func newGenhashCmd() *cobra.Command {
	var (
		server, url, vhost, proto string
		port                      uint16
		fwmark                    uint32
		tls, sni, verbose         bool
		timeout                   int
	)
	cmd := &cobra.Command{
		Use:   "genhash -s SERVER -p PORT -u URL [-S] [-I] [-V VHOST] [-P PROTO] [-m FWMARK] [-t SECS] [-v]",
		Short: "Print the MD5 digest of a URL's body for an HTTP_GET/SSL_GET digest",
		Long: `genhash fetches URL from SERVER:PORT exactly as the HTTP_GET and SSL_GET
checkers do (GET URL HTTP/1.0, User-Agent: KeepAliveClient, Host: SERVER:PORT
or VHOST) and prints the MD5 of the response body, headers excluded and
whatever the status, as 32 lowercase hex digits: paste it into a url block's
digest. It takes keepalived's genhash flags and prints what Debian's genhash
2.2.7 prints, so a digest made by either works in both. -v adds the request's
response header and body as hex dumps and the response time. Unlike
keepalived's genhash, a failure exits with status 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" || port == 0 || url == "" {
				return &exitError{code: 1, msg: "genhash: -s SERVER, -p PORT and -u URL are required"}
			}
			ip, err := resolveServer(cmd.Context(), server)
			if err != nil {
				return &exitError{code: 1, msg: err.Error()}
			}
			req := checks.GenhashRequest{Server: ip, Port: port, Path: url, TLS: tls, SNI: sni,
				VirtualHost: vhost, Protocol: checks.HTTPProtocol(proto), FWMark: fwmark}
			if verbose {
				req.KeepBody = genhashVerboseBody
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Duration(timeout)*time.Second)
			defer cancel()
			res, err := checks.Genhash(ctx, req)
			out := cmd.OutOrStdout()
			if err != nil {
				if verbose {
					fmt.Fprintf(out, "\nGlobal response time for [%s] = %d usecs\n", url, res.Elapsed.Microseconds())
				}
				return &exitError{code: 1, msg: err.Error()}
			}
			if verbose {
				writeGenhashVerbose(out, url, res)
				return nil
			}
			fmt.Fprintln(out, res.Digest)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&server, "server", "s", "", "server address")
	f.Uint16VarP(&port, "port", "p", 0, "server port")
	f.StringVarP(&url, "url", "u", "", "URL path to fetch")
	f.BoolVarP(&tls, "use-ssl", "S", false, "use SSL/TLS")
	f.BoolVarP(&sni, "use-sni", "I", false, "send the virtualhost (-V) as TLS SNI")
	f.StringVarP(&vhost, "use-virtualhost", "V", "", "Host header to send instead of SERVER:PORT")
	f.StringVarP(&proto, "protocol", "P", "1.0", "HTTP protocol: 1.0, 1.0c (1.0 with Connection: close) or 1.1")
	f.Uint32VarP(&fwmark, "fwmark", "m", 0, "mark the connection's packets (SO_MARK)")
	f.IntVarP(&timeout, "timeout", "t", 5, "timeout in seconds")
	f.BoolVarP(&verbose, "verbose", "v", false, "print the response header and body and the response time")
	return cmd
}

// resolveServer accepts an address, or a name resolved to its first address.
func resolveServer(ctx context.Context, s string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", s)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("genhash: cannot resolve %s: %v", s, err)
	}
	return ips[0].Unmap(), nil
}

// writeGenhashVerbose prints what keepalived's genhash -v prints.
func writeGenhashVerbose(w io.Writer, url string, res checks.GenhashResult) {
	header := append(append([]byte(nil), res.Header...), "\r\n\r\n"...)
	fmt.Fprintln(w, "-----------------------[    HTTP Header Buffer    ]-----------------------")
	hexDump(w, header)
	fmt.Fprintln(w, "-----------------------[ HTTP Header Ascii Buffer ]-----------------------")
	fmt.Fprintf(w, "%s\n", header)
	fmt.Fprintln(w, "-----------------------[        HTML Buffer        ]-----------------------")
	hexDump(w, res.Body)
	if int64(len(res.Body)) < res.BodyBytes {
		fmt.Fprintf(w, "... (%d more body bytes hashed, not shown)\n", res.BodyBytes-int64(len(res.Body)))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "-----------------------[    HTML hash resulting    ]-----------------------")
	digest := make([]byte, 0, 16)
	for i := 0; i+1 < len(res.Digest); i += 2 {
		var b byte
		fmt.Sscanf(res.Digest[i:i+2], "%02x", &b)
		digest = append(digest, b)
	}
	hexDump(w, digest)
	fmt.Fprintln(w, "-----------------------[ HTML hash final resulting ]-----------------------")
	fmt.Fprintln(w, res.Digest)
	fmt.Fprintf(w, "\nGlobal response time for [%s] = %d usecs\n", url, res.Elapsed.Microseconds())
}

// hexDump writes 16 bytes a line: decimal offset, hex in two groups of
// eight, then the printable characters, as genhash does.
func hexDump(w io.Writer, b []byte) {
	for off := 0; off < len(b); off += 16 {
		var line strings.Builder
		fmt.Fprintf(&line, "%04d  ", off)
		for i := 0; i < 16; i++ {
			if i == 8 {
				line.WriteString("- ")
			}
			if off+i < len(b) {
				fmt.Fprintf(&line, "%02x ", b[off+i])
			} else {
				line.WriteString("   ")
			}
		}
		line.WriteString("  ")
		for i := 0; i < 16; i++ {
			switch {
			case off+i >= len(b):
				line.WriteByte(' ')
			case b[off+i] >= 0x20 && b[off+i] < 0x7f:
				line.WriteByte(b[off+i])
			default:
				line.WriteByte('.')
			}
		}
		fmt.Fprintln(w, line.String())
	}
}
