package changefeed

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// write is an Outcome that a test ends when it likes.
type write struct {
	done chan struct{}
	ok   bool
}

func newWrite() *write { return &write{done: make(chan struct{})} }

func (w *write) end(ok bool) { w.ok = ok; close(w.done) }

func (w *write) Durable() bool { <-w.done; return w.ok }

// recorder keeps what a feed told, and checks that it is told from one
// goroutine at a time.
type recorder struct {
	mu     sync.Mutex
	busy   bool
	seqs   []uint64
	told   chan struct{}
	failed string
}

func newRecorder() *recorder { return &recorder{told: make(chan struct{}, 100)} }

func (r *recorder) fn(c tally.Change) {
	r.mu.Lock()
	if r.busy {
		r.failed = "told from two goroutines at once"
	}
	r.busy = true
	r.mu.Unlock()
	time.Sleep(time.Microsecond)
	r.mu.Lock()
	r.busy = false
	r.seqs = append(r.seqs, c.Seq)
	r.mu.Unlock()
	r.told <- struct{}{}
}

func (r *recorder) got() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.seqs...)
}

func change(seq uint64) tally.Change { return tally.Change{App: 1, GroupID: "g", Seq: seq} }

// TestFeedOrder ends queued writes out of order, one of them failed: the
// feed tells the durable ones in the order they were queued, the failed
// one's never, and nothing of a write before it ends.
func TestFeedOrder(t *testing.T) {
	r := newRecorder()
	f := New(r.fn, Size)
	ws := []*write{newWrite(), newWrite(), newWrite(), newWrite()}
	f.Add(ws[0], change(1), change(2))
	f.Add(ws[1], change(3))
	f.Add(ws[2], change(4))
	f.Add(ws[3], change(5))

	ws[3].end(true)
	ws[1].end(false)
	select {
	case <-r.told:
		t.Fatalf("told %v before the first write ended", r.got())
	case <-time.After(20 * time.Millisecond):
	}
	ws[2].end(true)
	ws[0].end(true)
	f.Close()
	if got, want := r.got(), []uint64{1, 2, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("told %v, want %v", got, want)
	}
	if r.failed != "" {
		t.Fatal(r.failed)
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
	durable := &write{done: make(chan struct{}), ok: true}
	close(durable.done)
	// The dispatcher takes the first and waits in the function; two more
	// fill the queue.
	for seq := uint64(1); seq <= 3; seq++ {
		f.Add(durable, change(seq))
	}
	added := make(chan struct{})
	go func() {
		f.Add(durable, change(4))
		close(added)
	}()
	select {
	case <-added:
		t.Fatal("Add returned while the queue was full")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-added
	f.Close()
	if want := []uint64{1, 2, 3, 4}; !reflect.DeepEqual(told, want) {
		t.Fatalf("told %v, want %v", told, want)
	}
}

// TestFeedSetFunc replaces the function, and drops changes while it is
// nil.
func TestFeedSetFunc(t *testing.T) {
	first, second := newRecorder(), newRecorder()
	f := New(first.fn, Size)
	w := func(seq uint64) {
		d := newWrite()
		f.Add(d, change(seq))
		d.end(true)
	}
	w(1)
	<-first.told
	f.SetFunc(second.fn)
	w(2)
	<-second.told
	f.SetFunc(nil)
	w(3)
	f.Close()
	if got := first.got(); !reflect.DeepEqual(got, []uint64{1}) {
		t.Fatalf("the first function was told %v, want [1]", got)
	}
	if got := second.got(); !reflect.DeepEqual(got, []uint64{2}) {
		t.Fatalf("the second function was told %v, want [2]", got)
	}
}
