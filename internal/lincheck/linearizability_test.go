package lincheck_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/postgres"
)

var (
	long = flag.Bool("lincheck.long", false, "run many more, wider histories (minutes rather than seconds)")
	seed = flag.Uint64("lincheck.seed", 0, "seed the calls of every history with this rather than the time, to make a logged run's calls again")
)

// The workloads: the short one keeps the package's tests within seconds
// under -race on two cores; the long one, behind -lincheck.long, runs ten
// times the histories with more clients and calls each.
var (
	short = workload{rounds: 8, clients: 9, calls: 16, keys: []string{"a", "b", "c"}}
	wide  = workload{rounds: 40, clients: 12, calls: 16, keys: []string{"a", "b", "c"}}
	// caught needs only one history: its opening read fails a broken
	// store on its own.
	caught = workload{rounds: 1, clients: 9, calls: 6, keys: []string{"a", "b", "c"}}
)

func theWorkload() workload {
	if *long {
		return wide
	}
	return short
}

// theSeed returns -lincheck.seed, or else the time, and logs it.
func theSeed(t *testing.T) uint64 {
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (-lincheck.seed=%d makes these calls again)", s, s)
	return s
}

// TestPebble runs histories through three nodes on the embedded store, and
// shows that the check catches a store that answers before it commits.
//
// The three nodes share one pebble.Store: a Pebble directory belongs to one
// process, which locks it, so nodes of one embedded store are servers of
// one process. What the check adds over the store's own tests is the whole
// path, three servers and their HTTP, and the order the clients saw.
func TestPebble(t *testing.T) {
	open := func(t *testing.T) []tally.Store {
		s, err := pebble.Open(filepath.Join(t.TempDir(), "store"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("closing the store: %v", err)
			}
		})
		return []tally.Store{s, s, s}
	}
	t.Run("linearizable", func(t *testing.T) { checkLinearizable(t, open(t)) })
	t.Run("answers before commit", func(t *testing.T) { checkCaught(t, open(t)) })
}

// TestPostgres runs histories through three nodes, each with a store of its
// own on one database of a cluster whose primary commits only once its
// synchronous standby has flushed, as the postgres store is meant to run;
// and shows that the check catches a store that answers before it commits.
func TestPostgres(t *testing.T) {
	c := pgtest.New(t, pgtest.Options{Standby: true})
	open := func(t *testing.T) []tally.Store {
		url := c.CreateDB(t)
		stores := make([]tally.Store, 3)
		for i := range stores {
			s, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("closing store %d: %v", i, err)
				}
			})
			stores[i] = s
		}
		return stores
	}
	t.Run("linearizable", func(t *testing.T) { checkLinearizable(t, open(t)) })
	t.Run("answers before commit", func(t *testing.T) { checkCaught(t, open(t)) })
}

// checkLinearizable serves each store on a node and checks that every
// history through the nodes is linearizable.
func checkLinearizable(t *testing.T, stores []tally.Store) {
	nodes := startNodes(t, stores)
	wantLinearizable(t, runRounds(t, nodes, theWorkload(), theSeed(t)))
}

// checkCaught serves each store, made to answer before it commits, on a
// node, and checks that the check finds every history not linearizable.
// It writes the visualization of the first, to show that a failure's
// visualization can be written, into the test's own directory, which is
// removed when the test ends; the log names the file.
func checkCaught(t *testing.T, real []tally.Store) {
	broken, flush := answerBeforeCommit(real)
	// The writes still queued are committed once the nodes have stopped
	// (cleanups run last first), so that the real stores close on a
	// settled state.
	t.Cleanup(func() {
		if err := flush(); err != nil {
			t.Error(err)
		}
	})
	nodes := startNodes(t, broken)
	results := runRounds(t, nodes, caught, theSeed(t))
	for i, res := range results {
		if res.Verdict != porcupine.Illegal {
			t.Errorf("round %d: a store that answers before it commits: verdict %s, want %s", i, res.Verdict, porcupine.Illegal)
		}
	}
	path := filepath.Join(t.TempDir(), "caught.html")
	if err := results[0].Visualize(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("the visualization %s was not written: %v", path, err)
	}
	t.Logf("the violation's visualization: %s (removed when the test ends)", path)
}
