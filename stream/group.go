package stream

import (
	"errors"
	"sync"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// groupKey names a group across apps.
type groupKey struct {
	app uint32
	id  string
}

// group is the hub's view of one watched group: its latest state, as far
// as the changes told and the reads made show it, and its subscribers.
// The hub keeps a group only while someone watches it.
//
// The state is known once a read has come back that, with the changes
// told since, makes a whole state. Until then (at the start, and after a
// gap in the changes), the changes told are kept conflated in pending: a
// change holds absolute values, so applying the last value of each key
// set and removing each key deleted, over any state whose Seq lies
// between the first pending change's and the last's, gives the state
// after the last. That lets a read overtake any number of changes.
type group struct {
	key groupKey

	mu sync.Mutex
	// subs are the subscribers, each with its entry for the group.
	subs map[*Sub]*entry
	// gone says the group has left the hub: destroyed, or no longer
	// watched. A read that comes back after is dropped.
	gone bool

	// known says seq and counters are a whole state; otherwise seq is
	// the last pending change's (0 when none is pending).
	known    bool
	seq      uint64
	counters []tally.Counter // sorted; replaced, never changed in place
	// full caches the head of the full state's message, up to and with
	// its GroupCounter, while the state stays as it is.
	full []byte

	// fanned and fannedSeq are the state as of the last fan-out, which
	// the subscribers that are not owed a whole state are at, or will be
	// once they have read what is queued. The changes since wait in log
	// for the next fan-out, up to the hub's Queue of them; past that,
	// overflow is set, and they go out as one. dirty says the group
	// waits for its fan-out, in the hub's list, and turn when its next
	// may run; tat keeps its budget (fanOut says how).
	fanned    []tally.Counter
	fannedSeq uint64
	log       []*delta
	overflow  bool
	dirty     bool
	turn, tat time.Time

	// pendFrom is the Seq of the first pending change, 0 when none is;
	// pendSet and pendDel are the pending changes conflated.
	pendFrom uint64
	pendSet  []tally.Counter
	pendDel  []string

	// started counts the reads begun, and done is the number of the last
	// one that came back; reading says one is under way, and again that
	// another must follow it, for it began too early for someone.
	started, done  uint64
	reading, again bool
	// backoff is the wait before the read after a failed one.
	backoff time.Duration

	// ahead and aheadCounters are the state of the last read that came
	// back newer than the known state: the store holds changes the feed
	// has not told yet. Whoever waits for that read waits, too, for the
	// feed to catch up with it; catching says a timer will take the
	// read's state if the feed has not by then.
	ahead         uint64
	aheadCounters []tally.Counter
	catching      bool
}

// Bounds of the wait before a failed read is tried again: a store that
// cannot answer (a database out of reach) is asked again and again while
// someone watches, but not in a tight loop.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// apply takes one change of the group's counters, told by the feed, and
// passes it on. The caller holds g.mu.
func (g *group) apply(h *Hub, c *tally.Change) {
	if !g.known {
		g.hold(h, c)
		return
	}
	switch {
	case c.Seq <= g.seq:
		// Told before, or overtaken by a read: nothing new.
		return
	case c.Seq > g.seq+1:
		// Some change was not told (made through another node, or a
		// write whose outcome could not be known): only a read can say
		// what the state is now.
		g.known, g.full, g.seq = false, nil, 0
		g.fanned, g.fannedSeq = nil, 0
		g.log, g.overflow = nil, false
		g.hold(h, c)
		for s, e := range g.subs {
			s.owe(e)
		}
		return
	}
	g.counters = applied(g.counters, c.Counters, c.Deleted)
	g.seq, g.full = c.Seq, nil
	if g.seq >= g.ahead {
		g.aheadCounters = nil
	}
	// The subscribers hear of it in the hub's next fan-out: the feed's
	// goroutine, which calls this, does no work per subscriber, for on a
	// group with a large audience that would hold up the feed and with
	// it every writer.
	switch {
	case g.overflow:
	case len(g.log) == h.queue:
		g.log, g.overflow = nil, true
	default:
		set := append([]tally.Counter(nil), c.Counters...)
		del := append([]string(nil), c.Deleted...)
		g.log = append(g.log, &delta{seq: c.Seq, msg: changeMessage(g.key.id, c.Seq, set, del), set: set, del: del})
	}
	if !g.dirty {
		g.dirty = true
		h.due(g)
	}
}

// knownAs sets the group's state to a whole one that every subscriber is
// owed, so that the next fan-out tells the changes after it. The caller
// holds g.mu.
func (g *group) knownAs(seq uint64, counters []tally.Counter) {
	g.counters, g.seq, g.known, g.full = counters, seq, true, nil
	g.fanned, g.fannedSeq = counters, seq
	g.log, g.overflow = nil, false
}

// fanOut tells the subscribers the changes since the last fan-out: each
// on its own while the group's budget allows it, or else as one, the
// keys whose values differ and the keys gone. A subscriber at another
// state than the changes start from (it was given the whole state since)
// is given the changes after its state, or the whole state again where
// one message stands for them. The caller holds g.mu.
//
// The budget is kept as a theoretical arrival time, tat, as the generic
// cell rate algorithm keeps it: each message the group would send puts
// tat off by the share of a second that the budget gives one, and the
// group may run ahead of time by budgetBurst. Changes go out one by one
// while that keeps within the burst, and the group's next turn comes
// once tat is back within it; so a group sends at most its budget over
// time, and a burst of changes on a group with few subscribers still
// goes out change by change.
func (g *group) fanOut(h *Hub, now time.Time) {
	g.dirty = false
	n := time.Duration(len(g.subs))
	if g.tat.Before(now) {
		g.tat = now
	}
	ds := g.log
	perMsg := time.Duration(h.perMsg.Load())
	if one := n * time.Duration(len(ds)) * perMsg; g.overflow || g.tat.Add(one).After(now.Add(budgetBurst)) {
		if len(ds) != 1 {
			set, del := changefeed.Diff(g.fanned, g.counters)
			ds = []*delta{{seq: g.seq, msg: changeMessage(g.key.id, g.seq, set, del), set: set, del: del}}
		}
	}
	from := g.fannedSeq
	g.fanned, g.fannedSeq = g.counters, g.seq
	g.log, g.overflow = nil, false
	if g.gone || !g.known || len(ds) == 0 || g.seq <= from {
		return
	}
	g.tat = g.tat.Add(n * time.Duration(len(ds)) * perMsg)
	g.turn = g.tat.Add(-budgetBurst)
	for s, e := range g.subs {
		s.push(e, ds, from)
	}
}

// budgetBurst is how far ahead of its budget of messages a group may run:
// 20ms worth of it, 1,000 messages at the default budget.
const budgetBurst = 20 * time.Millisecond

// hold keeps a change while the state is not known, and sees that a read
// is coming. The caller holds g.mu.
func (g *group) hold(h *Hub, c *tally.Change) {
	switch {
	case g.pendFrom != 0 && c.Seq <= g.seq:
		return
	case g.pendFrom == 0 || c.Seq > g.seq+1:
		// Start again from this change: a read will have to reach back
		// to it.
		g.pendFrom, g.pendSet, g.pendDel = c.Seq, nil, nil
	}
	for _, ct := range c.Counters {
		g.pendDel = dropKey(g.pendDel, ct.Key)
		g.pendSet = setCounter(g.pendSet, ct)
	}
	for _, k := range c.Deleted {
		g.pendSet = dropCounter(g.pendSet, k)
		g.pendDel = addKey(g.pendDel, k)
	}
	g.seq = c.Seq
	if !g.reading {
		// A read under way is enough: when it comes back too old for the
		// changes kept, readDone reads again.
		g.startRead(h)
	}
}

// startRead begins a read of the group unless one is under way, in which
// case another follows it. It returns the number of a read that begins
// now or later, whose result will include every change durable now. The
// caller holds g.mu.
func (g *group) startRead(h *Hub) uint64 {
	if g.reading {
		g.again = true
		return g.started + 1
	}
	g.reading = true
	g.started++
	n := g.started
	h.reads.Add(1)
	go h.read(g, n, 0)
	return n
}

// readDone takes the result of read n. The caller holds g.mu.
func (g *group) readDone(h *Hub, n, seq uint64, counters []tally.Counter, err error) {
	g.reading = false
	if g.gone {
		return
	}
	if err != nil {
		if _, ok := errors.AsType[*tally.Error](err); ok {
			// The group is missing or is a Community: it was destroyed,
			// perhaps re-created, since the subscriber was let in, and
			// its last change is on its way or was never told.
			g.finish(g.seq)
			return
		}
		// The store cannot answer now. Try again later, with this read's
		// waiters still waiting; the again flag keeps its value.
		g.backoff = min(max(2*g.backoff, minBackoff), maxBackoff)
		g.reading = true
		h.reads.Add(1)
		go h.read(g, n, g.backoff)
		return
	}
	g.backoff = 0
	g.done = n
	switch {
	case g.known && seq > g.seq:
		// The store is ahead of the changes told. Most often the feed
		// is a moment behind, telling a change once its sync has ended,
		// and the change is on its way: the subscriber that waits for
		// this read waits for it, and the others go on with the changes
		// one by one. If it does not come (it was made through another
		// node, or never turned out durable), the read's state is taken.
		if seq > g.ahead {
			g.ahead, g.aheadCounters = seq, counters
		}
		if !g.catching {
			g.catching = true
			time.AfterFunc(h.catchUp, func() { h.caughtUp(g) })
		}
	case g.known:
		// The hub's state is as new as the read's, or newer.
	case g.pendFrom == 0 || seq >= g.seq:
		g.knownAs(seq, counters)
	case seq+1 >= g.pendFrom:
		g.knownAs(g.seq, applied(counters, g.pendSet, g.pendDel))
	default:
		// The read is older than the first change kept: read again.
		g.again = true
	}
	if g.known {
		g.pendFrom, g.pendSet, g.pendDel = 0, nil, nil
	}
	if g.again {
		g.again = false
		g.startRead(h)
	}
	for s := range g.subs {
		s.wakeUp()
	}
}

// caughtUp is when the feed should have told what the store showed ahead
// of it: whatever it has not told, the read's state stands for.
func (h *Hub) caughtUp(g *group) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.catching = false
	if g.gone || !g.known || g.seq >= g.ahead || g.aheadCounters == nil {
		return
	}
	g.knownAs(g.ahead, g.aheadCounters)
	g.aheadCounters = nil
	for s, e := range g.subs {
		s.owe(e)
	}
}

