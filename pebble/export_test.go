package pebble_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/storetest"
)

// TestExport exports a store that Populate filled, and compares what
// Export gives with what the store's own reads answer: every group of
// each app in the order of its group list, with every field, its members
// and counters, and creation numbers that ascend within an app.
func TestExport(t *testing.T) {
	ctx := context.Background()
	s, err := pebble.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.Populate(t, s)

	apps, err := s.Apps()
	if err != nil || !slices.Equal(apps, storetest.PopulatedApps) {
		t.Fatalf("Apps = %v, %v; want %v", apps, err, storetest.PopulatedApps)
	}
	got := map[uint32][]*tally.GroupExport{}
	var order []uint32
	err = s.Export(func(e *tally.GroupExport) error {
		if err := e.Check(); err != nil {
			t.Errorf("exported group fails Check: %v", err)
		}
		if n := len(order); n > 0 && order[n-1] > e.App {
			t.Errorf("app %d exported after app %d", e.App, order[n-1])
		}
		if gs := got[e.App]; len(gs) > 0 && gs[len(gs)-1].Seq >= e.Seq {
			t.Errorf("app %d: group %q numbered %d after %q numbered %d", e.App, e.Group.ID, e.Seq, gs[len(gs)-1].Group.ID, gs[len(gs)-1].Seq)
		}
		order = append(order, e.App)
		got[e.App] = append(got[e.App], e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, app := range apps {
		page, err := s.ListGroups(ctx, app, tally.GroupFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		exported := got[app]
		ids := make([]string, len(exported))
		for i, e := range exported {
			ids[i] = e.Group.ID
		}
		if !slices.Equal(ids, page.IDs) {
			t.Fatalf("app %d: exported %q, want the listed order %q", app, ids, page.IDs)
		}
		looked, err := s.Groups(ctx, app, ids, true)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range exported {
			if !reflect.DeepEqual(&e.Group, looked[i].Group) || !reflect.DeepEqual(e.Members, looked[i].Members) {
				t.Errorf("app %d, group %q: exported\n%+v %+v\nwant\n%+v %+v", app, e.Group.ID, e.Group, e.Members, *looked[i].Group, looked[i].Members)
			}
			if !e.Group.Type.HasCounters() {
				continue
			}
			cs, err := s.Counters(ctx, app, e.Group.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(e.Counters, cs) {
				t.Errorf("app %d, group %q: exported counters %v, want %v", app, e.Group.ID, e.Counters, cs)
			}
		}
	}
	if n := len(got[storetest.PopulatedApps[0]]); n != 7 {
		t.Errorf("exported %d groups of the first app, want Populate's 7", n)
	}

	// fn's error ends the export, and is Export's.
	stop := errors.New("stop")
	calls := 0
	if err := s.Export(func(*tally.GroupExport) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Export with a failing fn = %v after %d calls, want its error after 1", err, calls)
	}
}

// TestExportEmpty exports a store with no groups, and one whose only
// group was destroyed: nothing is exported, and no app listed.
func TestExportEmpty(t *testing.T) {
	s, err := pebble.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(when string) {
		t.Helper()
		err := s.Export(func(e *tally.GroupExport) error {
			t.Errorf("%s: exported %q", when, e.Group.ID)
			return nil
		})
		apps, aerr := s.Apps()
		if err != nil || aerr != nil || len(apps) != 0 {
			t.Errorf("%s: Export = %v, Apps = %v, %v; want nothing", when, err, apps, aerr)
		}
	}
	check("empty")
	g := &tally.Group{ID: "g", Type: tally.GroupPublic, Name: "g", InfoSeq: 1}
	if err := s.CreateGroup(context.Background(), 1, g, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DestroyGroup(context.Background(), 1, "g"); err != nil {
		t.Fatal(err)
	}
	check("after a destroy")
	s.Close()
	if err := s.Export(func(*tally.GroupExport) error { return nil }); err == nil {
		t.Error("Export of a closed store succeeded")
	}
}

// TestExportEvents records five events, deletes some, and exports the
// outbox of the reopened store: the events left, lowest ID first, as
// Events returns them, and as LastEventID the newest recorded, delivered
// or not.
func TestExportEvents(t *testing.T) {
	tests := []struct {
		name     string
		delete   []int // indexes of the recorded events
		wantLeft []int
		wantLast int // index of the event whose ID LastEventID is, -1 for 0
	}{
		{"none recorded", nil, nil, -1},
		{"none delivered", []int{}, []int{0, 1, 2, 3, 4}, 4},
		{"oldest delivered", []int{0, 1, 3}, []int{2, 4}, 4},
		{"newest delivered", []int{3, 4}, []int{0, 1, 2}, 4},
		{"all delivered", []int{0, 1, 2, 3, 4}, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s, err := pebble.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			var recorded []tally.Event
			if tt.delete != nil {
				octx := tally.WithOrigin(ctx, tally.Origin{Operator: "admin", ClientIP: "192.0.2.1", Time: time.UnixMilli(1700000000123), Events: tally.AllEvents})
				g := &tally.Group{ID: "g", Type: tally.GroupPublic, Name: "g", InfoSeq: 1}
				if err := s.CreateGroup(octx, 1, g, nil); err != nil {
					t.Fatal(err)
				}
				for i := range 4 {
					if _, err := s.UpdateCounters(octx, 1, "g", tally.ModeSet, []tally.Counter{{Key: "k", Value: int64(i)}}); err != nil {
						t.Fatal(err)
					}
				}
				if recorded, err = s.Events(ctx, 100); err != nil || len(recorded) != 5 {
					t.Fatalf("Events = %d events, %v; want 5", len(recorded), err)
				}
				var ids []uint64
				for _, i := range tt.delete {
					ids = append(ids, recorded[i].ID)
				}
				if err := s.DeleteEvents(ctx, ids); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s, err = pebble.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var got []tally.Event
			if err := s.ExportEvents(func(ev tally.Event) error {
				got = append(got, ev)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var want []tally.Event
			for _, i := range tt.wantLeft {
				want = append(want, recorded[i])
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ExportEvents gave\n%+v\nwant\n%+v", got, want)
			}
			var wantLast uint64
			if tt.wantLast >= 0 {
				wantLast = recorded[tt.wantLast].ID
			}
			if last := s.LastEventID(); last != wantLast {
				t.Errorf("LastEventID = %d, want %d", last, wantLast)
			}
		})
	}
}
