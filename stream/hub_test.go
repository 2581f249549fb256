package stream

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// TestSnapshotThenChanges: a subscriber first gets each group's whole
// state, in the order it named them, then each change, exactly as the
// wire has them.
func TestSnapshotThenChanges(t *testing.T) {
	m := newModel(t, Options{})
	m.create("a")
	m.create("b")
	m.set("a", "likes", 3)
	m.set("a", "views", 10)
	s := m.hub.Subscribe(testApp, []string{"b", "a", "b"})
	defer s.Close()

	var got []string
	for range 2 {
		got = append(got, string(mustNext(t, s)))
	}
	want := []string{
		`{"GroupId":"b","Seq":0,"GroupCounter":[]}`,
		`{"GroupId":"a","Seq":2,"GroupCounter":[{"Key":"likes","Value":3},{"Key":"views","Value":10}]}`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("snapshots:\n%s\nwant\n%s", got, want)
	}
	m.change("a", map[string]int64{"likes": 4}, []string{"views"}, true)
	m.set("b", "x", -1)
	got = got[:0]
	for range 2 {
		got = append(got, string(mustNext(t, s)))
	}
	want = []string{
		`{"GroupId":"a","Seq":3,"GroupCounter":[{"Key":"likes","Value":4}],"Deleted":["views"]}`,
		`{"GroupId":"b","Seq":1,"GroupCounter":[{"Key":"x","Value":-1}]}`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("changes:\n%s\nwant\n%s", got, want)
	}
	if b, ok := s.Next(); ok {
		t.Fatalf("a message more: %s", b)
	}
}

func mustNext(t *testing.T, s *Sub) []byte {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if b, ok := s.Next(); ok {
			return b
		}
		select {
		case <-s.Wait():
		case <-deadline:
			t.Fatal("no message within 5s")
		}
	}
}

// TestSnapshotsFirst: a subscription's first messages are its groups'
// states in the order named, though the first group's read comes back
// last and the others change meanwhile.
func TestSnapshotsFirst(t *testing.T) {
	m := newModel(t, Options{})
	for _, id := range []string{"a", "b", "c"} {
		m.create(id)
	}
	parked, release := m.hold("a")
	s := m.hub.Subscribe(testApp, []string{"a", "b", "c"})
	defer s.Close()
	parked()
	m.set("b", "k", 1)
	m.set("c", "k", 1)
	time.Sleep(20 * time.Millisecond)
	if b, ok := s.Next(); ok {
		t.Fatalf("%s before the first group's state", b)
	}
	release()
	var got []string
	v := newView()
	for range 3 {
		msg := decode(t, mustNext(t, s))
		if err := v.take(msg); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s%d", msg.GroupId, msg.Seq))
	}
	// b and c may be read before or after their change: either way their
	// first message is their state, and the change follows it if the
	// state is older.
	if got[0] != "a0" || got[1][0] != 'b' || got[2][0] != 'c' {
		t.Fatalf("messages %v, want the states of a, b and c first", got)
	}
	settle(t, m, s, v)
	for _, id := range []string{"b", "c"} {
		if v.counters[id]["k"] != 1 {
			t.Errorf("group %s ends on %v, want k=1", id, v.counters[id])
		}
	}
}

// TestHandoff holds the first read back while changes are told, and lets
// it come back older than them, or newer: either way the subscriber's
// first message is the state after the last change, and no change is
// told again after it.
func TestHandoff(t *testing.T) {
	for _, readAt := range []string{"before the changes", "among the changes", "after the changes"} {
		t.Run(readAt, func(t *testing.T) {
			m := newModel(t, Options{})
			m.create("g")
			m.set("g", "k", 1)
			parked, release := m.hold("g")
			s := m.hub.Subscribe(testApp, []string{"g"})
			defer s.Close()
			parked()
			if readAt == "before the changes" {
				release()
			}
			m.set("g", "k", 2)
			m.change("g", map[string]int64{"j": 5}, []string{"k"}, true)
			if readAt == "among the changes" {
				release()
			}
			m.set("g", "k", 7)
			if readAt == "after the changes" {
				release()
			}
			v := newView()
			settle(t, m, s, v)
			seq, want := m.state("g")
			if v.seq["g"] != seq || !reflect.DeepEqual(v.counters["g"], want) {
				t.Fatalf("the subscriber has Seq %d %v; the store %d %v", v.seq["g"], v.counters["g"], seq, want)
			}
		})
	}
}

