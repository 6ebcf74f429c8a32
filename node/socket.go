package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// maxSocketPath is the longest unix socket path the kernel takes
// (sockaddr_un.sun_path, with its terminating NUL).
const maxSocketPath = 107

// withSocketPath calls fn with a path for the socket at path that fits in
// sockaddr_un: path itself, or for a long data dir the same file reached
// through /proc/self/fd/N of the directory, held open during fn.
func withSocketPath(path string, fn func(p string) error) error {
	if len(path) <= maxSocketPath {
		return fn(path)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return fn(fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path)))
}

func listenUnix(path string) (ln net.Listener, err error) {
	err = withSocketPath(path, func(p string) error {
		ln, err = net.Listen("unix", p)
		if err == nil {
			// The /proc path dies with the directory handle: unlink by the
			// real path on Close instead.
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
		}
		return err
	})
	return ln, err
}

func dialUnix(ctx context.Context, path string) (c net.Conn, err error) {
	err = withSocketPath(path, func(p string) error {
		var d net.Dialer
		c, err = d.DialContext(ctx, "unix", p)
		return err
	})
	return c, err
}
