package node

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLS is a node's mutual-TLS setup: its certificate, signed by the cluster
// CA, and that CA as the only trusted root for peers in both directions.
type TLS struct {
	cert tls.Certificate
	pool *x509.CertPool
}

// LoadTLS reads the cluster CA, the node's certificate and its key (PEM
// files, as written by `tandem tls`).
func LoadTLS(caFile, certFile, keyFile string) (*TLS, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls: read CA: %w", err)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("tls: read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: read key: %w", err)
	}
	return NewTLS(caPEM, certPEM, keyPEM)
}

// NewTLS is LoadTLS from PEM bytes.
func NewTLS(caPEM, certPEM, keyPEM []byte) (*TLS, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("tls: CA file holds no PEM certificate")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate and key: %w", err)
	}
	return &TLS{cert: cert, pool: pool}, nil
}

// ServerConfig requires and verifies a client certificate signed by the CA.
func (t *TLS) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{t.cert},
		ClientCAs:    t.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
}

// ClientConfig presents the node's certificate and trusts only the CA; the
// server's certificate must name the IP address dialled.
func (t *TLS) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{t.cert},
		RootCAs:      t.pool,
	}
}
