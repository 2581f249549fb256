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
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
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
// plain HTTP, and that SIGHUP swaps in a renewed certificate without a
// restart.
func TestTLS(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	certFile, keyFile, cert := makeCert(t, dir, "first")
	cfg := writeFile(t, filepath.Join(dir, "tally.yaml"),
		"tls_cert: "+certFile+"\ntls_key: "+keyFile+"\n"+testConfig())
	s := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	if !strings.HasPrefix(s.base, "https://") {
		t.Fatalf("banner names %s, want an https address", s.base)
	}
	addr := strings.TrimPrefix(s.base, "https://")

	c := newAPI(s.base, testAppID, testKey, testAdmin)
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

	// A renewed certificate in the same files is served after SIGHUP.
	nextCert, nextKey, renewed := makeCert(t, dir, "next")
	copyFile(t, nextCert, certFile)
	copyFile(t, nextKey, keyFile)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "config reloaded", 1)
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
	needBinary(t)
	dir := t.TempDir()
	certFile, keyFile, _ := makeCert(t, dir, "ok")
	otherCert, _, _ := makeCert(t, dir, "other")
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing cert file", []string{"--tls-cert", missing, "--tls-key", keyFile}, missing},
		{"key of another cert", []string{"--tls-cert", otherCert, "--tls-key", keyFile}, "private key does not match public key"},
		{"cert without key", []string{"--tls-cert", certFile}, "--tls-cert and --tls-key go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeFile(t, filepath.Join(t.TempDir(), "tally.yaml"), testConfig())
			addr := freeAddr(t)
			args := append([]string{"serve", "--config", cfg, "--listen", addr, "--data", t.TempDir()}, tt.args...)
			code, _, stderr := runTally(t, 15*time.Second, args...)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want a failure naming %q", code, stderr, tt.want)
			}
			assertNotListening(t, addr)
		})
	}
}
