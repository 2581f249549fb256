// Package stream is the hub of the live counter stream: it takes the
// changes of groups' counters from a store's feed and from the bus
// between nodes (package nats), keeps the latest state of each group
// someone watches, and fans each change out to the group's subscribers.
//
// A subscriber first gets the whole state of each of its groups, then one
// message per change, in Seq order. A subscriber that falls behind gets a
// later state in place of the changes it missed, never an older one, and
// costs the others nothing: its queue is bounded, and no change ever
// waits for it. Everything a subscriber is told is durable: the changes
// come from the feed once durable, and the states from the store.
//
// The transport (Server-Sent Events, WebSocket), the heartbeats and the
// cutting off of a reader that stops reading are the HTTP layer's; a
// subscription only ever holds what it is owed, within fixed bounds.
package stream

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallyserver/tally"
)

// Reader reads a group's counters, sorted by key, and its Seq, as of one
// durable state, with the errors of tally.Store.Counters: it is
// tally.ChangeFeed's CounterState.
type Reader func(ctx context.Context, app uint32, id string) (seq uint64, counters []tally.Counter, err error)

// Why a subscription ended.
var (
	// ErrDone: every group of the subscription was destroyed, and the
	// last message of each taken.
	ErrDone = errors.New("every group of the stream was destroyed")
	// ErrClosed: the hub closed, or the subscription was closed.
	ErrClosed = errors.New("the stream hub is closed")
)

// Options tune a hub; a zero field takes its default.
type Options struct {
	// Queue is how many changes one subscriber may have waiting before
	// it is behind and gets whole states instead. Default 64.
	Queue int
	// Reads bounds the reads of the store under way at once, so that a
	// resync of many groups does not flood the store. Default 8.
	Reads int
	// CatchUp is how long a read that shows the store ahead of the
	// changes told waits for the feed to tell them, before its state is
	// taken in their place. Default 1s: the feed tells a change once its
	// sync has ended, a few milliseconds at most after a read sees it.
	CatchUp time.Duration
	// Budget is how many messages a second the fan-outs of one group
	// may send, summed over its subscribers: a group watched by n is
	// fanned out at most Budget/n times a second, and each change told
	// on its own costs n messages. While a group keeps within it, its
	// subscribers get each change on its own and at once; past it, the
	// changes made meanwhile wait for the group's turn and go out as
	// one message. That bounds the work of a hot group with a large
	// audience, whose every change would otherwise cost a message to
	// each subscriber. Default 50,000: a group watched by 1,000 is told
	// 50 times a second, more often than a screen shows a person, and a
	// group watched by a few is told each change of any rate a group is
	// written at.
	Budget int
}

// Defaults of Options.
const (
	DefaultQueue   = 64
	DefaultReads   = 8
	DefaultCatchUp = time.Second
	DefaultBudget  = 50_000
)

// Hub fans changes out to subscriptions. Its methods are safe for
// concurrent use.
type Hub struct {
	reader  Reader
	queue   int
	catchUp time.Duration
	// perMsg is the share of a second of one message of the Budget, in
	// nanoseconds; SetBudget changes it while the hub runs.
	perMsg    atomic.Int64
	ctx       context.Context // done when the hub closes
	cancel    context.CancelFunc
	reads     sync.WaitGroup
	readSlots chan struct{}

	// mu guards the maps and closed. It is taken before any group's
	// lock, which is taken before any subscription's.
	mu     sync.Mutex
	groups map[groupKey]*group
	subs   map[*Sub]struct{}
	closed bool

	// dueMu guards dueList, the groups with changes their subscribers
	// have not been told; it is taken under a group's lock, and nothing
	// is taken under it. kick wakes the fan-out's goroutine, and fanned
	// is closed when it has ended.
	dueMu   sync.Mutex
	dueList []*group
	kick    chan struct{}
	fanned  chan struct{}
}

