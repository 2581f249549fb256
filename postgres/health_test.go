package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally/postgres"
)

// TestHealthIsCached polls Health from many goroutines, as load balancers
// polling a node do: the database must see one ping per second at most,
// not one per poll.
func TestHealthIsCached(t *testing.T) {
	s := open(t, shared(t).CreateDB(t))
	before := postgres.Acquires(s)
	start := time.Now()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := s.Health(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	pings := postgres.Acquires(s) - before
	// One ping, and one more for each second the polls took.
	if limit := 1 + int64(took/time.Second); pings > limit {
		t.Errorf("1,000 calls of Health in %v took %d connections from the pool, want at most %d", took, pings, limit)
	}
	t.Logf("1,000 calls in %v, %d pings", took, pings)

	s.Close()
	if err := s.Health(); err == nil {
		t.Error("Health is nil after Close")
	}
}
