package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitLog waits until the server's log holds want at least n times.
func (s *server) waitLog(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.stderr.String(), want) < n {
		if time.Now().After(deadline) || s.exited() {
			t.Fatalf("the log does not hold %q %d times:\n%s", want, n, s.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

// TestReload rewrites the config file of a running server and sends SIGHUP
// after each change: apps come and go and rotate their keys without a
// restart, a config that cannot be used is refused with a line that says
// why while the old one keeps serving, and settings that need a restart
// are named.
func TestReload(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	const (
		appB   = testAppID + 1
		appC   = testAppID + 2
		newKey = "the-next-secret-key"
	)
	app := func(id int, key string, extra ...string) string {
		s := fmt.Sprintf("  - sdkappid: %d\n    secret_key: %q\n    admins: [%q]\n", id, key, testAdmin)
		for _, e := range extra {
			s += "    " + e + "\n"
		}
		return s
	}
	cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), "apps:\n"+app(testAppID, testKey)+app(appB, "b-key"))
	s := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))

	type call struct {
		app  int
		key  string
		code int
	}
	steps := []struct {
		name   string
		config string
		log    string   // the line the reload logs
		notLog []string // lines it must not log
		calls  []call
	}{
		{
			name:   "rotate a key, remove an app, add one",
			config: "apps:\n" + app(testAppID, newKey, fmt.Sprintf("old_secret_key: %q", testKey)) + app(appC, "c-key"),
			log:    "config reloaded",
			calls: []call{
				{testAppID, testKey, 0}, {testAppID, newKey, 0},
				{appB, "b-key", 60006}, {appC, "c-key", 0},
			},
		},
		{
			name:   "a broken config is refused",
			config: "apps:\n" + app(testAppID, newKey) + "    secrte: x\n",
			log:    `config reload refused; the running config stays" config=` + cfg + ` err="config ` + cfg + `: line 5: apps[0]: unknown field \"secrte\""`,
			calls:  []call{{testAppID, testKey, 0}, {testAppID, newKey, 0}, {appC, "c-key", 0}},
		},
		{
			name:   "a config without apps is refused",
			config: "apps: []\n",
			log:    "no apps; a running server needs at least one",
			calls:  []call{{testAppID, testKey, 0}, {appC, "c-key", 0}},
		},
		{
			name:   "removing the old key ends it at once",
			config: "apps:\n" + app(testAppID, newKey) + app(appC, "c-key"),
			log:    "config reloaded",
			calls:  []call{{testAppID, testKey, 70009}, {testAppID, newKey, 0}, {appC, "c-key", 0}},
		},
		{
			// (The flags given at the start, such as --listen, still
			// override the file.)
			name:   "a new log format waits for a restart; the log level applies at once",
			config: "listen: 127.0.0.1:1\nlog_format: json\nlog_level: warn\napps:\n" + app(testAppID, newKey) + app(appC, "c-key", "disabled: true"),
			log:    "setting=log_format",
			notLog: []string{"setting=listen"},
			calls:  []call{{testAppID, newKey, 0}, {appC, "c-key", 60016}},
		},
		{
			name:   "at level warn a refusal shows and a success does not",
			config: "log_level: warn\napps: {}\n",
			log:    "config reload refused",
			notLog: []string{"config reloaded"},
			calls:  []call{{testAppID, newKey, 0}},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := s.stderr.String()
			writeFile(t, cfg, st.config)
			if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			s.waitLog(t, st.log, strings.Count(before, st.log)+1)
			for _, l := range st.notLog {
				if strings.Count(s.stderr.String(), l) != strings.Count(before, l) {
					t.Errorf("the reload logged %q:\n%s", l, strings.TrimPrefix(s.stderr.String(), before))
				}
			}
			for _, c := range st.calls {
				r, err := newAPI(s.base, uint32(c.app), c.key, testAdmin).call(context.Background(), "get_appid_group_list", []byte(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				if r.ErrorCode != c.code {
					t.Errorf("app %d with key %q: ErrorCode %d (%s), want %d", c.app, c.key, r.ErrorCode, r.ErrorInfo, c.code)
				}
			}
		})
	}
	if strings.Contains(s.stderr.String(), newKey) || strings.Contains(s.stderr.String(), testKey) {
		t.Errorf("the log holds a secret key:\n%s", s.stderr)
	}
}

// TestReloadWithoutConfig shows that SIGHUP to a server started without a
// config file, on its development app, is harmless and says why nothing
// happened.
func TestReloadWithoutConfig(t *testing.T) {
	needBinary(t)
	s := startServer(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir())
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "started without --config, so there is no file to reload", 1)
	if s.exited() {
		t.Fatal("SIGHUP ended the server")
	}
}

// TestWatchConfig shows that with --watch-config a change to the file is
// applied without a signal, and that a file that does not change is not
// reloaded again and again.
func TestWatchConfig(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig())
	s := startServer(t, "serve", "--config", cfg, "--watch-config", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	const newKey = "watched-new-key"
	writeFile(t, cfg, strings.Replace(testConfig(), testKey, newKey, 1))
	s.waitLog(t, "config reloaded", 1)
	for key, want := range map[string]int{newKey: 0, testKey: 70009} {
		r, err := newAPI(s.base, testAppID, key, testAdmin).call(context.Background(), "get_appid_group_list", []byte(`{}`))
		if err != nil || r.ErrorCode != want {
			t.Errorf("key %q: ErrorCode %d, err %v; want %d", key, r.ErrorCode, err, want)
		}
	}
	time.Sleep(2500 * time.Millisecond)
	if n := strings.Count(s.stderr.String(), "config reloaded"); n != 1 {
		t.Errorf("an unchanged file was reloaded: %d reloads", n)
	}

	code, _, stderr := runTally(t, 10*time.Second, "serve", "--watch-config", "--data", t.TempDir(), "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "--watch-config needs --config") {
		t.Errorf("--watch-config without --config: exit %d, stderr %q", code, stderr)
	}
}
