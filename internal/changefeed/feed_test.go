package changefeed

import (
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// write is an Outcome that a test ends when it likes.
type write struct {
	f     *Feed
	state atomic.Int32 // 0 while in flight, 1 durable, 2 failed.
}

func (w *write) Ended() (ended, durable bool) {
	s := w.state.Load()
	return s != 0, s == 1
}

func (w *write) end(durable bool) {
	if durable {
		w.state.Store(1)
	} else {
		w.state.Store(2)
	}
	w.f.Ended()
}

// add queues a write with one increase of counter n to seq.
func add(f *Feed, seq uint64) *write {
	w := &write{f: f}
	f.Add(w, increase(seq))
	return w
}

func increase(seq uint64) Change {
	return Change{App: 1, GroupID: "g", Seq: seq,
		Cur: []tally.Counter{{Key: "n", Value: int64(seq) - 1}}, Next: []tally.Counter{{Key: "n", Value: int64(seq)}}}
}

// recorder keeps what a feed told, and checks that it is told from one
// goroutine at a time.
type recorder struct {
	mu     sync.Mutex
	busy   bool
	told   []tally.Change
	each   chan struct{}
	breach string
}

func newRecorder() *recorder { return &recorder{each: make(chan struct{}, 100)} }

func (r *recorder) fn(c tally.Change) {
	r.mu.Lock()
	if r.busy {
		r.breach = "told from two goroutines at once"
	}
	r.busy = true
	r.mu.Unlock()
	time.Sleep(time.Microsecond)
	r.mu.Lock()
	r.busy = false
	r.told = append(r.told, c)
	r.mu.Unlock()
	r.each <- struct{}{}
}

func (r *recorder) seqs(t *testing.T) []uint64 {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.breach != "" {
		t.Fatal(r.breach)
	}
	var out []uint64
	for _, c := range r.told {
		out = append(out, c.Seq)
	}
	return out
}

// TestFeedOrder ends queued writes out of order, one of them failed: the
// feed tells the durable ones in the order they were queued, the failed
// one's never, and nothing of a write before it ends.
func TestFeedOrder(t *testing.T) {
	r := newRecorder()
	f := New(r.fn, Size)
	first := &write{f: f}
	f.AddAll(first, []Change{increase(1), increase(2)})
	ws := []*write{first, add(f, 3), add(f, 4), add(f, 5)}

	ws[3].end(true)
	ws[1].end(false)
	select {
	case <-r.each:
		t.Fatalf("told %v before the first write ended", r.seqs(t))
	case <-time.After(20 * time.Millisecond):
	}
	ws[2].end(true)
	ws[0].end(true)
	f.Close()
	if got, want := r.seqs(t), []uint64{1, 2, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("told %v, want %v", got, want)
	}
	want := tally.Change{App: 1, GroupID: "g", Seq: 5, Counters: []tally.Counter{{Key: "n", Value: 5}}}
	if got := r.told[3]; !reflect.DeepEqual(got, want) {
		t.Fatalf("told %+v, want %+v", got, want)
	}
}

// TestFeedTellsDestroyed tells a destroyed group as it was queued, with no
// counters whatever the change held.
func TestFeedTellsDestroyed(t *testing.T) {
	r := newRecorder()
	f := New(r.fn, Size)
	w := &write{f: f}
	f.Add(w, Change{App: 1, GroupID: "g", Seq: 7, Cur: []tally.Counter{{Key: "n", Value: 1}}, Destroyed: true})
	w.end(true)
	f.Close()
	want := []tally.Change{{App: 1, GroupID: "g", Seq: 7, Destroyed: true}}
	if !reflect.DeepEqual(r.told, want) {
		t.Fatalf("told %+v, want %+v", r.told, want)
	}
}

// TestFeedBackpressure fills the queue behind a function that does not
// return: Add waits rather than drop a change, and goes on once the
// function does.
func TestFeedBackpressure(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var told []uint64
	f := New(func(c tally.Change) {
		<-release
		mu.Lock()
		told = append(told, c.Seq)
		mu.Unlock()
	}, 2)
	// The dispatcher takes the first and waits in the function; two more
	// fill the queue.
	for seq := uint64(1); seq <= 3; seq++ {
		add(f, seq).end(true)
	}
	added := make(chan *write)
	go func() { added <- add(f, 4) }()
	select {
	case <-added:
		t.Fatal("Add returned while the queue was full")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	(<-added).end(true)
	f.Close()
	if want := []uint64{1, 2, 3, 4}; !reflect.DeepEqual(told, want) {
		t.Fatalf("told %v, want %v", told, want)
	}
}

// TestFeedCloseWaits closes a feed with a write still in flight: Close
// waits for it, and tells it.
func TestFeedCloseWaits(t *testing.T) {
	r := newRecorder()
	f := New(r.fn, Size)
	w := add(f, 1)
	closed := make(chan struct{})
	go func() {
		f.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned before the write in flight ended")
	case <-time.After(20 * time.Millisecond):
	}
	w.end(true)
	<-closed
	if got := r.seqs(t); !reflect.DeepEqual(got, []uint64{1}) {
		t.Fatalf("told %v, want [1]", got)
	}
}

// TestFeedSetFunc replaces the function, and drops changes while it is
// nil.
func TestFeedSetFunc(t *testing.T) {
	first, second := newRecorder(), newRecorder()
	f := New(first.fn, Size)
	add(f, 1).end(true)
	<-first.each
	f.SetFunc(second.fn)
	add(f, 2).end(true)
	<-second.each
	f.SetFunc(nil)
	add(f, 3).end(true)
	f.Close()
	if got := first.seqs(t); !reflect.DeepEqual(got, []uint64{1}) {
		t.Fatalf("the first function was told %v, want [1]", got)
	}
	if got := second.seqs(t); !reflect.DeepEqual(got, []uint64{2}) {
		t.Fatalf("the second function was told %v, want [2]", got)
	}
}

// TestFeedManyWriters queues writes from many goroutines that end them in
// any order: every durable one is told once, in the order queued.
func TestFeedManyWriters(t *testing.T) {
	var mu sync.Mutex // Orders the writers' Adds, as a group's latch does.
	var next uint64
	var told []uint64
	f := New(func(c tally.Change) { told = append(told, c.Seq) }, 8)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 200 {
				mu.Lock()
				next++
				seq := next
				w := add(f, seq)
				mu.Unlock()
				time.Sleep(time.Duration(seq%3) * time.Microsecond)
				w.end(true)
			}
		})
	}
	wg.Wait()
	f.Close()
	if len(told) != 16*200 {
		t.Fatalf("told %d changes, want %d", len(told), 16*200)
	}
	for i, seq := range told {
		if seq != uint64(i+1) {
			t.Fatalf("change %d told is #%d", i+1, seq)
		}
	}
}
