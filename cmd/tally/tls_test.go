package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// makeCert writes a self-signed certificate for 127.0.0.1 and its key to
// dir as name.pem and name-key.pem, and returns their paths and the
// certificate, for a client to trust.
func makeCert(t *testing.T, dir, name string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "tally test " + name},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, filepath.Join(dir, name+".pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, filepath.Join(dir, name+"-key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile, cert
}

// trusting returns a client that trusts only certs, on fresh connections.
func trusting(certs ...*x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		DisableKeepAlives: true,
	}}
}

// TestTLS serves HTTPS from tls_cert and tls_key, shows that the envelope
// answers and the refusals of malformed requests work over it as over
// plain HTTP, and that a reload swaps in a renewed certificate without a
// restart.
func TestTLS(t *testing.T) { forFronts(t, testTLS) }

func testTLS(t *testing.T, front string) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, cert := makeCert(t, dir, "first")
	m := newMain(t, "http_front: "+front+"\ntls_cert: "+certFile+"\ntls_key: "+keyFile+"\n"+testConfig())
	m.open(t)
	if !strings.HasPrefix(m.URL(), "https://") {
		t.Fatalf("serving %s, want an https address", m.URL())
	}
	if !strings.Contains(m.stdout.String(), "serving "+m.URL()+" ") {
		t.Errorf("the banner does not name %s:\n%s", m.URL(), m.stdout)
	}
	addr := strings.TrimPrefix(m.URL(), "https://")

	c := m.client(testKey)
	c.hc = trusting(cert)
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "tls", "GroupId": "tls"})
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "tls", "Mode": "Set", "GroupCounter": []counter{{"x", 7}}})
	if got := c.counters(t, "tls"); got["x"] != 7 {
		t.Errorf("counters over HTTPS = %v, want x=7", got)
	}

	// A plain-HTTP client gets no answer from the HTTPS port.
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("plain HTTP to the HTTPS port answered %s", resp.Status)
	}

	// net/http's own refusal of a malformed request is still turned into
	// an envelope inside TLS.
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: c.hc.Transport.(*http.Transport).TLSClientConfig.RootCAs})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "POST /v4/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	conn.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ErrorCode":60002`) {
		t.Errorf("malformed request over TLS: %s %s; want 200 and an envelope with 60002", resp.Status, body)
	}

	// A renewed certificate in the same files is served after a reload.
	nextCert, nextKey, renewed := makeCert(t, dir, "next")
	copyFile(t, nextCert, certFile)
	copyFile(t, nextKey, keyFile)
	m.Reload()
	if !strings.Contains(m.stderr.String(), "config reloaded") {
		t.Fatalf("the reload did not succeed:\n%s", m.stderr)
	}
	c.hc = trusting(renewed)
	c.mustOK(t, "get_group_counter", map[string]any{"GroupId": "tls"})
	c.hc = trusting(cert)
	if _, err := c.call(t.Context(), "get_group_counter", []byte(`{"GroupId":"tls"}`)); err == nil {
		t.Error("after the reload the server still presents the old certificate")
	}
}

// TestTLSRefusals shows that a TLS setting that cannot work stops the
// server before it listens, with a message naming the file or flag.
func TestTLSRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, _ := makeCert(t, dir, "ok")
	otherCert, _, _ := makeCert(t, dir, "other")
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name        string
		cert, key   string // the flags --tls-cert and --tls-key
		want        string
		commandLine bool // a usage error, exit code 2
	}{
		{"missing cert file", missing, keyFile, missing, false},
		{"key of another cert", otherCert, keyFile, "private key does not match public key", false},
		{"cert without key", certFile, "", "--tls-cert and --tls-key go together", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMain(t, testConfig())
			m.Flags.listen = freeAddr(t)
			m.Flags.tlsCert, m.Flags.tlsKey = tt.cert, tt.key
			err := m.Open(t.Context())
			if err == nil {
				m.Close()
				t.Fatalf("Open succeeded; want a failure naming %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v; want a failure naming %q", err, tt.want)
			}
			if isUsage := errors.As(err, new(usageError)); isUsage != tt.commandLine {
				t.Errorf("Open: %v is a usage error: %v, want %v", err, isUsage, tt.commandLine)
			}
			assertNotListening(t, m.Flags.listen)
		})
	}
}
