package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// The cases of tally.ChangeFeed, which run on a backend whose stores
// implement it: a group's Seq, and the changes the feed tells.

// feedRecorder keeps what a feed told, in order, and notes a breach of
// the contract that the order alone does not show.
type feedRecorder struct {
	mu      sync.Mutex
	changes []tally.Change
	busy    bool
	breach  string
	// told is signalled after each change, for waiters.
	told chan struct{}
}

func (r *feedRecorder) fn(c tally.Change) {
	r.mu.Lock()
	if r.busy && r.breach == "" {
		r.breach = "the feed called its function from two goroutines at once"
	}
	r.busy = true
	r.mu.Unlock()
	// A moment inside, so that a second goroutine would be caught.
	time.Sleep(time.Microsecond)
	r.mu.Lock()
	r.busy = false
	r.changes = append(r.changes, c)
	r.mu.Unlock()
	select {
	case r.told <- struct{}{}:
	default:
	}
}

// snapshot returns what the feed has told so far.
func (r *feedRecorder) snapshot(t *testing.T) []tally.Change {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.breach != "" {
		t.Fatal(r.breach)
	}
	return slices.Clone(r.changes)
}

// waitFor waits until the feed has told a change that last matches, and
// returns all it has told.
func (r *feedRecorder) waitFor(t *testing.T, what string, last func(tally.Change) bool) []tally.Change {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		got := r.snapshot(t)
		if slices.ContainsFunc(got, last) {
			return got
		}
		select {
		case <-r.told:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the feed did not tell %s; it told %s", what, showChanges(got))
		}
	}
}

// openFeed opens a store of b with a recorder on its feed, and skips the
// test if b's stores have no feed.
func openFeed(t *testing.T, b Backend) (tally.Store, tally.ChangeFeed, *feedRecorder) {
	t.Helper()
	s := open(t, b)
	f, r := feedOf(t, s)
	return s, f, r
}

func feedOf(t *testing.T, s tally.Store) (tally.ChangeFeed, *feedRecorder) {
	t.Helper()
	f, ok := s.(tally.ChangeFeed)
	if !ok {
		t.Skipf("%T does not implement tally.ChangeFeed", s)
	}
	r := &feedRecorder{told: make(chan struct{}, 1)}
	f.OnChange(r.fn)
	return f, r
}

func mustState(t *testing.T, f tally.ChangeFeed, id string) (uint64, []tally.Counter) {
	t.Helper()
	seq, cs, err := f.CounterState(ctx, app, id)
	if err != nil {
		t.Fatalf("CounterState(%q): %v", id, err)
	}
	return seq, cs
}

func showChanges(cs []tally.Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("\n\t" + showChange(c))
	}
	return b.String()
}

func showChange(c tally.Change) string {
	if c.Destroyed {
		return fmt.Sprintf("%s #%d destroyed", c.GroupID, c.Seq)
	}
	return fmt.Sprintf("%s #%d set %v deleted %v", c.GroupID, c.Seq, c.Counters, c.Deleted)
}

// sameChange compares changes, taking no counters or keys as none,
// however a store spells that.
func sameChange(a, b tally.Change) bool {
	return a.App == b.App && a.GroupID == b.GroupID && a.Seq == b.Seq && a.Destroyed == b.Destroyed &&
		(len(a.Counters) == 0 && len(b.Counters) == 0 || reflect.DeepEqual(a.Counters, b.Counters)) &&
		(len(a.Deleted) == 0 && len(b.Deleted) == 0 || reflect.DeepEqual(a.Deleted, b.Deleted))
}

