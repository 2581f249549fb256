package stream

import (
	"slices"
	"sync"

	"github.com/tallyserver/tally"
)

// Sub is one subscription: the messages of its groups on their way to one
// stream. Its memory is bounded whatever the stream's reader does: a ring
// of Options.Queue changes, shared with the other subscribers, and per
// group a flag, the keys the reader was told of and, at the end, the
// group's last message.
//
// When the ring is full, a change is not queued; its group is marked as
// owed its whole state instead, and the changes of that group already
// queued are dropped as they come up. Once the reader has taken what is
// queued, Next gives it the group's state as it is then, which holds
// every change it missed: a later state in place of several changes,
// never an older one.
type Sub struct {
	h *Hub

	mu sync.Mutex
	// entries are the groups still watched, in the order subscribed.
	entries []*entry
	// owed counts the entries that are stale or ended, and starting
	// those not told anything yet.
	owed, starting int
	// ring holds n queued changes from head.
	ring    []item
	head, n int
	// err says why the subscription ended; nil while it lasts.
	err error
	// scratch is Next's list of owed entries, kept to be reused.
	scratch []*entry

	// wake receives when there may be something new for Next, or the
	// subscription has ended.
	wake chan struct{}
}

// entry is one group of a subscription.
type entry struct {
	g *group
	// stale says the subscriber is owed the group's whole state, at
	// least as new as read need; fresh, that it has been told nothing of
	// the group yet.
	stale, fresh bool
	need         uint64
	// seq is the group's Seq the subscriber will be at once it has read
	// what is queued for the group.
	seq uint64
	// epoch grows each time the entry goes stale: the changes queued
	// before carry the old one and are dropped.
	epoch uint32
	// final, once set, is the group's last message; the entry leaves the
	// subscription when it is taken.
	final []byte
	// held are the keys the subscriber was told the group holds, sorted,
	// for the Deleted of its next whole state.
	held []string
}

// delta is one fan-out's change of a group, as every subscriber gets it:
// the group at Seq seq.
type delta struct {
	seq uint64
	msg []byte
	set []tally.Counter
	del []string
}

type item struct {
	e     *entry
	epoch uint32
	d     *delta
}

// Wait returns a channel that receives when Next may have a message that
// it did not have, or the subscription has ended.
func (s *Sub) Wait() <-chan struct{} { return s.wake }

// Err returns nil while the subscription lasts, and then why it ended:
// ErrDone once the last message of its last group has been taken,
// ErrClosed when the hub closed, or the error given to End.
func (s *Sub) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Next returns the next message to send, and false when there is none for
// now; Wait tells when there may be one. The first messages are the whole
// states of the groups, in the order subscribed; then come the changes,
// each group's in Seq order. Next is for one goroutine at a time, and the
// message is not to be changed.
func (s *Sub) Next() ([]byte, bool) {
	s.mu.Lock()
	if s.err == nil && s.starting > 0 {
		// The changes of the groups told already wait in the ring (or, if
		// it fills, are conflated) until every group has had its state.
		var first *entry
		for _, e := range s.entries {
			if e.fresh {
				first = e
				break
			}
		}
		s.mu.Unlock()
		return s.settle(first)
	}
	for s.err == nil && s.n > 0 {
		it := s.ring[s.head]
		s.ring[s.head] = item{}
		s.head = (s.head + 1) % len(s.ring)
		s.n--
		e := it.e
		if it.epoch != e.epoch || e.stale || e.final != nil {
			continue
		}
		for _, c := range it.d.set {
			e.held = addKey(e.held, c.Key)
		}
		for _, k := range it.d.del {
			e.held = dropKey(e.held, k)
		}
		s.mu.Unlock()
		return it.d.msg, true
	}
	if s.err != nil || s.owed == 0 {
		s.mu.Unlock()
		return nil, false
	}
	owed := s.scratch[:0]
	for _, e := range s.entries {
		if e.stale || e.final != nil {
			owed = append(owed, e)
		}
	}
	s.scratch = owed
	s.mu.Unlock()
	for _, e := range owed {
		if msg, ok := s.settle(e); ok {
			return msg, true
		}
	}
	return nil, false
}

