package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// commitTiming is how long a commit took at one synchronous_commit level.
type commitTiming struct {
	level     string
	p50, mean time.Duration
	commits   int
}

// commitLevels are the synchronous_commit levels probed: off waits for
// nothing, local for the primary's WAL fsync, on for the synchronous
// standby's flush as well, which is what every Tally transaction waits
// for.
var commitLevels = []string{"off", "local", "on"}

// probeCommits times n commits of a one-row update at each level, one
// after another from one connection, with nothing else running: the least
// that a transaction of a hot group holds its row lock for, since the
// lock is let go only once the commit has returned.
func probeCommits(ctx context.Context, conn *pgx.Conn, n int) ([]commitTiming, error) {
	_, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS tallybench_probe (id int PRIMARY KEY, n bigint NOT NULL);
		INSERT INTO tallybench_probe VALUES (1, 0) ON CONFLICT DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("commit probe: %w", err)
	}
	defer conn.Exec(ctx, "RESET synchronous_commit")
	var out []commitTiming
	for _, level := range commitLevels {
		if _, err := conn.Exec(ctx, "SET synchronous_commit = "+level); err != nil {
			return nil, fmt.Errorf("commit probe: %w", err)
		}
		took := make([]time.Duration, n)
		for i := range took {
			t0 := time.Now()
			// One statement outside a transaction block commits on its
			// own, in one round trip.
			if _, err := conn.Exec(ctx, "UPDATE tallybench_probe SET n = n + 1 WHERE id = 1"); err != nil {
				return nil, fmt.Errorf("commit probe: %w", err)
			}
			took[i] = time.Since(t0)
		}
		var sum time.Duration
		for _, d := range took {
			sum += d
		}
		slices.Sort(took)
		out = append(out, commitTiming{level: level, p50: took[n/2], mean: sum / time.Duration(n), commits: n})
	}
	return out, nil
}
