package pebble

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
	"github.com/tallyserver/tally/pebble/internal/faulttest"
)

// feedTo sets the store's feed to send what it tells on a channel.
func feedTo(s *Store) <-chan tally.Change {
	told := make(chan tally.Change, 100)
	s.OnChange(func(c tally.Change) { told <- c })
	return told
}

// tell receives the feed's next change, which must be want.
func tell(t *testing.T, told <-chan tally.Change, want tally.Change) {
	t.Helper()
	got := receive(t, "the feed", told)
	if got.App != want.App || got.GroupID != want.GroupID || got.Seq != want.Seq || got.Destroyed != want.Destroyed ||
		answer(got.Counters, nil) != answer(want.Counters, nil) || len(got.Deleted) != len(want.Deleted) {
		t.Fatalf("the feed told %+v, want %+v", got, want)
	}
}

// TestFeedWaitsForSync holds back the WAL's sync while a change is on its
// way to stable storage: the feed must not tell it, though Pebble already
// shows it, until the sync is done.
func TestFeedWaitsForSync(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(s *Store) error
		want   tally.Change
	}{
		{"increase", func(s *Store) error { _, err := increase(s, "a", 1); return err },
			tally.Change{App: testApp, GroupID: "a", Seq: 2, Counters: []tally.Counter{{Key: "n", Value: 2}}}},
		{"delete", func(s *Store) error { return s.DeleteCounters(ctx, testApp, "a", nil) },
			tally.Change{App: testApp, GroupID: "a", Seq: 2, Deleted: []string{"n"}}},
		{"destroy", func(s *Store) error { return s.DestroyGroup(ctx, testApp, "a") },
			tally.Change{App: testApp, GroupID: "a", Seq: 1, Destroyed: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in faulttest.Injector
			s := openOn(t, errorfs.Wrap(vfs.Default, &in), t.TempDir())
			told := feedTo(s)
			mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
			if _, err := increase(s, "a", 1); err != nil {
				t.Fatal(err)
			}
			tell(t, told, tally.Change{App: testApp, GroupID: "a", Seq: 1, Counters: []tally.Counter{{Key: "n", Value: 1}}})

			h := holdWALSyncs(t, &in)
			held := async(func() error { return c.change(s) })
			h.waitHeld(t)
			// The sync is held once the batch is in the WAL, a moment
			// before Pebble applies it, and the change is queued after
			// that: wait until Pebble shows it, so that the feed could
			// tell it if it did not wait for the sync.
			eventually(t, "Pebble shows the held change", func() bool {
				return !rawHas(t, s, groupKey(tagGroup, testApp, "a")) || rawCounters(t, s, "a") != "n=1"
			})
			// The feed looks at its queue whenever a write ends, which
			// none can while the WAL's syncs are held: make it look as
			// if one had.
			s.feed.Load().Ended()
			blocked(t, "the feed", told, 100*time.Millisecond)
			blocked(t, "the held change", held, 0)

			h.release(nil)
			if err := receive(t, "the held change", held); err != nil {
				t.Fatal(err)
			}
			tell(t, told, c.want)
		})
	}
}

// rawCounters renders a group's counters straight from Pebble, as no call
// of the store may: it sees writes that are not yet durable.
func rawCounters(t *testing.T, s *Store, id string) string {
	t.Helper()
	if err := s.enter(); err != nil {
		t.Fatal(err)
	}
	defer s.closeMu.RUnlock()
	v, err := s.get(groupKey(tagCount, testApp, id))
	if err != nil {
		t.Fatal(err)
	}
	_, cs, err := decodeCounters(v)
	return answer(cs, err)
}

// TestFeedSkipsFailedSync fails the sync of a change: the feed never
// tells it, and once the store has reopened it tells the next change,
// numbered after whatever survived of the failed one.
func TestFeedSkipsFailedSync(t *testing.T) {
	mem := vfs.NewCrashableMem()
	var in faulttest.Injector
	s := openOn(t, errorfs.Wrap(mem, &in), "/db")
	told := feedTo(s)
	mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
	if _, err := increase(s, "a", 1); err != nil {
		t.Fatal(err)
	}
	tell(t, told, tally.Change{App: testApp, GroupID: "a", Seq: 1, Counters: []tally.Counter{{Key: "n", Value: 1}}})

	h := holdWALSyncs(t, &in)
	inc := async(func() error { _, err := increase(s, "a", 1); return err })
	h.waitHeld(t)
	h.release(faulttest.ErrIO)
	if err := receive(t, "the increment", inc); !isInternal(err) {
		t.Fatalf("increment whose sync failed: %v, want an internal error", err)
	}
	in.Set(nil)
	var seq uint64
	var cs []tally.Counter
	eventually(t, "the store serves again", func() bool {
		var err error
		seq, cs, err = s.CounterState(ctx, testApp, "a")
		return err == nil
	})
	// The failed increment may or may not have survived, and the Seq
	// says which.
	if len(cs) != 1 || cs[0].Value != int64(seq) || seq < 1 || seq > 2 {
		t.Fatalf("after the fault a is #%d %v", seq, cs)
	}
	if _, err := increase(s, "a", 1); err != nil {
		t.Fatal(err)
	}
	tell(t, told, tally.Change{App: testApp, GroupID: "a", Seq: seq + 1, Counters: []tally.Counter{{Key: "n", Value: int64(seq) + 1}}})
}