// testFeedSeq takes one group through calls that change its counters and
// calls that do not: each change adds one to its Seq and is told, with
// the keys it set and removed; a call that changes nothing, or fails,
// keeps the Seq and tells nothing. Destroy tells the end, and a group
// re-created under the id starts again at 0.
func testFeedSeq(t *testing.T, b Backend) {
	s, f, r := openFeed(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	if seq, cs := mustState(t, f, "g"); seq != 0 || len(cs) != 0 {
		t.Fatalf("a new group's state is #%d %v, want #0 and no counters", seq, cs)
	}
	update := func(mode tally.Mode, kv ...any) func() error {
		return func() error { _, err := s.UpdateCounters(ctx, app, "g", mode, counters(kv...)); return err }
	}
	remove := func(keys ...string) func() error {
		return func() error { return s.DeleteCounters(ctx, app, "g", keys) }
	}
	change := func(seq uint64, set []tally.Counter, deleted ...string) *tally.Change {
		return &tally.Change{App: app, GroupID: "g", Seq: seq, Counters: set, Deleted: deleted}
	}
	steps := []struct {
		name  string
		call  func() error
		code  tally.Code    // What the call answers.
		told  *tally.Change // What the feed tells of it; nil for nothing.
		seq   uint64        // The group's state afterwards.
		state []tally.Counter
	}{
		{"set two", update(tally.ModeSet, "b", 2, "a", 1), tally.OK,
			change(1, counters("a", 1, "b", 2)), 1, counters("a", 1, "b", 2)},
		{"set to the same values", update(tally.ModeSet, "a", 1, "b", 2), tally.OK, nil, 1, counters("a", 1, "b", 2)},
		{"increase by 0", update(tally.ModeIncrease, "a", 0), tally.OK, nil, 1, counters("a", 1, "b", 2)},
		{"set one the same and one anew", update(tally.ModeSet, "a", 1, "b", 3), tally.OK,
			change(2, counters("b", 3)), 2, counters("a", 1, "b", 3)},
		{"a new key at 0", update(tally.ModeIncrease, "c", 0), tally.OK,
			change(3, counters("c", 0)), 3, counters("a", 1, "b", 3, "c", 0)},
		{"decrease", update(tally.ModeDecrease, "a", 5), tally.OK,
			change(4, counters("a", -4)), 4, counters("a", -4, "b", 3, "c", 0)},
		{"set to the edge", update(tally.ModeSet, "a", 2, "b", math.MaxInt64), tally.OK,
			change(5, counters("a", 2, "b", math.MaxInt64)), 5, counters("a", 2, "b", math.MaxInt64, "c", 0)},
		{"an overflow, refused", update(tally.ModeIncrease, "a", 1, "b", 1), tally.ErrInvalidParameter,
			nil, 5, counters("a", 2, "b", math.MaxInt64, "c", 0)},
		{"delete of a missing key", remove("zz"), tally.OK, nil, 5, counters("a", 2, "b", math.MaxInt64, "c", 0)},
		{"delete of a key and a missing one", remove("zz", "b"), tally.OK,
			change(6, nil, "b"), 6, counters("a", 2, "c", 0)},
		{"delete of all", remove(), tally.OK, change(7, nil, "a", "c"), 7, nil},
		{"delete of all, again", remove(), tally.OK, nil, 7, nil},
		{"increase after deleting all", update(tally.ModeIncrease, "a", 1), tally.OK,
			change(8, counters("a", 1)), 8, counters("a", 1)},
	}
	var want []tally.Change
	for _, st := range steps {
		wantCode(t, st.name, st.call(), st.code)
		if st.told != nil {
			want = append(want, *st.told)
		}
		seq, cs := mustState(t, f, "g")
		if seq != st.seq {
			t.Fatalf("after %s the Seq is %d, want %d", st.name, seq, st.seq)
		}
		equal(t, "after "+st.name+", the state", cs, st.state)
		equal(t, "after "+st.name+", Counters", mustCounters(t, s, "g"), st.state)
	}

	// Destroy tells the group's last Seq; the group re-created under its
	// id starts at 0 and tells its changes from 1.
	if err := s.DestroyGroup(ctx, app, "g"); err != nil {
		t.Fatal(err)
	}
	want = append(want, tally.Change{App: app, GroupID: "g", Seq: 8, Destroyed: true})
	_, _, err := f.CounterState(ctx, app, "g")
	wantCode(t, "the state of a destroyed group", err, tally.ErrGroupNotFound)
	mustCreate(t, s, tally.GroupPublic, "g")
	if seq, cs := mustState(t, f, "g"); seq != 0 || len(cs) != 0 {
		t.Fatalf("the re-created group's state is #%d %v, want #0 and no counters", seq, cs)
	}
	if err := update(tally.ModeIncrease, "a", 7)(); err != nil {
		t.Fatal(err)
	}
	last := *change(1, counters("a", 7))
	want = append(want, last)

	got := r.waitFor(t, "the re-created group's first change", func(c tally.Change) bool { return sameChange(c, last) })
	if len(got) != len(want) || !slices.EqualFunc(got, want, sameChange) {
		t.Fatalf("the feed told%s\nwant%s", showChanges(got), showChanges(want))
	}
}

// testFeedState checks CounterState's errors, which are Counters's, and
// that what it returns is the caller's.
func testFeedState(t *testing.T, b Backend) {
	s, f, _ := openFeed(t, b)
	mustCreate(t, s, tally.GroupCommunity, "@TGS#_c")
	mustCreate(t, s, tally.GroupPublic, "g")
	for _, c := range []struct {
		id   string
		want tally.Code
	}{{"nope", tally.ErrGroupNotFound}, {"@TGS#_c", tally.ErrNoPermission}} {
		_, _, err := f.CounterState(ctx, app, c.id)
		wantCode(t, "CounterState("+c.id+")", err, c.want)
	}
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, counters("b", 2, "B", 3, "a", 1)); err != nil {
		t.Fatal(err)
	}
	_, cs := mustState(t, f, "g")
	equal(t, "the state, bytewise order", cs, counters("B", 3, "a", 1, "b", 2))
	cs[0].Value = 100
	seq, cs := mustState(t, f, "g")
	if seq != 1 {
		t.Fatalf("Seq %d, want 1", seq)
	}
	equal(t, "the state after changing what it returned", cs, counters("B", 3, "a", 1, "b", 2))
}

