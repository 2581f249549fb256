package httpapi

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/postgres"
)

// TestLeasedAcrossNodes holds three nodes, each with a store of its own on
// one PostgreSQL, to one limit together: however their calls interleave,
// no second holds more than the limit of calls admitted over all three.
// It logs what share of the limit they admitted, the slack that leases
// left unused cost.
func TestLeasedAcrossNodes(t *testing.T) {
	c, err := pgtest.Start(pgtest.Options{Standby: true})
	if errors.Is(err, pgtest.ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	url := c.CreateDB(t)

	const (
		limit   = 100
		nodes   = 3
		callers = 4 // Per node.
		run     = 3 * time.Second
	)
	key := tally.RateKey{App: 1400000001, Command: "get_group_counter"}
	var (
		mu       sync.Mutex
		admitted []time.Time
	)
	var wg sync.WaitGroup
	end := time.Now().Add(run)
	for range nodes {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		l := newLimiter(s, key, limit)
		for range callers {
			wg.Go(func() {
				for time.Now().Before(end) {
					_, ok, err := l.acquire(context.Background(), time.Now())
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						mu.Lock()
						admitted = append(admitted, time.Now())
						mu.Unlock()
					}
					time.Sleep(time.Millisecond)
				}
			})
		}
	}
	wg.Wait()

	slices.SortFunc(admitted, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i, j := 0, 0; i < len(admitted); i++ {
		for admitted[i].Sub(admitted[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	t.Logf("%d calls admitted in %v over %d nodes, at most %d in one second; %.2f of the limit's %d",
		len(admitted), run, nodes, most, float64(len(admitted))/(limit*run.Seconds()), limit*int(run.Seconds()))
	if most > limit {
		t.Fatalf("%d calls admitted within one second; the limit is %d", most, limit)
	}
	if len(admitted) < limit*int(run.Seconds())/2 {
		t.Fatalf("only %d calls admitted in %v; the limit allows %d", len(admitted), run, limit*int(run.Seconds()))
	}
}
