package pebble_test

import (
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/storetest"
)

// TestContract runs the contract suite with the default cache of
// counters, which holds every group the suite makes, and with one that
// holds only the group each latch used last, so that both the cached
// and the uncached paths are held to it.
func TestContract(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  pebble.Config
	}{{"default cache", pebble.Config{}}, {"one group a latch", pebble.Config{MemoryBudget: 1}}} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, storetest.Backend{
				// The embedded store serves one node, which always
				// delivers.
				OneNode: true,
				Open: func(t *testing.T) tally.Store {
					s, err := pebble.OpenWith(t.TempDir(), c.cfg)
					if err != nil {
						t.Fatal(err)
					}
					return s
				},
				Reopen: func(t *testing.T, s tally.Store) tally.Store {
					dir := s.(*pebble.Store).Dir()
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					s2, err := pebble.OpenWith(dir, c.cfg)
					if err != nil {
						t.Fatal(err)
					}
					return s2
				},
			})
		})
	}
}