// ready reports whether the group's state can be given to an entry that
// waits for read need: that read has come back, and the state is known
// and as new as the store's then. The caller holds g.mu.
func (g *group) ready(need uint64) bool {
	return g.known && g.done >= need && g.seq >= g.ahead
}

// finish ends the group for every subscriber: each is owed a last message
// saying it is destroyed, at Seq seq. The caller holds g.mu, and makes the
// hub forget the group once it has let go of g.mu.
func (g *group) finish(seq uint64) {
	g.gone = true
	msg := destroyedMessage(g.key.id, seq)
	for s, e := range g.subs {
		s.end(e, msg)
	}
}

// fullHead returns the head of the message of the group's whole state,
// which every subscriber owed it shares. The caller holds g.mu, and the
// state is known.
func (g *group) fullHead() []byte {
	if g.full == nil {
		b := appendHead(make([]byte, 0, 64+len(g.key.id)+32*len(g.counters)), g.key.id, g.seq)
		g.full = appendCounters(b, g.counters)
	}
	return g.full
}

// read waits for wait, then reads the group's state for read n, at most
// Hub.ReadConcurrency at a time, and hands the result to the group.
func (h *Hub) read(g *group, n uint64, wait time.Duration) {
	defer h.reads.Done()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			return
		}
	}
	select {
	case h.readSlots <- struct{}{}:
	case <-h.ctx.Done():
		return
	}
	g.mu.Lock()
	gone := g.gone
	g.mu.Unlock()
	if gone || h.ctx.Err() != nil {
		<-h.readSlots
		return
	}
	seq, counters, err := h.reader(h.ctx, g.key.app, g.key.id)
	<-h.readSlots
	if h.ctx.Err() != nil {
		// The hub is closed: nobody waits for this read, and the store
		// may be closing under it.
		return
	}
	g.mu.Lock()
	g.readDone(h, n, seq, counters, err)
	gone = g.gone
	g.mu.Unlock()
	if gone {
		h.forget(g)
	}
}