// TestBehind: a subscriber that does not read gets at most Queue changes
// queued, then its group's whole state in place of the rest, keys deleted
// meanwhile named; the others are not held up.
func TestBehind(t *testing.T) {
	m := newModel(t, Options{Queue: 4})
	m.create("g")
	m.set("g", "gone", 1)
	slow := m.hub.Subscribe(testApp, []string{"g"})
	defer slow.Close()
	fast := m.hub.Subscribe(testApp, []string{"g"})
	defer fast.Close()
	vs, vf := newView(), newView()
	settle(t, m, slow, vs)
	settle(t, m, fast, vf)

	for i := range 1000 {
		if i == 500 {
			m.change("g", nil, []string{"gone"}, true)
			continue
		}
		m.set("g", fmt.Sprint("k", i%7), int64(i))
		drain(t, fast, vf)
	}
	msgs := drain(t, slow, vs)
	if len(msgs) > 5 {
		t.Errorf("the slow subscriber got %d messages for 1000 changes; want at most the queue's 4 and one whole state", len(msgs))
	}
	last := msgs[len(msgs)-1]
	if len(last.GroupCounter) != 7 || !slices.Equal(last.Deleted, []string{"gone"}) {
		t.Errorf("its last message %+v, want the whole state, naming the deleted key", last)
	}
	seq, want := m.state("g")
	for name, v := range map[string]*view{"slow": vs, "fast": vf} {
		if v.seq["g"] != seq || !reflect.DeepEqual(v.counters["g"], want) {
			t.Errorf("%s subscriber: Seq %d %v; the store %d %v", name, v.seq["g"], v.counters["g"], seq, want)
		}
	}
	if vf.msgs != 1001 {
		t.Errorf("the fast subscriber got %d messages, want the snapshot and 1000 changes", vf.msgs)
	}
}

// TestGap: a change whose Seq is not the next makes the hub read the
// group, and the subscriber gets the whole state, with what the untold
// change did.
func TestGap(t *testing.T) {
	m := newModel(t, Options{CatchUp: 20 * time.Millisecond})
	m.create("g")
	s := m.hub.Subscribe(testApp, []string{"g"})
	defer s.Close()
	v := newView()
	settle(t, m, s, v)
	m.set("g", "a", 1)
	m.change("g", map[string]int64{"b": 2}, []string{"a"}, false) // through another node
	m.set("g", "c", 3)
	settle(t, m, s, v)
	seq, want := m.state("g")
	if v.seq["g"] != seq || !reflect.DeepEqual(v.counters["g"], want) {
		t.Fatalf("the subscriber has Seq %d %v; the store %d %v", v.seq["g"], v.counters["g"], seq, want)
	}

	// A change not told is also found by Resync, with no later change to
	// show the gap.
	m.set("g", "d", 4)
	m.change("g", map[string]int64{"d": 5}, nil, false)
	m.hub.Resync()
	settle(t, m, s, v)
	if v.counters["g"]["d"] != 5 {
		t.Fatalf("after Resync the subscriber has %v, want d=5", v.counters["g"])
	}
}

