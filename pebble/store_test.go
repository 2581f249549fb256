package pebble_test

import (
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		// The embedded store serves one node, which always delivers.
		OneNode: true,
		Open: func(t *testing.T) tally.Store {
			s, err := pebble.Open(t.TempDir())
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
			s2, err := pebble.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			return s2
		},
	})
}
