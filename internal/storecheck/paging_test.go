package storecheck

import (
	"context"
	"testing"

	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/storetest"
)

// TestPaging sums an app in pages of two groups, read three at a time,
// which must sum as one page does.
func TestPaging(t *testing.T) {
	s, err := pebble.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.Populate(t, s)
	app := storetest.PopulatedApps[0]
	whole, err := Sum(context.Background(), s, app)
	if err != nil {
		t.Fatal(err)
	}
	defer func(p, l int) { pageSize, lookupSize = p, l }(pageSize, lookupSize)
	pageSize, lookupSize = 2, 3
	paged, err := Sum(context.Background(), s, app)
	if err != nil || paged != whole {
		t.Fatalf("in pages of 2: %v, %v; want %v", paged, err, whole)
	}
	r, err := Compare(context.Background(), app, s, s)
	if err != nil || !r.OK() || r.A != whole {
		t.Fatalf("Compare in pages of 2: %v, %+v", err, r)
	}
}