// TestFeedBehind: a subscriber that joins while the store holds a change
// the feed has not told yet waits for it to be told, and the others get
// it as a change, not as a whole state; when it is never told, the read's
// state stands for it after CatchUp.
func TestFeedBehind(t *testing.T) {
	m := newModel(t, Options{CatchUp: 200 * time.Millisecond})
	m.create("g")
	m.set("g", "k", 1)
	old := m.hub.Subscribe(testApp, []string{"g"})
	defer old.Close()
	vOld := newView()
	settle(t, m, old, vOld)

	late := m.change("g", map[string]int64{"k": 2}, nil, false)
	joined := m.hub.Subscribe(testApp, []string{"g"})
	defer joined.Close()
	time.Sleep(50 * time.Millisecond)
	if b, ok := joined.Next(); ok {
		t.Fatalf("the subscriber that joined got %s before the feed told the change its read saw", b)
	}
	m.hub.Publish(late)
	if got := string(mustNext(t, joined)); got != `{"GroupId":"g","Seq":2,"GroupCounter":[{"Key":"k","Value":2}]}` {
		t.Fatalf("the subscriber that joined got %s", got)
	}
	if got := string(mustNext(t, old)); got != `{"GroupId":"g","Seq":2,"GroupCounter":[{"Key":"k","Value":2}]}` {
		t.Fatalf("the subscriber there before got %s, want the change", got)
	}

	// A change never told: after CatchUp both get the state with it.
	m.change("g", map[string]int64{"j": 3}, []string{"k"}, false)
	again := m.hub.Subscribe(testApp, []string{"g"})
	defer again.Close()
	want := `{"GroupId":"g","Seq":3,"GroupCounter":[{"Key":"j","Value":3}]}`
	if got := string(mustNext(t, again)); got != want {
		t.Fatalf("the subscriber that joined got %s, want %s", got, want)
	}
	if got := string(mustNext(t, old)); got != `{"GroupId":"g","Seq":3,"GroupCounter":[{"Key":"j","Value":3}],"Deleted":["k"]}` {
		t.Fatalf("the subscriber there before got %s, want the whole state naming k deleted", got)
	}
}

// TestDestroyed: a destroyed group's last message says so, the group
// leaves the subscription, and the subscription ends when none is left.
func TestDestroyed(t *testing.T) {
	m := newModel(t, Options{})
	m.create("a")
	m.create("b")
	s := m.hub.Subscribe(testApp, []string{"a", "b"})
	defer s.Close()
	v := newView()
	settle(t, m, s, v)
	m.set("a", "k", 1)
	m.destroy("a")
	m.set("b", "k", 1)
	settle(t, m, s, v)
	if !v.destroyed["a"] || v.seq["a"] != 1 || s.Err() != nil {
		t.Fatalf("after a is destroyed: %+v, Err %v", v, s.Err())
	}
	m.destroy("b")
	drain(t, s, v)
	if !v.destroyed["b"] || !errors.Is(s.Err(), ErrDone) {
		t.Fatalf("after b is destroyed: %+v, Err %v", v, s.Err())
	}
	if groups, _ := m.hub.Len(); groups != 0 {
		t.Errorf("the hub still watches %d groups", groups)
	}
}

// TestMissingAtRead: a group destroyed between the check of the
// subscription and the hub's read ends like one destroyed after.
func TestMissingAtRead(t *testing.T) {
	m := newModel(t, Options{})
	s := m.hub.Subscribe(testApp, []string{"never"})
	defer s.Close()
	v := newView()
	settle(t, m, s, v)
	drain(t, s, v)
	if !v.destroyed["never"] || !errors.Is(s.Err(), ErrDone) {
		t.Fatalf("got %+v, Err %v", v, s.Err())
	}
}

// TestReadFails: a read that fails with an internal error is tried again
// until it succeeds, and the subscriber waits for it.
func TestReadFails(t *testing.T) {
	m := newModel(t, Options{})
	m.create("g")
	m.set("g", "k", 1)
	m.fail = 3
	s := m.hub.Subscribe(testApp, []string{"g"})
	defer s.Close()
	got := decode(t, mustNext(t, s))
	if got.Seq != 1 || len(got.GroupCounter) != 1 {
		t.Fatalf("got %+v", got)
	}
	if m.reads != 4 {
		t.Errorf("%d reads, want 3 failed and 1", m.reads)
	}
}

