package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tallyserver/tally/internal/pgtest"
)

// TestStart starts a cluster with a synchronous standby and commits on it,
// which only returns once the standby has the commit.
func TestStart(t *testing.T) {
	start := time.Now()
	c := pgtest.New(t, pgtest.Options{Standby: true})
	t.Logf("started in %v", time.Since(start))
	ctx := context.Background()
	url := c.CreateDB(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var sync string
	if err := conn.QueryRow(ctx, "SELECT sync_state FROM pg_stat_replication").Scan(&sync); err != nil || sync != "sync" {
		t.Fatalf("sync_state %q, %v", sync, err)
	}
	t.Logf("total %v", time.Since(start))
}

// TestKillPrimaryAndPromote kills the primary under an open session, whose
// next statement must fail, and promotes the standby, which must hold
// every commit and take writes through the URL that names both servers.
func TestKillPrimaryAndPromote(t *testing.T) {
	c := pgtest.New(t, pgtest.Options{Standby: true})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := c.KillPrimary(); err != nil {
		t.Fatal(err)
	}
	killed := time.Since(start)
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a session on the killed primary still answers")
	}
	if err := c.PromoteStandby(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed in %v, promoted in %v", killed, time.Since(start)-killed)

	conn2, err := pgx.Connect(ctx, c.FailoverURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close(ctx)
	if _, err := conn2.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatalf("the promoted standby refuses a write: %v", err)
	}
	var n int
	if err := conn2.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("the promoted standby holds %d rows (%v), want the primary's one and the new one", n, err)
	}
}
