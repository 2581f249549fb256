package main

// The tests of a server on PostgreSQL. They share one throwaway cluster
// (internal/pgtest), each on a database of its own, except the test that
// stops the database, which has a cluster of its own.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally/internal/pgtest"
)

var (
	clusterOnce sync.Once
	cluster     *pgtest.Cluster
	clusterErr  error
)

// pgCluster returns the cluster the tests share, started by the first
// test that asks; it skips the test when PostgreSQL is not installed.
func pgCluster(t *testing.T) *pgtest.Cluster {
	t.Helper()
	clusterOnce.Do(func() { cluster, clusterErr = pgtest.Start(pgtest.Options{}) })
	if errors.Is(clusterErr, pgtest.ErrNoBinaries) {
		t.Skip(clusterErr)
	}
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return cluster
}

// stopCluster stops the shared cluster, if a test started it.
func stopCluster() {
	if cluster != nil {
		cluster.Close()
	}
}

// get fetches url and returns the status and the body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitHealthz polls base's /healthz until it answers status, for at most
// five seconds (the store answers its latest ping for a second).
func waitHealthz(t *testing.T, base string, status int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, body := get(t, base+"/healthz")
		if got == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz answers %d %q, want %d", got, body, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noPassword fails the test if any of outs holds the cluster's password.
func noPassword(t *testing.T, outs ...string) {
	t.Helper()
	for _, out := range outs {
		if strings.Contains(out, pgtest.Password) {
			t.Errorf("the output holds the database password:\n%s", out)
		}
	}
}

// roundTrip creates a group on c, increases a counter in it and reads it
// back.
func roundTrip(t *testing.T, c *api, group string) {
	t.Helper()
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g", "GroupId": group})
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": group, "Mode": "Increase", "GroupCounter": []counter{{"k", 3}}})
	if got := c.counters(t, group); got["k"] != 3 || len(got) != 1 {
		t.Fatalf("counters of %s: %v, want k=3", group, got)
	}
}

// TestServeOnPostgres serves an app from a PostgreSQL database: calls
// round-trip through it, the banner names the database without its
// password, the data dir is not touched, /backup says to use the
// database's tools, and a reload that changes the store keeps the running
// one and says so.
func TestServeOnPostgres(t *testing.T) {
	t.Parallel()
	// The store comes from the file, so that a reload reads it again;
	// --store would override the file at every reload.
	m := newMain(t, "store: "+pgCluster(t).CreateDB(t)+"\n"+testConfig())
	m.Admin = "127.0.0.1:0"
	m.open(t)

	want := fmt.Sprintf(`serving %s (PostgreSQL database "t_`, m.URL())
	if !strings.Contains(m.stdout.String(), want) {
		t.Errorf("the banner does not say %q:\n%s", want, m.stdout)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "data")); !os.IsNotExist(err) {
		t.Errorf("the data dir was made though the store is PostgreSQL (stat: %v)", err)
	}
	if code, body := get(t, m.URL()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %q", code, body)
	}
	c := m.client(testKey)
	roundTrip(t, c, "g1")

	// The store's metrics are the embedded store's; the rest are there.
	if code, body := get(t, m.URL()+"/metrics"); code != http.StatusOK ||
		!strings.Contains(body, "tally_requests_total") || strings.Contains(body, "tally_store_") {
		t.Errorf("/metrics: %d, want 200 with the request metrics and none of the embedded store's:\n%.300s", code, body)
	}
	code, body := get(t, "http://"+m.AdminAddr()+"/backup")
	if code != http.StatusNotImplemented || !strings.Contains(body, "pg_basebackup") {
		t.Errorf("/backup: %d %q, want 501 and a word on the database's tools", code, body)
	}

	// The file now names another store; the node keeps its own.
	writeFile(t, m.ConfigPath, "store: "+pgCluster(t).URL("postgres")+"\n"+testConfig())
	m.Reload()
	if !strings.Contains(m.stderr.String(), "setting=store") || !strings.Contains(m.stderr.String(), "config reloaded") {
		t.Errorf("a reload that changes the store does not warn that it waits for a restart, and apply the rest:\n%s", m.stderr)
	}
	c.mustOK(t, "get_group_info", map[string]any{"GroupIdList": []string{"g1"}})
	if got := c.counters(t, "g1"); got["k"] != 3 {
		t.Errorf("after the reload, counters of g1: %v, want k=3 from the store the node started on", got)
	}
	m.close()
	noPassword(t, m.stdout.String(), m.stderr.String())
}