// testFeedReopen checks that a group's Seq is durable with its counters,
// even once they are all deleted, and that the feed of the reopened store
// tells the next change after it.
func testFeedReopen(t *testing.T, b Backend) {
	if b.Reopen == nil {
		t.Skip("backend cannot reopen")
	}
	s := b.Open(t)
	f, _ := feedOf(t, s)
	mustCreate(t, s, tally.GroupPublic, "kept")
	mustCreate(t, s, tally.GroupPublic, "emptied")
	for range 3 {
		for _, id := range []string{"kept", "emptied"} {
			if _, err := s.UpdateCounters(ctx, app, id, tally.ModeIncrease, counters("a", 1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteCounters(ctx, app, "emptied", nil); err != nil {
		t.Fatal(err)
	}
	if seq, _ := mustState(t, f, "emptied"); seq != 4 {
		t.Fatalf("Seq after deleting all %d, want 4", seq)
	}

	s = b.Reopen(t, s)
	defer s.Close()
	f, r := feedOf(t, s)
	for _, c := range []struct {
		id    string
		seq   uint64
		state []tally.Counter
	}{{"kept", 3, counters("a", 3)}, {"emptied", 4, nil}} {
		seq, cs := mustState(t, f, c.id)
		if seq != c.seq {
			t.Fatalf("after reopen %s has Seq %d, want %d", c.id, seq, c.seq)
		}
		equal(t, "after reopen, the state of "+c.id, cs, c.state)
		if _, err := s.UpdateCounters(ctx, app, c.id, tally.ModeIncrease, counters("a", 1)); err != nil {
			t.Fatal(err)
		}
	}
	want := []tally.Change{
		{App: app, GroupID: "kept", Seq: 4, Counters: counters("a", 4)},
		{App: app, GroupID: "emptied", Seq: 5, Counters: counters("a", 1)},
	}
	got := r.waitFor(t, "the changes after reopen", func(c tally.Change) bool { return sameChange(c, want[1]) })
	if !slices.EqualFunc(got, want, sameChange) {
		t.Fatalf("after reopen the feed told%s\nwant%s", showChanges(got), showChanges(want))
	}
}

// testFeedConcurrent has many writers change two groups at once. One
// group only takes increments, each a change: its Seqs run 1..N with no
// gap, each told once and in order, the change numbered k holds the k-th
// value. The other takes sets, deletes and increments, some of which
// change nothing: its Seqs run 1..its final Seq. For both, the changes
// told, applied in order to no counters, give the group's final state.
func testFeedConcurrent(t *testing.T, b Backend) {
	s, f, r := openFeed(t, b)
	mustCreate(t, s, tally.GroupAVChatRoom, "hot")
	mustCreate(t, s, tally.GroupPublic, "mixed")
	const writers, each = 16, 30
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range each {
				if _, err := s.UpdateCounters(ctx, app, "hot", tally.ModeIncrease, counters("n", 1)); err != nil {
					t.Error(err)
					return
				}
				var err error
				key := []string{"x", "y", "z"}[rng.IntN(3)]
				switch i % 3 {
				case 0:
					_, err = s.UpdateCounters(ctx, app, "mixed", tally.ModeSet, counters(key, rng.IntN(2), "w", rng.IntN(2)))
				case 1:
					err = s.DeleteCounters(ctx, app, "mixed", []string{key})
				default:
					_, err = s.UpdateCounters(ctx, app, "mixed", tally.ModeIncrease, counters(key, rng.IntN(2)))
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for _, id := range []string{"hot", "mixed"} {
		seq, state := mustState(t, f, id)
		if id == "hot" && seq != writers*each {
			t.Fatalf("hot's Seq is %d after %d increments", seq, writers*each)
		}
		all := r.waitFor(t, fmt.Sprintf("%s's change #%d", id, seq), func(c tally.Change) bool { return c.GroupID == id && c.Seq == seq })
		var cur []tally.Counter
		n := uint64(0)
		for _, c := range all {
			if c.GroupID != id {
				continue
			}
			if n++; c.Seq != n || c.App != app || c.Destroyed {
				t.Fatalf("%s's change number %d told is %s; want Seq %d", id, n, showChange(c), n)
			}
			if id == "hot" && !slices.Equal(c.Counters, counters("n", int(n))) {
				t.Fatalf("hot's change %s; want n=%d", showChange(c), n)
			}
			if !slices.IsSortedFunc(c.Counters, func(a, b tally.Counter) int { return strings.Compare(a.Key, b.Key) }) || !slices.IsSorted(c.Deleted) {
				t.Fatalf("%s's change %s is not sorted", id, showChange(c))
			}
			if len(c.Deleted) > 0 {
				cur = tally.RemoveCounters(cur, c.Deleted)
			}
			if len(c.Counters) > 0 {
				next, _, err := tally.ApplyCounters(cur, tally.ModeSet, c.Counters)
				if err != nil {
					t.Fatalf("%s's change %s does not apply: %v", id, showChange(c), err)
				}
				cur = next
			}
		}
		if n != seq {
			t.Fatalf("the feed told %d changes of %s, whose Seq is %d", n, id, seq)
		}
		equal(t, "the changes told of "+id+", applied", cur, state)
	}
}
