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
