// Package changefeed is what the stores share to meet tally.ChangeFeed:
// a bounded queue of writes on their way to stable storage, each with the
// changes it makes, and one goroutine that hands each write's changes to
// the feed's function once the write has turned out durable, in the order
// the writes were queued.
//
// A store queues a write while it still holds what orders the writes of
// its group (the Pebble store's group latch, PostgreSQL's row lock), so
// that a group's writes are queued in Seq order; the queue keeps that
// order whatever order their syncs or commits end in, which is why the
// dispatcher tells the writes at the head of the queue only, each once it
// has ended, rather than writes as they end.
//
// What is done while the writer holds its group is kept to an append
// under a mutex: the store queues a change as the counters before and
// after it, and the dispatcher works out what it set and removed. Nor
// does queueing wake the dispatcher, which has nothing to tell until a
// write ends: the writer tells the feed so once it knows its outcome, by
// then outside its group. On a busy group, whose writers queue behind one
// another, this keeps the feed's cost off the path they share.
package changefeed

import (
	"sync"
	"sync/atomic"

	"github.com/tallyserver/tally"
)

// Outcome is a write on its way to stable storage.
type Outcome interface {
	// Ended reports, without waiting, whether the write's outcome is
	// known and, if it is, whether the write is durable. A write that
	// failed, or whose outcome cannot be known, is not: a crash could
	// take it back.
	Ended() (ended, durable bool)
}

// Change is one change of a group's counters as a store queues it: the
// group's counters before and after it, sorted by key, which the
// dispatcher turns into a tally.Change. Neither may change afterwards.
type Change struct {
	App       uint32
	GroupID   string
	Seq       uint64
	Cur, Next []tally.Counter
	// Destroyed says the group is gone, with Seq its last; Cur and Next
	// are not looked at.
	Destroyed bool
}

// told returns the tally.Change that c is.
func (c *Change) told() tally.Change {
	t := tally.Change{App: c.App, GroupID: c.GroupID, Seq: c.Seq, Destroyed: c.Destroyed}
	if !c.Destroyed {
		t.Counters, t.Deleted = Diff(c.Cur, c.Next)
	}
	return t
}

// Size is how many writes the queue holds before Add waits. A write is
// queued before its sync and leaves the queue once its changes are told,
// so the queue holds about the writes in flight, which group commit keeps
// to a few hundred; the rest is slack for a function that is slow for a
// moment.
const Size = 1024

// Feed hands changes to a function, from one goroutine.
type Feed struct {
	fn atomic.Pointer[func(tally.Change)]

	// mu guards the queue, a ring of writes from head on, and closed.
	// room is signalled when a write leaves a full queue.
	mu      sync.Mutex
	room    sync.Cond
	waiting int // Adds waiting for room.
	ring    []entry
	head, n int
	closed  bool

	// kick wakes the dispatcher: a write ended, or the feed closed. It
	// holds one token, and a writer that finds it full has nothing to
	// add, for the dispatcher will look at the whole queue.
	kick chan struct{}
	done chan struct{}
}

// entry is one queued write and what it changed, in Seq order: one
// change, or, when more is set, those.
type entry struct {
	o    Outcome
	one  Change
	more []Change
}

// New starts a feed that hands changes to fn, with room for size writes.
func New(fn func(tally.Change), size int) *Feed {
	f := &Feed{ring: make([]entry, size), kick: make(chan struct{}, 1), done: make(chan struct{})}
	f.room.L = &f.mu
	f.SetFunc(fn)
	go f.run()
	return f
}

// SetFunc replaces the function changes are handed to, from the next
// change on; nil drops them.
func (f *Feed) SetFunc(fn func(tally.Change)) {
	f.fn.Store(&fn)
}

// Add queues a write that makes one change. Its writer must call Ended
// once the write's outcome is known.
//
// When the queue is full, Add waits for room, and its caller, who holds
// what orders its group's writes, holds up the group's other writers with
// it. That is the price of a slow function, and the right one: the
// contract asks the function to return quickly, and the alternatives
// are worse, for dropping a change would break the promise that every
// change is told once, and an unbounded queue would let a stuck function
// take all the memory there is.
func (f *Feed) Add(o Outcome, c Change) {
	f.add(entry{o: o, one: c})
}

// AddAll is Add for a write that makes several changes, in Seq order.
// The feed owns cs afterwards.
func (f *Feed) AddAll(o Outcome, cs []Change) {
	f.add(entry{o: o, more: cs})
}

func (f *Feed) add(e entry) {
	f.mu.Lock()
	for f.n == len(f.ring) {
		f.waiting++
		f.room.Wait()
		f.waiting--
	}
	f.ring[(f.head+f.n)%len(f.ring)] = e
	f.n++
	f.mu.Unlock()
}

// Ended tells the feed that a write it holds may have ended; the writer
// calls it once it knows its write's outcome, which Outcome.Ended must
// then report. It does not wait.
func (f *Feed) Ended() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Close tells what is left of the queue and ends the feed. Its caller
// makes sure that no Add is under way or will come, and that the writes
// queued will end.
func (f *Feed) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.Ended()
	<-f.done
}

// run is the feed's one goroutine: each time a write may have ended, it
// takes the writes at the head of the queue that have, and tells the
// changes of the durable ones.
func (f *Feed) run() {
	defer close(f.done)
	for range f.kick {
		for {
			e, durable, ok, finished := f.pop()
			if finished {
				return
			}
			if !ok {
				break
			}
			if !durable {
				continue
			}
			fn := *f.fn.Load()
			if fn == nil {
				continue
			}
			if e.more == nil {
				fn(e.one.told())
			}
			for i := range e.more {
				fn(e.more[i].told())
			}
		}
	}
}

// pop takes the write at the head of the queue if it has ended, with
// whether it is durable; finished says the queue is empty and closed.
func (f *Feed) pop() (e entry, durable, ok, finished bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		return entry{}, false, false, f.closed
	}
	e = f.ring[f.head]
	ended, durable := e.o.Ended()
	if !ended {
		return entry{}, false, false, false
	}
	f.ring[f.head] = entry{} // Nothing of it is kept from the collector.
	f.head = (f.head + 1) % len(f.ring)
	f.n--
	if f.waiting > 0 {
		f.room.Signal()
	}
	return e, durable, true, false
}