// TestClose: closing the hub ends every subscription, a read held back
// included, and later ones at once.
func TestClose(t *testing.T) {
	m := newModel(t, Options{})
	m.create("g")
	parked, _ := m.hold("g")
	s := m.hub.Subscribe(testApp, []string{"g"})
	parked()
	done := make(chan struct{})
	go func() {
		m.hub.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a read held back")
	}
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("Err = %v", s.Err())
	}
	if _, ok := s.Next(); ok {
		t.Fatal("a message after Close")
	}
	s.Close()
	if s := m.hub.Subscribe(testApp, []string{"g"}); !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("a subscription after Close: Err = %v", s.Err())
	}
}

// TestEnd: End ends one subscription; Close forgets groups nobody
// watches.
func TestEnd(t *testing.T) {
	m := newModel(t, Options{})
	m.create("g")
	s1 := m.hub.Subscribe(testApp, []string{"g"})
	s2 := m.hub.Subscribe(testApp, []string{"g"})
	settle(t, m, s1, newView())
	reason := errors.New("key rotated out")
	s1.End(reason)
	if !errors.Is(s1.Err(), reason) {
		t.Fatalf("Err = %v", s1.Err())
	}
	m.set("g", "k", 1)
	if _, ok := s1.Next(); ok {
		t.Fatal("a message after End")
	}
	s1.Close()
	s2.Close()
	if groups, subs := m.hub.Len(); groups != 0 || subs != 0 {
		t.Fatalf("after both closed the hub has %d groups and %d subscriptions", groups, subs)
	}
}

// TestStalledSubscribers: subscribers that never read cost a bounded
// queue each and slow nobody: Publish does not wait for them, and the
// memory they hold does not grow with the changes.
func TestStalledSubscribers(t *testing.T) {
	m := newModel(t, Options{})
	m.create("g")
	var subs []*Sub
	for range 1000 {
		subs = append(subs, m.hub.Subscribe(testApp, []string{"g"}))
	}
	defer func() {
		for _, s := range subs {
			s.Close()
		}
	}()
	settle(t, m, subs[0], newView())
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	m.set("g", "k", 0)
	before := heap()
	start := time.Now()
	for i := range 20000 {
		m.set("g", "k", int64(i))
	}
	took := time.Since(start)
	grew := int64(heap()) - int64(before)
	t.Logf("20,000 changes to 1,000 stalled subscribers: %v (%v each); heap grew %d bytes", took, took/20000, grew)
	if grew > 1<<20 {
		t.Errorf("the heap grew %d bytes; the stalled subscribers' queues are full already, so it should not grow", grew)
	}
	for _, s := range subs[:3] {
		msgs := drain(t, s, newView())
		if n := len(msgs); n > DefaultQueue+1 {
			t.Errorf("a stalled subscriber has %d messages waiting", n)
		}
	}
}

