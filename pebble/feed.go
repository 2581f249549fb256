package pebble

import (
	"context"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// The feed of changes (tally.ChangeFeed). A group's Seq is kept in its
// counters record (encoding.go), written in the batch that changes them,
// and the latch's hot counters carry it too.
//
// A change is made under its group's latch and becomes durable at the
// fsync that covers its batch, and the writers waiting for one fsync wake
// in any order. So the write queues its batch's commit, with the change,
// on the store's one feed (package changefeed) right after applying it,
// still under the latch: a group's changes are queued in Seq order. Once
// its sync has ended, outside the latch, the writer tells the feed, whose
// goroutine takes the commits at the head of the queue that have ended
// and tells the change of each that is durable. A failed sync faults the
// store, and every commit of that incarnation whose sync ends after the
// fault fails too, so nothing more of it is told; changes made after a
// reopening are told again, the feed being the store's, not the
// incarnation's. A write answered with an error may yet have survived,
// and then the group's next change is told with a Seq one past a change
// never told: a gap, which tells a subscriber to read CounterState, as
// one made through another node would.
//
// Without a function set the feed is off: nothing is worked out or
// queued, and the hot path pays one atomic load. With one, a write adds
// an entry to the queue under a mutex while it holds its latch, and the
// feed's goroutine works out what the change set and removed from the
// counters before and after it. The queue is bounded, and a write waits
// for room, holding its latch (changefeed.Feed.Add says why that is
// right).

// OnChange implements tally.ChangeFeed. fn is called from one goroutine,
// and must return quickly and must not call the store: a writer waiting
// for room in the feed holds its group's latch, which such a call could
// need. A later call replaces fn; after Close it does nothing.
func (s *Store) OnChange(fn func(tally.Change)) {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	if f := s.feed.Load(); f != nil {
		f.SetFunc(fn)
		return
	}
	s.feed.Store(changefeed.New(fn, changefeed.Size))
}

// CounterState implements tally.ChangeFeed.
func (s *Store) CounterState(ctx context.Context, app uint32, id string) (uint64, []tally.Counter, error) {
	return s.counterState(app, id)
}
