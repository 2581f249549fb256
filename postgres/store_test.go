package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/postgres"
	"github.com/tallyserver/tally/storetest"
)

// cluster is the one PostgreSQL, with a synchronous standby, that the
// tests of this binary share, each on databases of its own; nil when
// PostgreSQL is not installed.
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	c, err := pgtest.Start(pgtest.Options{Standby: true})
	switch {
	case errors.Is(err, pgtest.ErrNoBinaries):
		fmt.Fprintln(os.Stderr, "postgres tests skip:", err)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	if c != nil {
		c.Close()
	}
	os.Exit(code)
}

// shared returns the shared cluster, skipping the test without one.
func shared(t testing.TB) *pgtest.Cluster {
	t.Helper()
	if cluster == nil {
		t.Skip(pgtest.ErrNoBinaries)
	}
	return cluster
}

// open opens a store on url, closed when the test ends.
func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// urls remembers the database each store of the contract was opened on,
// for Reopen.
var urls = map[tally.Store]string{}

func TestContract(t *testing.T) {
	c := shared(t)
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T) tally.Store {
			url := c.CreateDB(t)
			s, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			urls[s] = url
			return s
		},
		Reopen: func(t *testing.T, s tally.Store) tally.Store {
			url := urls[s]
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			urls[s2] = url
			return s2
		},
	})
}
