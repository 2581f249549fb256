package main

// Most tests of this package run a server in their own process, as a Main
// (inprocess_test.go). Those of what only the process shows, the command
// line and its exit codes, signals, a crash, drive the real tally binary:
// they build it once in TestMain and start it with the arguments a user
// would type. This file holds the harness of those; the other _test.go
// files the tests.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally/config"
	"github.com/tallyserver/tally/internal/tallybin"
	"github.com/tallyserver/tally/usersig"
)

// tallyBin is the binary TestMain built, "" under -short.
var tallyBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		code := m.Run()
		stopCluster()
		os.Exit(code)
	}
	dir, err := os.MkdirTemp("", "tally-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tally tests:", err)
		os.Exit(1)
	}
	bin, err := tallybin.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tally tests:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	tallyBin = bin
	code := m.Run()
	stopCluster()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needBinary skips process tests under -short and runs them in parallel
// otherwise: each uses its own data dir and port.
func needBinary(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the tally binary; skipped under -short")
	}
	t.Parallel()
}

// syncBuffer collects a process's output; the exec package copies into it
// from its own goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running tally process.
type proc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{} // closed once the process has exited and its output is copied
}

// startProc starts tally with args. The process is killed, if still
// running, when the test ends, and its output logged if the test failed.
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, nil, args...)
}

// startProcEnv is startProc with env ("NAME=value") added to the test's
// environment.
func startProcEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, stdout: new(syncBuffer), stderr: new(syncBuffer), done: make(chan struct{})}
	p.cmd = exec.Command(tallyBin, args...)
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start tally %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		p.cmd.Wait() // the outcome is read from ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill() // an error means it has exited already
		<-p.done
		if t.Failed() {
			t.Logf("tally %s\n--- stdout:\n%s--- stderr:\n%s", strings.Join(args, " "), p.stdout, p.stderr)
		}
	})
	return p
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the process to exit and returns its exit
// code, -1 when a signal ended it. It fails the test on timeout.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.t.Fatalf("tally did not exit within %v", timeout)
		return 0
	}
}

// kill sends SIGKILL and waits for the process to be gone, so that its
// data dir is free for the next one.
func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Fatalf("kill tally: %v", err)
	}
	p.wait(10 * time.Second)
}

// runTally runs a command that is expected to end by itself and returns its
// exit code and output.
func runTally(t *testing.T, timeout time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startProc(t, args...)
	code = p.wait(timeout)
	return code, p.stdout.String(), p.stderr.String()
}

// bannerRE matches the banner: the URL served, and the data dir or the
// PostgreSQL database the data is in.
var bannerRE = regexp.MustCompile(`(?m)^tally \S+ serving (https?://\S+) \((?:data in (.*)|PostgreSQL (.*)), (\d+) app\(s\)\)$`)

// server is a tally serve process that has answered /healthz.
type server struct {
	*proc
	base     string // http://host:port
	data     string // the data dir the banner names, "" on PostgreSQL
	database string // the PostgreSQL database the banner names, "" on the embedded store
}

// startServer runs tally with args, which should start a server, and waits
// until it answers /healthz.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, args...)
}

// startServerEnv is startServer with env added to the test's environment.
func startServerEnv(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	p := startProcEnv(t, env, args...)
	deadline := time.Now().Add(15 * time.Second)
	var m []string
	for {
		if m = bannerRE.FindStringSubmatch(p.stdout.String()); m != nil {
			break
		}
		if p.exited() {
			t.Fatalf("tally %s exited with code %d before serving; stderr:\n%s",
				strings.Join(args, " "), p.cmd.ProcessState.ExitCode(), p.stderr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("tally %s printed no banner within 15s", strings.Join(args, " "))
		}
		time.Sleep(5 * time.Millisecond)
	}
	s := &server{proc: p, base: m[1], data: m[2], database: m[3]}
	hc := &http.Client{Timeout: 2 * time.Second}
	if strings.HasPrefix(s.base, "https:") {
		// Readiness only: the TLS tests check the certificate themselves.
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	for {
		resp, err := hc.Get(s.base + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if p.exited() {
			t.Fatalf("tally exited with code %d before /healthz answered", p.cmd.ProcessState.ExitCode())
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within 15s (last error %v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freeAddr returns a loopback address that nothing listened on a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// assertNotListening fails the test if something accepts connections on addr.
func assertNotListening(t *testing.T, addr string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("something is listening on %s", addr)
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The app most tests configure.
const (
	testAppID = 1400000042
	testKey   = "0123456789abcdef-test-secret"
	testAdmin = "administrator"
)

// testConfig returns a YAML config with the test app; extra lines are added
// to the app's entry, indented to fit.
// forFronts runs test once on each HTTP front the API can be served on
// (http_front), as a subtest named for it.
func forFronts(t *testing.T, test func(t *testing.T, front string)) {
	for _, f := range config.HTTPFronts {
		t.Run(f, func(t *testing.T) { test(t, f) })
	}
}

func testConfig(extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apps:\n  - sdkappid: %d\n    secret_key: %q\n    admins: [%q]\n", testAppID, testKey, testAdmin)
	for _, l := range extra {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// apiResp is the envelope of every answer, with the fields the tests read.
type apiResp struct {
	ActionStatus string
	ErrorCode    int
	ErrorInfo    string
	GroupId      string
	GroupCounter []counter
}

type counter struct {
	Key   string
	Value int64
}

// api calls the REST API of one server as one admin of one app.
type api struct {
	base  string
	app   uint32
	admin string
	sig   string
	hc    *http.Client
}

func newAPI(base string, app uint32, key, admin string) *api {
	return &api{
		base: base, app: app, admin: admin,
		sig: usersig.Sign(app, key, admin, 3600, time.Now()),
		hc:  &http.Client{Timeout: 10 * time.Second},
	}
}

func (c *api) url(command string) string {
	return fmt.Sprintf("%s/v4/group_open_http_svc/%s?sdkappid=%d&identifier=%s&usersig=%s&random=%d&contenttype=json",
		c.base, command, c.app, c.admin, c.sig, rand.Uint32())
}

// call posts body to command and decodes the answer.
func (c *api) call(ctx context.Context, command string, body []byte) (apiResp, error) {
	var r apiResp
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(command), bytes.NewReader(body))
	if err != nil {
		return r, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("HTTP status %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("decode answer: %w", err)
	}
	io.Copy(io.Discard, resp.Body) // lets the connection be reused
	return r, nil
}

// mustOK calls command with body (marshalled to JSON) and fails the test
// unless the answer is OK.
func (c *api) mustOK(t *testing.T, command string, body any) apiResp {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.call(context.Background(), command, b)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	if r.ActionStatus != "OK" || r.ErrorCode != 0 {
		t.Fatalf("%s %s: %s %d %s", command, b, r.ActionStatus, r.ErrorCode, r.ErrorInfo)
	}
	return r
}

// counters returns every counter of group as a map.
func (c *api) counters(t *testing.T, group string) map[string]int64 {
	t.Helper()
	r := c.mustOK(t, "get_group_counter", map[string]any{"GroupId": group})
	m := make(map[string]int64, len(r.GroupCounter))
	for _, kv := range r.GroupCounter {
		m[kv.Key] = kv.Value
	}
	return m
}
