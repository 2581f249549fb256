package postgres_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/postgres"
)

// TestMigrateOnce opens ten stores at once on a fresh database, as ten
// nodes starting together would: each must open, and the schema be built
// once.
func TestMigrateOnce(t *testing.T) {
	url := shared(t).CreateDB(t)
	const nodes = 10
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), url)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	versions := query[int](t, url, "SELECT version FROM tally_schema ORDER BY version")
	if len(versions) == 0 || versions[0] != 1 {
		t.Fatalf("tally_schema holds versions %v, want 1, 2… once each", versions)
	}
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("tally_schema holds versions %v, want 1, 2… once each", versions)
		}
	}
}

// TestNewerSchemaRefused opens a database whose schema a newer tally built:
// Open must refuse, saying to upgrade, rather than use tables it does not
// know.
func TestNewerSchemaRefused(t *testing.T) {
	url := shared(t).CreateDB(t)
	s := open(t, url)
	s.Close()
	latest := query[int](t, url, "SELECT max(version) FROM tally_schema")[0]
	query[int](t, url, fmt.Sprintf("INSERT INTO tally_schema (version, name) VALUES (%d, 'from the future') RETURNING version", latest+1))
	_, err := postgres.Open(context.Background(), url)
	want := fmt.Sprintf("database schema version %d is newer than this tally (%d); upgrade tally", latest+1, latest)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %v, want an error saying %q", err, want)
	}
}

// TestOpenErrors opens databases that cannot be used, with a password in
// each URL: Open must fail soon, and no error may hold the password, in
// any spelling.
func TestOpenErrors(t *testing.T) {
	c := shared(t)
	const pw = "Zq9-secret/pw@x"
	esc := url.QueryEscape(pw)
	dead := deadPort(t)
	for _, tc := range []struct{ name, url string }{
		{"wrong password", fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/postgres", pgtest.User, esc, c.Port())},
		{"nothing listening", fmt.Sprintf("postgres://u:%s@127.0.0.1:%d/db", esc, dead)},
		{"no such database", fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/nope", pgtest.User, pgtest.Password, c.Port())},
		{"several hosts, none up", fmt.Sprintf("postgres://u:%s@127.0.0.1:%d,127.0.0.1:%d/db?target_session_attrs=read-write", esc, dead, deadPort(t))},
		{"bad port", fmt.Sprintf("postgres://u:%s@127.0.0.1:port/db", esc)},
		{"raw password", "postgres://u:" + pw + "@127.0.0.1:x/db"},
		{"bad option", fmt.Sprintf("postgres://u:%s@127.0.0.1/db?sslmode=sometimes", esc)},
		{"bad setting", fmt.Sprintf("postgres://u:%s@127.0.0.1/db?connect_timeout=soon", esc)},
		{"key-value", "host=127.0.0.1 port=x user=u password='" + pw + "'"},
		{"key-value unquoted", "host=127.0.0.1 port=x user=u password=" + esc},
		{"password in query", "postgres://u@127.0.0.1:x/db?password=" + esc},
		{"not a url", "postgres//u:" + pw + "@host/db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			s, err := postgres.Open(ctx, tc.url)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Open took %v to fail", d)
			}
			msg := err.Error()
			for _, secret := range []string{pw, esc, url.PathEscape(pw), pgtest.Password} {
				if strings.Contains(msg, secret) {
					t.Fatalf("error holds the password %q: %s", secret, msg)
				}
			}
			t.Log(msg)
		})
	}
}

// deadPort returns a loopback port that nothing listens on.
func deadPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// query runs sql on the database at url and returns its first column.
func query[T any](t *testing.T, url, sql string) []T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[T])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}