// TestRandom runs writers with gaps and subscribers reading at their own
// pace over a few groups, and checks that every subscriber ends on the
// store's state, with Seqs that never went back.
func TestRandom(t *testing.T) {
	m := newModel(t, Options{Queue: 8})
	m.lazy = true
	ids := []string{"g0", "g1", "g2", "g3"}
	for _, id := range ids {
		m.create(id)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	type result struct {
		sub  *Sub
		view *view
	}
	results := make(chan result, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 1))
			mine := []string{ids[r.IntN(4)], ids[r.IntN(4)]}
			s := m.hub.Subscribe(testApp, mine)
			v := newView()
			for {
				select {
				case <-stop:
					results <- result{s, v}
					return
				case <-s.Wait():
				}
				if r.IntN(4) == 0 {
					time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
				}
				for range r.IntN(20) {
					b, ok := s.Next()
					if !ok {
						break
					}
					if err := v.take(decode(t, b)); err != nil {
						t.Error(err)
						results <- result{s, v}
						return
					}
				}
				s.wakeUp()
			}
		}()
	}
	r := rand.New(rand.NewPCG(99, 1))
	for range 5000 {
		id := ids[r.IntN(4)]
		set := map[string]int64{}
		for range 1 + r.IntN(3) {
			set[fmt.Sprint("k", r.IntN(10))] = r.Int64N(100)
		}
		var del []string
		if r.IntN(5) == 0 {
			del = []string{fmt.Sprint("k", r.IntN(10))}
			delete(set, del[0])
		}
		m.change(id, set, del, r.IntN(50) != 0)
	}
	// A last told change of each group shows any gap left.
	for _, id := range ids {
		m.set(id, "last", 1)
	}
	close(stop)
	wg.Wait()
	close(results)
	for res := range results {
		settle(t, m, res.sub, res.view)
		for id := range res.view.seen {
			seq, want := m.state(id)
			if res.view.seq[id] != seq || !maps.Equal(res.view.counters[id], want) {
				t.Errorf("a subscriber has %s at Seq %d %v; the store %d %v", id, res.view.seq[id], res.view.counters[id], seq, want)
			}
		}
		res.sub.Close()
	}
	if groups, subs := m.hub.Len(); groups != 0 || subs != 0 {
		t.Errorf("after every subscription closed the hub has %d groups and %d subscriptions", groups, subs)
	}
}

// TestConflated: a group's fan-outs keep to its budget of messages. A
// change after a quiet spell goes out at once; changes that come faster
// than the budget allows wait for the group's turn, and go out as one
// message with their net effect, keys deleted named; a burst within the
// budget goes out change by change.
func TestConflated(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  Options
		// then are the changes made once the subscriber has the first,
		// which sets a to 2.
		then func(m *model)
		want []string
	}{{
		name: "faster than the budget",
		opt:  Options{Budget: 10}, // a message per 100ms
		then: func(m *model) {
			m.set("g", "a", 3)
			m.change("g", map[string]int64{"c": 1}, []string{"b"}, true)
			m.set("g", "c", 2)
		},
		want: []string{`{"GroupId":"g","Seq":5,"GroupCounter":[{"Key":"a","Value":3},{"Key":"c","Value":2}],"Deleted":["b"]}`},
	}, {
		name: "more than the queue holds",
		opt:  Options{Budget: 10, Queue: 2},
		then: func(m *model) {
			m.set("g", "c", 1)
			m.set("g", "c", 2)
			m.set("g", "a", 3)
			m.set("g", "a", 2) // back to what the subscriber has
		},
		want: []string{`{"GroupId":"g","Seq":6,"GroupCounter":[{"Key":"c","Value":2}]}`},
	}, {
		name: "a burst within the budget",
		opt:  Options{Budget: 1000}, // a burst of 20 messages
		then: func(m *model) {
			m.set("g", "a", 3)
			m.change("g", nil, []string{"b"}, true)
		},
		want: []string{
			`{"GroupId":"g","Seq":3,"GroupCounter":[{"Key":"a","Value":3}]}`,
			`{"GroupId":"g","Seq":4,"GroupCounter":[],"Deleted":["b"]}`,
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			m := newModel(t, c.opt)
			m.lazy = true
			m.create("g")
			m.change("g", map[string]int64{"a": 1, "b": 1}, nil, true)
			s := m.hub.Subscribe(testApp, []string{"g"})
			defer s.Close()
			settle(t, m, s, newView())
			time.Sleep(150 * time.Millisecond) // a quiet spell
			start := time.Now()
			m.set("g", "a", 2)
			if got, want := string(mustNext(t, s)), `{"GroupId":"g","Seq":2,"GroupCounter":[{"Key":"a","Value":2}]}`; got != want {
				t.Fatalf("the first change after a quiet spell: %s, want %s", got, want)
			}
			if took := time.Since(start); took > 50*time.Millisecond {
				t.Errorf("the first change after a quiet spell took %v, as if it had waited for a turn", took)
			}
			c.then(m)
			var got []string
			for range c.want {
				got = append(got, string(mustNext(t, s)))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			time.Sleep(150 * time.Millisecond)
			if b, ok := s.Next(); ok {
				t.Errorf("a message more: %s", b)
			}
		})
	}
}

