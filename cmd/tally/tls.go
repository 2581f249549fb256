package main

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
)

// certificate holds the server's TLS certificate, which a reload replaces
// without a restart: certificates are renewed every few weeks, and a
// restart for each renewal would drop every client's connections.
// The files it came from are the running config's (Main.running).
type certificate struct {
	cert atomic.Pointer[tls.Certificate]
}

// loadCertificate reads the PEM files of a certificate and its key.
func loadCertificate(certFile, keyFile string) (*certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls_cert %s, tls_key %s: %w", certFile, keyFile, err)
	}
	c := new(certificate)
	c.cert.Store(&cert)
	return c, nil
}

// replace serves next's certificate from now on; connections already made
// keep the one they were made with.
func (c *certificate) replace(next *certificate) {
	c.cert.Store(next.cert.Load())
}

// config returns the server's TLS settings. Only HTTP/1.1 is offered: the
// API's connections pass through httpapi.WrapListener, which speaks it.
func (c *certificate) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
	}
}
