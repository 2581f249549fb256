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

// wantCodes calls get_appid_group_list on base as the test admin of each
// app with each key, and fails the test unless each answers its code.
func wantCodes(t *testing.T, base string, calls ...appCall) {
	t.Helper()
	for _, c := range calls {
		r, err := newAPI(base, uint32(c.app), c.key, testAdmin).call(context.Background(), "get_appid_group_list", []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if r.ErrorCode != c.code {
			t.Errorf("app %d with key %q: ErrorCode %d (%s), want %d", c.app, c.key, r.ErrorCode, r.ErrorInfo, c.code)
		}
	}
}

// appCall is a call of wantCodes: an app, the key its sig is made with and
// the code the call must answer.
type appCall struct {
	app  int
	key  string
	code int
}

// TestReload rewrites the config file of a running server and reloads it
// after each change: apps come and go and rotate their keys without a
// restart, a config that cannot be used is refused with a line that says
// why while the old one keeps serving, and settings that need a restart
// are named.
func TestReload(t *testing.T) {
	t.Parallel()
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
	m := newMain(t, "apps:\n"+app(testAppID, testKey)+app(appB, "b-key"))
	m.open(t)
	cfg := m.ConfigPath

	steps := []struct {
		name   string
		config string
		log    string   // the line the reload logs
		notLog []string // lines it must not log
		calls  []appCall
	}{
		{
			name:   "rotate a key, remove an app, add one",
			config: "apps:\n" + app(testAppID, newKey, fmt.Sprintf("old_secret_key: %q", testKey)) + app(appC, "c-key"),
			log:    "config reloaded",
			calls: []appCall{
				{testAppID, testKey, 0}, {testAppID, newKey, 0},
				{appB, "b-key", 60006}, {appC, "c-key", 0},
			},
		},
		{
			name:   "a broken config is refused",
			config: "apps:\n" + app(testAppID, newKey) + "    secrte: x\n",
			log:    `config reload refused; the running config stays" config=` + cfg + ` err="config ` + cfg + `: line 5: apps[0]: unknown field \"secrte\""`,
			calls:  []appCall{{testAppID, testKey, 0}, {testAppID, newKey, 0}, {appC, "c-key", 0}},
		},
		{
			name:   "a config without apps is refused",
			config: "apps: []\n",
			log:    "no apps; a running server needs at least one",
			calls:  []appCall{{testAppID, testKey, 0}, {appC, "c-key", 0}},
		},
		{
			name:   "removing the old key ends it at once",
			config: "apps:\n" + app(testAppID, newKey) + app(appC, "c-key"),
			log:    "config reloaded",
			calls:  []appCall{{testAppID, testKey, 70009}, {testAppID, newKey, 0}, {appC, "c-key", 0}},
		},
		{
			// (The settings the server started with from the command
			// line, such as --listen, still override the file.)
			name:   "a new log format waits for a restart; the log level applies at once",
			config: "listen: 127.0.0.1:1\nlog_format: json\nlog_level: warn\napps:\n" + app(testAppID, newKey) + app(appC, "c-key", "disabled: true"),
			log:    "setting=log_format",
			notLog: []string{"setting=listen"},
			calls:  []appCall{{testAppID, newKey, 0}, {appC, "c-key", 60016}},
		},
		{
			name:   "a new HTTP front waits for a restart",
			config: "http_front: fasthttp\napps:\n" + app(testAppID, newKey) + app(appC, "c-key"),
			log:    "setting=http_front",
			calls:  []appCall{{testAppID, newKey, 0}, {appC, "c-key", 0}},
		},
		{
			name:   "a new memory budget waits for a restart",
			config: "memory_budget: 1GiB\napps:\n" + app(testAppID, newKey) + app(appC, "c-key"),
			log:    "setting=memory_budget",
			calls:  []appCall{{testAppID, newKey, 0}, {appC, "c-key", 0}},
		},
		{
			name:   "at level warn a refusal shows and a success does not",
			config: "log_level: warn\napps: {}\n",
			log:    "config reload refused",
			notLog: []string{"config reloaded"},
			calls:  []appCall{{testAppID, newKey, 0}},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := m.stderr.String()
			writeFile(t, cfg, st.config)
			m.Reload()
			if got := strings.Count(m.stderr.String(), st.log); got != strings.Count(before, st.log)+1 {
				t.Errorf("the reload did not log %q once:\n%s", st.log, strings.TrimPrefix(m.stderr.String(), before))
			}
			for _, l := range st.notLog {
				if strings.Count(m.stderr.String(), l) != strings.Count(before, l) {
					t.Errorf("the reload logged %q:\n%s", l, strings.TrimPrefix(m.stderr.String(), before))
				}
			}
			wantCodes(t, m.URL(), st.calls...)
		})
	}
	if strings.Contains(m.stderr.String(), newKey) || strings.Contains(m.stderr.String(), testKey) {
		t.Errorf("the log holds a secret key:\n%s", m.stderr)
	}
}

// TestWatchConfig shows that with WatchConfig a change to the file is
// applied without a signal, and that a file that does not change is not
// reloaded again and again.
func TestWatchConfig(t *testing.T) {
	t.Parallel()
	m := newMain(t, testConfig())
	m.WatchConfig, m.watchInterval = true, 20*time.Millisecond
	m.open(t)
	const newKey = "watched-new-key"
	writeFile(t, m.ConfigPath, strings.Replace(testConfig(), testKey, newKey, 1))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(m.stderr.String(), "config reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload within 10s of the change:\n%s", m.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	wantCodes(t, m.URL(), appCall{testAppID, newKey, 0}, appCall{testAppID, testKey, 70009})
	time.Sleep(50 * m.watchInterval)
	if n := strings.Count(m.stderr.String(), "config reloaded"); n != 1 {
		t.Errorf("an unchanged file was reloaded: %d reloads", n)
	}
}

// TestSIGHUP shows that the binary reloads its config file on SIGHUP, and
// that SIGHUP to one started without a config file says why nothing
// happened and does not end it.
func TestSIGHUP(t *testing.T) {
	needBinary(t)
	t.Run("with a config", func(t *testing.T) {
		dir := t.TempDir()
		cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig())
		s := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
		const newKey = "signalled-new-key"
		writeFile(t, cfg, strings.Replace(testConfig(), testKey, newKey, 1))
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		s.waitLog(t, "config reloaded", 1)
		wantCodes(t, s.base, appCall{testAppID, newKey, 0}, appCall{testAppID, testKey, 70009})
	})
	t.Run("without a config", func(t *testing.T) {
		s := startServer(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir())
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		s.waitLog(t, "started without --config, so there is no file to reload", 1)
		if s.exited() {
			t.Fatal("SIGHUP ended the server")
		}
	})
}