// TestDevAppOnPostgres runs a server without a config on PostgreSQL: the
// development app is kept in the data dir, as on the embedded store, and
// is served from the database.
func TestDevAppOnPostgres(t *testing.T) {
	t.Parallel()
	m := newMain(t, "")
	m.Flags.store = pgCluster(t).CreateDB(t)
	m.open(t)
	file := filepath.Join(m.dir, "data", "dev-app.yaml")
	if !strings.Contains(m.stdout.String(), "Development app (kept in "+file+")") {
		t.Fatalf("no development app kept in %s:\n%s", file, m.stdout)
	}
	app := m.running.Apps[0]
	roundTrip(t, newAPI(m.URL(), app.SDKAppID, app.SecretKey, app.Admins[0]), "dev")
	if _, err := os.Stat(filepath.Join(m.dir, "data", "store")); !os.IsNotExist(err) {
		t.Errorf("an embedded store was made though the store is PostgreSQL (stat: %v)", err)
	}
}

// TestPostgresOutage stops the database under a serving node: /healthz
// turns 503 and calls answer 10002 while it is down, and once it is back
// the node serves again by itself. No log line holds the password.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a cluster of its own")
	}
	pg := pgtest.New(t, pgtest.Options{})
	m := newMain(t, testConfig())
	m.Flags.store = pg.URL("postgres")
	m.open(t)
	c := m.client(testKey)
	roundTrip(t, c, "g1")
	waitHealthz(t, m.URL(), http.StatusOK)

	if err := pg.StopPrimary(); err != nil {
		t.Fatal(err)
	}
	// The calls wait out their retries while /healthz turns, which takes
	// up to a second (the store answers its latest ping for that long).
	var wg sync.WaitGroup
	for _, call := range []struct{ command, body string }{
		{"get_group_counter", `{"GroupId":"g1"}`},
		{"update_group_counter", `{"GroupId":"g1","Mode":"Increase","GroupCounter":[{"Key":"k","Value":1}]}`},
		{"create_group", `{"Type":"Public","Name":"g","GroupId":"g2"}`},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.call(context.Background(), call.command, []byte(call.body))
			if err != nil {
				t.Error(err)
			} else if r.ErrorCode != 10002 {
				t.Errorf("%s with the database down: %d %s, want 10002", call.command, r.ErrorCode, r.ErrorInfo)
			}
		}()
	}
	waitHealthz(t, m.URL(), http.StatusServiceUnavailable)
	wg.Wait()

	if err := pg.StartPrimary(); err != nil {
		t.Fatal(err)
	}
	waitHealthz(t, m.URL(), http.StatusOK)
	// The increase answered 10002 may or may not have been applied.
	r := c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "g1", "Mode": "Set", "GroupCounter": []counter{{"k", 10}}})
	if len(r.GroupCounter) != 1 || r.GroupCounter[0].Value != 10 {
		t.Errorf("after the restart, Set answered %v", r.GroupCounter)
	}
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g", "GroupId": "g3"})
	if !strings.Contains(m.stderr.String(), "code=10002") {
		t.Errorf("no failed call logged:\n%s", m.stderr)
	}
	m.close()
	noPassword(t, m.stdout.String(), m.stderr.String())
}

