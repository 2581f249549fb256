package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/postgres"
)

// TestServerRestart stops the database under an open store: every kind of
// call must then fail with an internal error, never a client's error or
// OK, and once the server is back the same store serves again, its pool
// having replaced the connections the stop broke.
func TestServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of its own")
	}
	c := pgtest.New(t, pgtest.Options{})
	s := open(t, c.URL("postgres"))
	ctx := context.Background()
	const app = 1400000001
	g := &tally.Group{ID: "g", Type: tally.GroupPublic, Name: "g", InfoSeq: 1}
	if err := s.CreateGroup(ctx, app, g, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		name string
		call func(*postgres.Store) error
	}{
		{"UpdateCounters", func(s *postgres.Store) error {
			_, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}})
			return err
		}},
		{"Counters", func(s *postgres.Store) error {
			_, err := s.Counters(ctx, app, "g", nil)
			return err
		}},
		{"Groups", func(s *postgres.Store) error {
			_, err := s.Groups(ctx, app, []string{"g"}, true)
			return err
		}},
		{"CreateGroup", func(s *postgres.Store) error {
			return s.CreateGroup(ctx, app, &tally.Group{Type: tally.GroupPrivate, Name: "n", InfoSeq: 1}, nil)
		}},
		{"ListGroups", func(s *postgres.Store) error {
			_, err := s.ListGroups(ctx, app, tally.GroupFilter{Limit: 10})
			return err
		}},
	}

	if err := s.Health(); err != nil {
		t.Fatalf("Health before the stop: %v", err)
	}
	if err := c.StopPrimary(); err != nil {
		t.Fatal(err)
	}
	// Health answers its latest ping for a second, so it may take that
	// long to see the stop, and the restart.
	if err := waitHealth(s, false); err != nil {
		t.Error(err)
	}
	for _, call := range calls {
		start := time.Now()
		err := call.call(s)
		if code := tally.ErrorCode(err); code != tally.ErrInternal {
			t.Errorf("%s with the server stopped: code %d (%v), want an internal error", call.name, code, err)
		}
		t.Logf("%s with the server stopped, after %v: %v", call.name, time.Since(start).Round(time.Millisecond), err)
	}

	if err := c.StartPrimary(); err != nil {
		t.Fatal(err)
	}
	if err := waitHealth(s, true); err != nil {
		t.Error(err)
	}
	for _, call := range calls {
		if err := call.call(s); err != nil {
			t.Errorf("%s after the restart: %v", call.name, err)
		}
	}
	cs, err := s.Counters(ctx, app, "g", nil)
	if err != nil || len(cs) != 1 || cs[0].Value != 2 {
		t.Fatalf("Counters after the restart = %v, %v; want k=2", cs, err)
	}
}

// waitHealth waits up to three seconds for Health to say the store is up,
// or down, and says how long it took, or that it did not.
func waitHealth(s *postgres.Store, up bool) error {
	start := time.Now()
	for {
		err := s.Health()
		if (err == nil) == up {
			return nil
		}
		if time.Since(start) > 3*time.Second {
			return fmt.Errorf("Health = %v after %v, want up=%v", err, time.Since(start).Round(time.Millisecond), up)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
