package node

import (
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// streamLayer is raft's network transport over TCP, wrapped in mutual TLS
// when the node has certificates.
type streamLayer struct {
	net.Listener
	client *tls.Config // nil: plain TCP
}

var _ raft.StreamLayer = (*streamLayer)(nil)

// newStreamLayer listens on addr; with t it requires client certificates.
func newStreamLayer(addr string, t *TLS, log *slog.Logger) (*streamLayer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	sl := &streamLayer{Listener: ln}
	if t != nil {
		sl.Listener = &tlsListener{Listener: ln, conf: t.ServerConfig(), log: log}
		sl.client = t.ClientConfig()
	}
	return sl, nil
}

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	if s.client == nil {
		return d.Dial("tcp", string(address))
	}
	conn, err := tls.DialWithDialer(d, "tcp", string(address), s.client)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// tlsListener completes each TLS handshake before Accept returns the
// connection, so a peer without a cluster certificate is refused (and
// logged) before raft reads a byte. Handshakes run concurrently, so a slow
// or hostile peer cannot stall the others.
type tlsListener struct {
	net.Listener
	conf *tls.Config
	log  *slog.Logger

	once  sync.Once
	conns chan net.Conn
	errc  chan error
}

func (l *tlsListener) start() {
	l.conns = make(chan net.Conn)
	l.errc = make(chan error, 1)
	go func() {
		for {
			c, err := l.Listener.Accept()
			if err != nil {
				l.errc <- err
				return
			}
			go l.handshake(c)
		}
	}()
}

func (l *tlsListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.conf)
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		l.log.Warn("refused raft connection: TLS handshake failed (peer has no valid cluster certificate?)",
			"remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	select {
	case l.conns <- tc:
	case err := <-l.errc:
		l.errc <- err // closed meanwhile: leave the error for Accept
		tc.Close()
	}
}

// Accept returns the next connection whose handshake succeeded.
func (l *tlsListener) Accept() (net.Conn, error) {
	l.once.Do(l.start)
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errc:
		l.errc <- err
		return nil, err
	}
}