// TestServeRefusesBadStore starts servers on stores that cannot be used:
// each must exit non-zero with a message that says why, before it listens
// and without touching the data dir, and no output may hold the password,
// whether the URL or PGPASSWORD gave it.
func TestServeRefusesBadStore(t *testing.T) {
	needBinary(t)
	const pw = "Wr0ng-Secret-77"
	dead := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	tests := []struct {
		name string
		file string // a store line for the config file, "" for none
		// flag is --store, "" for none; PORT in it stands for the shared
		// cluster's port, which a case that uses it starts.
		flag   string
		env    []string
		code   int
		stderr string
	}{
		{name: "another database's URL as --store", flag: "mysql://tally:" + pw + "@db/tally",
			code: 2, stderr: `--store: a "mysql" URL; must be a postgres:// or postgresql:// URL`},
		{name: "not a URL as --store", flag: "tally:" + pw + "@db/tally",
			code: 2, stderr: "--store: not a URL"},
		{name: "another database's URL in the file", file: "store: mysql://tally:" + pw + "@db/tally",
			code: 1, stderr: `: line 1: store: a "mysql" URL`},
		{name: "a URL pgx cannot read", flag: "postgres://tally:" + pw + "@127.0.0.1:port/tally",
			code: 1, stderr: "the database URL is not valid"},
		{name: "nothing listening", flag: "postgres://tally:" + pw + "@127.0.0.1:" + dead + "/tally",
			code: 1, stderr: "connection refused"},
		{name: "several hosts, none listening", flag: "postgres://tally:" + pw + "@127.0.0.1:" + dead + ",localhost:" + dead + "/tally?target_session_attrs=read-write",
			code: 1, stderr: "connection refused"},
		{name: "wrong password", flag: "postgres://tally:" + pw + "@127.0.0.1:PORT/postgres?sslmode=disable",
			code: 1, stderr: "password authentication failed"},
		{name: "wrong PGPASSWORD", flag: "postgres://tally@127.0.0.1:PORT/postgres?sslmode=disable", env: []string{"PGPASSWORD=" + pw},
			code: 1, stderr: "password authentication failed"},
		{name: "no such database", flag: "postgres://tally:" + pgtest.Password + "@127.0.0.1:PORT/nope?sslmode=disable",
			code: 1, stderr: `database "nope" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			config := testConfig()
			if tt.file != "" {
				config = tt.file + "\n" + config
			}
			cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), config)
			data := filepath.Join(dir, "data")
			addr := freeAddr(t)
			args := []string{"serve", "--config", cfg, "--listen", addr, "--data", data}
			if tt.flag != "" {
				flag := tt.flag
				if strings.Contains(flag, "PORT") {
					port := fmt.Sprint(pgCluster(t).Port())
					flag = strings.Replace(flag, "PORT", port, 1)
				}
				args = append(args, "--store", flag)
			}
			start := time.Now()
			p := startProcEnv(t, tt.env, args...)
			code := p.wait(30 * time.Second)
			out, errOut := p.stdout.String(), p.stderr.String()
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v to refuse the store", took)
			}
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tt.stderr, errOut)
			}
			if strings.Contains(out, "serving") {
				t.Errorf("stdout claims to serve:\n%s", out)
			}
			assertNotListening(t, addr)
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Errorf("the data dir was created (stat: %v)", err)
			}
			for _, secret := range []string{pw, pgtest.Password} {
				if strings.Contains(out+errOut, secret) {
					t.Errorf("the output holds the password %q:\n%s%s", secret, out, errOut)
				}
			}
		})
	}
}

// TestServeOnPostgresPasswordFromEnvironment serves from a database whose
// URL holds no password, which PGPASSWORD or a password file gives, as
// pgx reads them: the server serves, and says nothing of the password.
func TestServeOnPostgresPasswordFromEnvironment(t *testing.T) {
	needBinary(t)
	c := pgCluster(t)
	for _, tc := range []struct {
		name string
		env  func(dir string) []string
	}{
		{"PGPASSWORD", func(string) []string { return []string{"PGPASSWORD=" + pgtest.Password} }},
		{"password file", func(dir string) []string {
			file := writeFile(t, filepath.Join(dir, "pgpass"), fmt.Sprintf("127.0.0.1:%d:*:%s:%s\n", c.Port(), pgtest.User, pgtest.Password))
			return []string{"PGPASSFILE=" + file}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			url := strings.Replace(c.CreateDB(t), ":"+pgtest.Password+"@", "@", 1)
			cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig())
			s := startServerEnv(t, tc.env(dir), "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--store", url)
			if !strings.HasPrefix(s.database, `database "t_`) || s.data != "" {
				t.Errorf("the banner names the database %q and the data dir %q; want a database and no data dir", s.database, s.data)
			}
			roundTrip(t, newAPI(s.base, testAppID, testKey, testAdmin), "g1")
			if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			if code := s.wait(15 * time.Second); code != 0 {
				t.Errorf("exit code %d after SIGINT", code)
			}
			noPassword(t, s.stdout.String(), s.stderr.String())
		})
	}
}
