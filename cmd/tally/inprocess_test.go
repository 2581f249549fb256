package main

// The harness of the tests that run a server in the test's own process, as
// a Main, rather than as the built binary: a real store in a temporary
// dir and a real listener on a loopback port, without the binary's start
// or signals. What needs the process itself (signals, a kill, the command
// line's exit codes) is tested through the binary.

import (
	"path/filepath"
	"testing"
)

// testMain is a Main with its config file and data dir in a temporary
// dir of their own, and its output in buffers.
type testMain struct {
	*Main
	dir            string
	stdout, stderr *syncBuffer
	closed         bool
}

// newMain returns a Main, not opened yet, on a free loopback port, which
// serves the config file with the contents config, or runs without one
// when config is "". Its data dir is dir/data.
func newMain(t *testing.T, config string) *testMain {
	t.Helper()
	dir := t.TempDir()
	m := &testMain{dir: dir, stdout: new(syncBuffer), stderr: new(syncBuffer)}
	m.Main = &Main{
		Flags:  serveFlags{listen: "127.0.0.1:0", data: filepath.Join(dir, "data")},
		Stdout: m.stdout, Stderr: m.stderr,
	}
	if config != "" {
		m.ConfigPath = writeFile(t, filepath.Join(dir, "tally.yaml"), config)
	}
	return m
}

// open opens m, failing the test if it cannot, and closes it when the
// test ends unless the test has; the log is shown if the test failed.
func (m *testMain) open(t *testing.T) {
	t.Helper()
	if err := m.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v\nlog:\n%s", err, m.stderr)
	}
	t.Cleanup(func() {
		if !m.closed {
			if err := m.close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("--- stdout:\n%s--- log:\n%s", m.stdout, m.stderr)
		}
	})
}

// close stops the server gracefully, as SIGTERM does.
func (m *testMain) close() error {
	m.closed = true
	return m.Close()
}

// client returns a client of the test app on m.
func (m *testMain) client(key string) *api {
	return newAPI(m.URL(), testAppID, key, testAdmin)
}
