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
// dispatcher waits for each write in turn rather than telling writes as
// they end.
package changefeed

import (
	"sync/atomic"

	"github.com/tallyserver/tally"
)

// Outcome is a write on its way to stable storage.
type Outcome interface {
	// Durable waits until the write's outcome is known and reports
	// whether it is durable. A write that failed, or whose outcome cannot
	// be known, is not: a crash could take it back.
	Durable() bool
}

// Size is how many writes the queue holds before Add waits. A write is
// queued before its sync and leaves the queue once its changes are told,
// so the queue holds about the writes in flight, which group commit keeps
// to a few hundred; the rest is slack for a function that is slow for a
// moment.
const Size = 4096

// Feed hands changes to a function, from one goroutine.
type Feed struct {
	fn   atomic.Pointer[func(tally.Change)]
	q    chan entry
	done chan struct{}
}

// entry is one queued write and what it changed, in Seq order.
type entry struct {
	o       Outcome
	changes []tally.Change
}

// New starts a feed that hands changes to fn, with room for size writes.
func New(fn func(tally.Change), size int) *Feed {
	f := &Feed{q: make(chan entry, size), done: make(chan struct{})}
	f.SetFunc(fn)
	go f.run()
	return f
}

// SetFunc replaces the function changes are handed to, from the next
// change on; nil drops them.
func (f *Feed) SetFunc(fn func(tally.Change)) {
	f.fn.Store(&fn)
}

// Add queues a write whose changes are told once o is durable, after the
// writes queued before it. The caller owns nothing of changes afterwards.
//
// When the queue is full, Add waits for room, and its caller, who holds
// what orders its group's writes, holds up the group's other writers with
// it. That is the price of a slow function, and the right one: the
// contract asks the function to return quickly, and the alternatives
// are worse, for dropping a change would break the promise that every
// change is told once, and an unbounded queue would let a stuck function
// take all the memory there is.
func (f *Feed) Add(o Outcome, changes ...tally.Change) {
	f.q <- entry{o, changes}
}

// Close tells what is left of the queue and ends the feed. Its caller
// makes sure that no Add is under way or will come, and that the writes
// queued will end.
func (f *Feed) Close() {
	close(f.q)
	<-f.done
}

// run is the feed's one goroutine: it waits for each queued write in
// turn, and tells its changes if it is durable.
func (f *Feed) run() {
	defer close(f.done)
	for e := range f.q {
		if !e.o.Durable() {
			continue
		}
		fn := *f.fn.Load()
		if fn == nil {
			continue
		}
		for _, c := range e.changes {
			fn(c)
		}
	}
}
