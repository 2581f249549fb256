package pebble

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tallyserver/tally"
)

// TestOutboxSurvivesCrash: every acknowledged write's event is in the
// outbox after a crash, in the group's order, with the body the root's
// functions make; deleted events stay deleted once a later write is
// synced; and IDs go on growing after a reopen.
func TestOutboxSurvivesCrash(t *testing.T) {
	mem := vfs.NewCrashableMem()
	s := openOn(t, mem, "/db")
	o := tally.Origin{Operator: "admin", ClientIP: "192.0.2.1", Time: time.UnixMilli(1700000000123), Events: tally.AllEvents}
	octx := tally.WithOrigin(ctx, o)
	name := "n"
	r := tally.NewGroup{Type: tally.GroupPublic, Owner: "owner", Fields: tally.GroupChange{Name: &name}}
	g, ms, err := r.Build(1700000000)
	if err != nil {
		t.Fatal(err)
	}
	g.ID = "g"
	if err := s.CreateGroup(octx, testApp, g, ms); err != nil {
		t.Fatal(err)
	}
	const n = 50
	for range n {
		if _, err := s.UpdateCounters(octx, testApp, "g", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	// No Origin, no event.
	if _, err := s.UpdateCounters(ctx, testApp, "g", tally.ModeIncrease, []tally.Counter{{Key: "quiet", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1+n {
		t.Fatalf("%d events, want %d", len(evs), 1+n)
	}
	if err := s.DeleteEvents(ctx, []uint64{evs[0].ID, evs[1].ID, evs[2].ID, evs[4].ID}); err != nil {
		t.Fatal(err)
	}
	// A synced write carries the deletions to the disk with it.
	if _, err := s.UpdateCounters(octx, testApp, "g", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}

	s2 := openOn(t, mem.CrashClone(vfs.CrashCloneCfg{}), "/db")
	got, err := s2.Events(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n+1-3 {
		t.Fatalf("after the crash %d events, want %d", len(got), n+1-3)
	}
	if got[0].ID != evs[3].ID || got[1].ID != evs[5].ID {
		t.Fatalf("after the crash the first events are %d and %d, want %d and %d", got[0].ID, got[1].ID, evs[3].ID, evs[5].ID)
	}
	for i, ev := range got {
		if i > 0 && ev.ID <= got[i-1].ID {
			t.Fatalf("event %d has ID %d after %d", i, ev.ID, got[i-1].ID)
		}
	}
	last := got[len(got)-1]
	want := tally.CounterChangedEvent(testApp, o, "g", tally.GroupPublic, "Increase", []tally.Counter{{Key: "k", Value: n + 1}}, nil, n+2)
	want.ID = last.ID
	if fmt.Sprint(last.App, last.GroupID, last.Kind, last.ClientIP, last.Time) != fmt.Sprint(want.App, want.GroupID, want.Kind, want.ClientIP, want.Time) ||
		!bytes.Equal(last.Body, want.Body) {
		t.Fatalf("the last event is\n%+v\n%s\nwant\n%+v\n%s", last, last.Body, want, want.Body)
	}
	if _, err := s2.UpdateCounters(octx, testApp, "g", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	again, err := s2.Events(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if newest := again[len(again)-1]; newest.ID <= last.ID {
		t.Fatalf("after a reopen a new event got ID %d, not above %d", newest.ID, last.ID)
	}
}

// TestEventIDsNotReused: once every event was delivered and deleted, a
// store reopened, after a close or a crash, gives the next event an ID
// above all it gave before, since a handler drops an EventId it has seen.
func TestEventIDsNotReused(t *testing.T) {
	o := tally.Origin{Operator: "admin", ClientIP: "192.0.2.1", Time: time.UnixMilli(1700000000123), Events: tally.AllEvents}
	octx := tally.WithOrigin(ctx, o)
	for _, reopen := range []string{"close", "crash"} {
		t.Run(reopen, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			s, err := open("/db", testOptions(mem))
			if err != nil {
				t.Fatal(err)
			}
			g := &tally.Group{ID: "g", Type: tally.GroupPublic, Name: "g", InfoSeq: 1}
			if err := s.CreateGroup(octx, testApp, g, nil); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, err := s.UpdateCounters(octx, testApp, "g", tally.ModeSet, []tally.Counter{{Key: "k", Value: int64(i)}}); err != nil {
					t.Fatal(err)
				}
			}
			evs, err := s.Events(ctx, 100)
			if err != nil || len(evs) != 4 {
				t.Fatalf("Events = %d events, %v; want 4", len(evs), err)
			}
			var ids []uint64
			for _, ev := range evs {
				ids = append(ids, ev.ID)
			}
			if err := s.DeleteEvents(ctx, ids); err != nil {
				t.Fatal(err)
			}
			// A synced write without events carries the deletions, and
			// their mark, to the disk.
			if _, err := s.UpdateCounters(ctx, testApp, "g", tally.ModeSet, []tally.Counter{{Key: "quiet", Value: 1}}); err != nil {
				t.Fatal(err)
			}
			fs := vfs.FS(mem)
			if reopen == "crash" {
				fs = mem.CrashClone(vfs.CrashCloneCfg{})
			}
			s.Close()

			s2 := openOn(t, fs, "/db")
			if left, err := s2.Events(ctx, 100); err != nil || len(left) != 0 {
				t.Fatalf("after the %s the outbox holds %d events, %v; want none", reopen, len(left), err)
			}
			if _, err := s2.UpdateCounters(octx, testApp, "g", tally.ModeSet, []tally.Counter{{Key: "k", Value: 9}}); err != nil {
				t.Fatal(err)
			}
			next, err := s2.Events(ctx, 100)
			if err != nil || len(next) != 1 {
				t.Fatalf("Events = %d events, %v; want 1", len(next), err)
			}
			if max := ids[len(ids)-1]; next[0].ID <= max {
				t.Errorf("after the %s a new event got ID %d, which does not follow %d", reopen, next[0].ID, max)
			}
		})
	}
}