// settle returns what e is owed, if it can be given now: the group's last
// message, or its whole state once that is known and as new as e needs.
func (s *Sub) settle(e *entry) ([]byte, bool) {
	g := e.g
	g.mu.Lock()
	defer g.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		return nil, false
	case e.final != nil:
		msg := e.final
		e.final = nil
		s.owed--
		s.told(e)
		s.entries = slices.DeleteFunc(s.entries, func(x *entry) bool { return x == e })
		if len(s.entries) == 0 {
			s.err = ErrDone
		}
		return msg, true
	case !e.stale || !g.ready(e.need):
		return nil, false
	}
	head := g.fullHead()
	deleted := gone(e.held, g.counters)
	msg := make([]byte, 0, len(head)+16*len(deleted)+16)
	msg = append(msg, head...)
	msg = appendDeleted(msg, deleted)
	msg = append(msg, '}')
	e.held = keysOf(e.held, g.counters)
	e.stale, e.seq = false, g.seq
	s.owed--
	s.told(e)
	return msg, true
}

// told marks e told something. The caller holds s.mu.
func (s *Sub) told(e *entry) {
	if e.fresh {
		e.fresh = false
		s.starting--
	}
}

// push queues the changes ds of e's group, which follow one another from
// Seq from on. A change e has had already
// is passed over; when e is at another Seq than the change it would take
// next, or the ring is full, the group is marked owed instead. The caller
// holds the group's lock.
func (s *Sub) push(e *entry, ds []*delta, from uint64) {
	s.mu.Lock()
	for _, d := range ds {
		switch {
		case s.err != nil || e.final != nil || e.stale:
			// An entry owed the whole state waits for it, which may be
			// ready now.
		case d.seq <= e.seq:
		case e.seq != from || s.n == len(s.ring):
			s.stale(e)
		default:
			s.ring[(s.head+s.n)%len(s.ring)] = item{e: e, epoch: e.epoch, d: d}
			s.n++
			e.seq = d.seq
		}
		from = d.seq
	}
	s.mu.Unlock()
	s.wakeUp()
}

// owe marks e's group owed its whole state. The caller holds the group's
// lock.
func (s *Sub) owe(e *entry) {
	s.mu.Lock()
	if e.final == nil && !e.stale {
		s.stale(e)
	}
	s.mu.Unlock()
	s.wakeUp()
}

// stale marks e owed its whole state; the changes of it queued are
// dropped. The caller holds s.mu.
func (s *Sub) stale(e *entry) {
	e.stale = true
	e.epoch++
	s.owed++
}

// end gives e its group's last message. The caller holds the group's
// lock.
func (s *Sub) end(e *entry, msg []byte) {
	s.mu.Lock()
	if e.final == nil {
		if !e.stale {
			s.owed++
		}
		e.stale, e.final = false, msg
	}
	s.mu.Unlock()
	s.wakeUp()
}

func (s *Sub) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// End ends the subscription with err, unless it has ended already: Next
// has nothing more, and Err returns err. The stream that holds it still
// calls Close.
func (s *Sub) End(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
		clear(s.ring)
		s.n = 0
	}
	s.mu.Unlock()
	s.wakeUp()
}

// Close ends the subscription, if it has not ended, and leaves its
// groups; the hub forgets a group that nobody watches any more.
func (s *Sub) Close() {
	s.End(ErrClosed)
	s.mu.Lock()
	entries := s.entries
	s.entries = nil
	s.mu.Unlock()
	for _, e := range entries {
		g := e.g
		g.mu.Lock()
		delete(g.subs, s)
		last := !g.gone && len(g.subs) == 0
		if last {
			g.gone = true
		}
		g.mu.Unlock()
		if last {
			s.h.forget(g)
		}
	}
	s.h.mu.Lock()
	delete(s.h.subs, s)
	s.h.mu.Unlock()
}
