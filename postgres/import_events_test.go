package postgres_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// importedEvent is an event as another store's outbox would hold it.
func importedEvent(id uint64) tally.Event {
	return tally.Event{
		ID: id, App: 1400000001, GroupID: fmt.Sprintf("g\x00%d", id%3), Kind: tally.EventAfterGroupCounterChanged,
		ClientIP: "192.0.2.1", Time: 1700000000000 + int64(id), Body: fmt.Appendf(nil, `{"n":%d,"raw":"\xff"}`, id),
	}
}

// TestImportEvents imports events in batches and reads them back: every
// one with its id and all it held, lowest id first, through Events and
// ExportEvents alike. The next event a write records gets an id above
// the imported ones, above the last id the source gave, and above any the
// database gave before the import.
func TestImportEvents(t *testing.T) {
	tests := []struct {
		name    string
		before  int // events recorded and delivered before the import
		batches [][]uint64
		after   uint64
		above   uint64
	}{
		{"ids kept, new ones above the source's last", 0, [][]uint64{{3, 4, 9}, {12}}, 20, 20},
		{"new ones above the imported", 0, [][]uint64{{5, 40}}, 7, 40},
		{"the source's outbox empty", 0, nil, 7, 7},
		{"nothing to import", 0, nil, 0, 0},
		{"the sequence not moved down", 3, [][]uint64{{2}}, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const app = 1400000001
			ctx := context.Background()
			s := open(t, shared(t).CreateDB(t))
			octx := tally.WithOrigin(ctx, tally.Origin{Operator: "admin", ClientIP: "192.0.2.9", Time: time.UnixMilli(1700000000123), Events: tally.AllEvents})
			g := &tally.Group{ID: "new", Type: tally.GroupPublic, Name: "new", Owner: "o", InfoSeq: 1, MaxMemberNum: 100}
			if err := s.CreateGroup(ctx, app, g, []tally.Member{{Account: "o", Role: tally.RoleOwner}}); err != nil {
				t.Fatal(err)
			}
			for i := range tt.before {
				if _, err := s.UpdateCounters(octx, app, "new", tally.ModeSet, []tally.Counter{{Key: "k", Value: int64(i)}}); err != nil {
					t.Fatal(err)
				}
			}
			if delivered, err := s.Events(ctx, 100); err != nil || len(delivered) != tt.before {
				t.Fatalf("Events before the import = %v, %v", delivered, err)
			} else if err := s.DeleteEvents(ctx, eventIDs(delivered)); err != nil {
				t.Fatal(err)
			}

			var want []tally.Event
			for _, ids := range tt.batches {
				var batch []tally.Event
				for _, id := range ids {
					batch = append(batch, importedEvent(id))
				}
				if err := s.ImportEvents(ctx, batch, tt.after); err != nil {
					t.Fatal(err)
				}
				want = append(want, batch...)
			}
			if len(tt.batches) == 0 {
				if err := s.ImportEvents(ctx, nil, tt.after); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Events(ctx, 100)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Events = %v\n%+v\nwant\n%+v", err, got, want)
			}
			if exported := exportEvents(t, s); !reflect.DeepEqual(exported, want) {
				t.Errorf("ExportEvents gave\n%+v\nwant\n%+v", exported, want)
			}

			if _, err := s.UpdateCounters(octx, app, "new", tally.ModeSet, []tally.Counter{{Key: "k", Value: 100}}); err != nil {
				t.Fatal(err)
			}
			all, err := s.Events(ctx, 100)
			if err != nil || len(all) != len(want)+1 {
				t.Fatalf("Events after a write = %v, %v; want the imported and one more", all, err)
			}
			if n := all[len(all)-1]; n.GroupID != "new" || n.ID <= tt.above {
				t.Errorf("the event recorded after the import has id %d (group %q), want one above %d", n.ID, n.GroupID, tt.above)
			}
		})
	}
}

// TestImportEventsRefused gives ImportEvents what it must refuse: the
// call is refused whole, saying why, and the outbox keeps what it held.
func TestImportEventsRefused(t *testing.T) {
	ctx := context.Background()
	s := open(t, shared(t).CreateDB(t))
	held := []tally.Event{importedEvent(5)}
	if err := s.ImportEvents(ctx, held, 5); err != nil {
		t.Fatal(err)
	}
	kind := func(k tally.EventKind) tally.Event {
		e := importedEvent(6)
		e.Kind = k
		return e
	}
	tests := []struct {
		name  string
		evs   []tally.Event
		after uint64
		want  string
	}{
		{"id 0", []tally.Event{importedEvent(7), importedEvent(0)}, 7, "event id 0 is not"},
		{"id past a bigint", []tally.Event{importedEvent(math.MaxInt64 + 1)}, 0, "is not one a bigint"},
		{"no kind", []tally.Event{kind(0)}, 6, "of no kind"},
		{"unknown kind", []tally.Event{kind(tally.EventAfterGroupCounterChanged + 1)}, 6, "of no kind"},
		{"id in the outbox", []tally.Event{importedEvent(6), importedEvent(5)}, 6, "an event id is in the outbox already"},
		{"id twice", []tally.Event{importedEvent(8), importedEvent(8)}, 8, "an event id is in the outbox already"},
		{"last id past a bigint", []tally.Event{importedEvent(9)}, math.MaxInt64 + 1, "last event id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ImportEvents(ctx, tt.evs, tt.after)
			if err == nil || !strings.Contains(err.Error(), "import") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ImportEvents = %v, want an import error saying %q", err, tt.want)
			}
			if got, err := s.Events(ctx, 100); err != nil || !reflect.DeepEqual(got, held) {
				t.Errorf("after the refusal Events = %v, %+v; want %+v", err, got, held)
			}
		})
	}
}

// TestExportEventsPages exports more events than one page holds.
func TestExportEventsPages(t *testing.T) {
	ctx := context.Background()
	s := open(t, shared(t).CreateDB(t))
	var want []tally.Event
	for id := uint64(1); id <= 2500; id++ {
		want = append(want, importedEvent(id*3))
	}
	if err := s.ImportEvents(ctx, want, 0); err != nil {
		t.Fatal(err)
	}
	if got := exportEvents(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("ExportEvents gave %d events, want %d as imported", len(got), len(want))
	}
}

// exportEvents returns what s.ExportEvents gives.
func exportEvents(t *testing.T, s interface {
	ExportEvents(context.Context, func(tally.Event) error) error
}) []tally.Event {
	t.Helper()
	var out []tally.Event
	if err := s.ExportEvents(context.Background(), func(e tally.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// eventIDs returns the ids of evs.
func eventIDs(evs []tally.Event) []uint64 {
	var ids []uint64
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}