// New returns a hub that reads groups' states with read.
func New(read Reader, opt Options) *Hub {
	if opt.Queue <= 0 {
		opt.Queue = DefaultQueue
	}
	if opt.Reads <= 0 {
		opt.Reads = DefaultReads
	}
	if opt.CatchUp <= 0 {
		opt.CatchUp = DefaultCatchUp
	}
	if opt.Budget <= 0 {
		opt.Budget = DefaultBudget
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		reader:    read,
		queue:     opt.Queue,
		catchUp:   opt.CatchUp,
		kick:      make(chan struct{}, 1),
		fanned:    make(chan struct{}),
		ctx:       ctx,
		cancel:    cancel,
		readSlots: make(chan struct{}, opt.Reads),
		groups:    make(map[groupKey]*group),
		subs:      make(map[*Sub]struct{}),
	}
	h.SetBudget(opt.Budget)
	go h.fanOutLoop()
	return h
}

// SetBudget changes Options.Budget, from each group's next fan-out on; a
// budget of 0 or less is the default.
func (h *Hub) SetBudget(messagesPerSecond int) {
	if messagesPerSecond <= 0 {
		messagesPerSecond = DefaultBudget
	}
	h.perMsg.Store(int64(time.Second) / int64(messagesPerSecond))
}

// Publish takes one durable change, as a tally.ChangeFeed or a bus tells
// it: the function to give OnChange. It never waits for a subscriber or
// for the store, only for the locks of the hub and of the group, which
// are held for a fan-out at most; the subscribers are told in the next
// fan-out. A change of a group nobody watches is dropped. A change whose Seq is not the next of its group's (a change
// was not told) makes the hub read the group again and give every
// subscriber its whole state.
func (h *Hub) Publish(c tally.Change) {
	h.mu.Lock()
	g := h.groups[groupKey{c.App, c.GroupID}]
	h.mu.Unlock()
	if g == nil {
		return
	}
	g.mu.Lock()
	if g.gone {
		g.mu.Unlock()
		return
	}
	if c.Destroyed {
		g.finish(c.Seq)
		g.mu.Unlock()
		h.forget(g)
		return
	}
	g.apply(h, &c)
	g.mu.Unlock()
}

// Subscribe watches the groups ids of app, each once however often it is
// named. The subscription's first messages are the groups' whole states,
// in the order named, each as of a read that begins after Subscribe is
// called, with every change told since applied; so it holds every change
// durable before the call, and the changes after follow it. On a closed
// hub the subscription has ended already.
func (h *Hub) Subscribe(app uint32, ids []string) *Sub {
	s := &Sub{h: h, ring: make([]item, h.queue), wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.err = ErrClosed
		return s
	}
	h.subs[s] = struct{}{}
	for _, id := range ids {
		key := groupKey{app, id}
		g := h.groups[key]
		if g != nil {
			g.mu.Lock()
			if _, dup := g.subs[s]; dup || g.gone {
				g.mu.Unlock()
				if dup {
					continue
				}
				g = nil
			}
		}
		if g == nil {
			g = &group{key: key, subs: make(map[*Sub]*entry)}
			h.groups[key] = g
			g.mu.Lock()
		}
		e := &entry{g: g, stale: true, fresh: true}
		s.mu.Lock()
		s.entries = append(s.entries, e)
		s.owed++
		s.starting++
		s.mu.Unlock()
		g.subs[s] = e
		e.need = g.startRead(h)
		g.mu.Unlock()
	}
	return s
}

// Resync reads every watched group again and gives its subscribers its
// whole state when it is newer than the hub's: what a node does when it
// may have missed changes, such as when its bus was cut.
func (h *Hub) Resync() {
	h.mu.Lock()
	groups := make([]*group, 0, len(h.groups))
	for _, g := range h.groups {
		groups = append(groups, g)
	}
	h.mu.Unlock()
	for _, g := range groups {
		g.mu.Lock()
		if !g.gone {
			g.startRead(h)
		}
		g.mu.Unlock()
	}
}

// Len returns how many groups are watched and how many subscriptions
// are open.
func (h *Hub) Len() (groups, subs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.groups), len(h.subs)
}

// Close ends every subscription with ErrClosed, and waits for the reads
// under way to end, so that the store can be closed after it. Later
// subscriptions end at once.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	subs := make([]*Sub, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.End(ErrClosed)
	}
	h.cancel()
	h.reads.Wait()
	<-h.fanned
}

// forget drops g from the hub's map, unless a new group has taken its
// place. The caller has marked g gone, and holds no group's lock.
func (h *Hub) forget(g *group) {
	h.mu.Lock()
	if h.groups[g.key] == g {
		delete(h.groups, g.key)
	}
	h.mu.Unlock()
}