// TestConflatedMany: a subscriber that reads all it can of a group
// changed as fast as it can be ends on the store's state, in far fewer
// messages than changes.
func TestConflatedMany(t *testing.T) {
	m := newModel(t, Options{Budget: 1000})
	m.lazy = true
	m.create("g")
	s := m.hub.Subscribe(testApp, []string{"g"})
	defer s.Close()
	v := newView()
	settle(t, m, s, v)
	for i := range 20000 {
		m.set("g", fmt.Sprint("k", i%20), int64(i))
		if i%100 == 0 {
			drain(t, s, v)
		}
	}
	settle(t, m, s, v)
	seq, want := m.state("g")
	if v.seq["g"] != seq || !reflect.DeepEqual(v.counters["g"], want) {
		t.Fatalf("the subscriber has Seq %d %v; the store %d %v", v.seq["g"], v.counters["g"], seq, want)
	}
	if v.msgs >= 20000 {
		t.Errorf("20,000 changes made %d messages", v.msgs)
	}
	t.Logf("20,000 changes made %d messages", v.msgs)
}

// BenchmarkPublish measures what a change costs the feed's goroutine,
// which every writer of the store waits behind, with and without a large
// audience on the group: the fan-out runs elsewhere, so it should be
// about the same.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{0, 1, 1000} {
		b.Run(fmt.Sprint("subscribers=", n), func(b *testing.B) {
			m := newModel(b, Options{})
			m.lazy = true
			m.create("g")
			m.create("other")
			keep := m.hub.Subscribe(testApp, []string{"other"})
			defer keep.Close()
			for range n {
				s := m.hub.Subscribe(testApp, []string{"g"})
				defer s.Close()
			}
			if n == 0 {
				// Watched by nobody, the hub would drop the changes.
				s := m.hub.Subscribe(testApp, []string{"g"})
				defer s.Close()
			}
			settle(b, m, keep, newView())
			var seq uint64
			c := tally.Change{App: testApp, GroupID: "g", Counters: []tally.Counter{{Key: "k"}}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				seq++
				c.Seq, c.Counters[0].Value = seq, int64(i)
				m.hub.Publish(c)
			}
		})
	}
}

// TestSetBudget: a budget changed while the hub runs applies from the
// next fan-out on: the changes wait for the turn the old budget set, then
// go out one by one under the new one.
func TestSetBudget(t *testing.T) {
	m := newModel(t, Options{Budget: 1}) // a turn a second for one subscriber
	m.lazy = true
	m.create("g")
	s := m.hub.Subscribe(testApp, []string{"g"})
	defer s.Close()
	settle(t, m, s, newView())
	m.set("g", "a", 1)
	mustNext(t, s) // the first after a quiet spell goes at once
	m.hub.SetBudget(1_000_000)
	m.set("g", "a", 2)
	m.set("g", "a", 3)
	var got []string
	for range 2 {
		got = append(got, string(mustNext(t, s)))
	}
	want := []string{`{"GroupId":"g","Seq":2,"GroupCounter":[{"Key":"a","Value":2}]}`, `{"GroupId":"g","Seq":3,"GroupCounter":[{"Key":"a","Value":3}]}`}
	if !slices.Equal(got, want) {
		t.Errorf("after SetBudget got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