// TestFeedCloseTellsQueued closes a store whose feed's function is slow:
// Close waits until the feed has told every change that was acknowledged.
func TestFeedCloseTellsQueued(t *testing.T) {
	s := openOn(t, vfs.Default, t.TempDir())
	var n int
	s.OnChange(func(tally.Change) {
		time.Sleep(time.Millisecond)
		n++
	})
	mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
	for range 50 {
		if _, err := increase(s, "a", 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 50 {
		t.Fatalf("the feed told %d changes by Close, want 50", n)
	}
}

// TestCountersRecord reads counters records of this release and of the
// releases before Seq, whose records start at their count.
func TestCountersRecord(t *testing.T) {
	cs := []tally.Counter{{Key: "a", Value: -1}, {Key: "b", Value: 1 << 62}}
	for _, c := range []struct {
		name   string
		record []byte
		seq    uint64
		want   []tally.Counter
	}{
		{"this release", encodeCounters(1<<63, cs), 1 << 63, cs},
		{"this release, no counters", encodeCounters(7, nil), 7, nil},
		{"before Seq", encodeCountersBeforeSeq(cs), 0, cs},
		{"before Seq, 20 counters", encodeCountersBeforeSeq(make([]tally.Counter, 20)), 0, make([]tally.Counter, 20)},
		{"no record", nil, 0, nil},
	} {
		seq, got, err := decodeCounters(c.record)
		if err != nil || seq != c.seq || answer(got, nil) != answer(c.want, nil) || (got == nil) != (c.want == nil) {
			t.Errorf("%s: decoded #%d %v, %v; want #%d %v", c.name, seq, got, err, c.seq, c.want)
		}
		if seq, shared, err := decodeCountersShared(c.record); err != nil || seq != c.seq || !slices.Equal(shared, got) || (shared == nil) != (got == nil) {
			t.Errorf("%s: decoded with shared keys #%d %v, %v; want #%d %v", c.name, seq, shared, err, c.seq, got)
		}
		if n, err := countersLen(c.record); err != nil || n != int64(len(c.want)) {
			t.Errorf("%s: countersLen %d, %v; want %d", c.name, n, err, len(c.want))
		}
	}
	if c := encodeCountersBeforeSeq(make([]tally.Counter, tally.MaxCountersPerGroup)); c[0] >= 0x80 || c[0] == countersSeq {
		t.Fatalf("a record before Seq can start with %#x", c[0])
	}
}

// The feed's commit is the Outcome the feed waits for.
var _ changefeed.Outcome = (*commit)(nil)

// TestFeedHoldsWritersBack stops the feed's function: once the feed's
// queue is full, writes wait for room rather than drop a change, and once
// the function goes on, every change is told, in order.
func TestFeedHoldsWritersBack(t *testing.T) {
	s := openOn(t, vfs.Default, t.TempDir())
	release := make(chan struct{})
	var told []uint64
	s.OnChange(func(c tally.Change) {
		<-release
		told = append(told, c.Seq)
	})
	mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
	const writes = changefeed.Size + 10
	var done atomic.Int64
	wrote := async(func() error {
		for range writes {
			if _, err := increase(s, "a", 1); err != nil {
				return err
			}
			done.Add(1)
		}
		return nil
	})
	// The function holds one change, and the queue the next Size.
	eventually(t, "the queue fills", func() bool { return done.Load() >= changefeed.Size+1 })
	blocked(t, "the writes", wrote, 100*time.Millisecond)
	if n := done.Load(); n != changefeed.Size+1 {
		t.Fatalf("%d writes done with the feed stopped, want %d", n, changefeed.Size+1)
	}
	close(release)
	if err := receive(t, "the writes", wrote); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(told) != writes {
		t.Fatalf("the feed told %d changes, want %d", len(told), writes)
	}
	for i, seq := range told {
		if seq != uint64(i+1) {
			t.Fatalf("change %d told is #%d", i+1, seq)
		}
	}
}
