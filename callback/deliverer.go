package callback

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallyserver/tally"
)

// Options tune a Deliverer; the zero value of each field is its default.
type Options struct {
	// Holder names this node in the outbox's claim: unique among the
	// nodes that share a store. Default: "tally".
	Holder string
	// Span is how long a claim lasts unless renewed; it is renewed every
	// third of it, so that a node that stalls for a moment keeps it and
	// one that dies gives it up within Span. Default 10 s.
	Span time.Duration
	// MaxAge is how long an event is retried before it is dropped.
	// Default 1 h. SetMaxAge changes it.
	MaxAge time.Duration
	// Poll is how often the outbox is read while no Notify says there is
	// something new, so that the writes of other nodes are found; while
	// reads find nothing new, the interval doubles, to a second at most.
	// Default 100 ms.
	Poll time.Duration
	// Parallel bounds the callbacks in flight at once, each of its own
	// group. Default 16.
	Parallel int
	// MinBackoff is the wait after a group's first failed attempt; it
	// doubles with each failure up to MaxBackoff, and each wait is
	// jittered down by up to half, so that groups that failed together
	// do not retry together. Defaults 100 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// MaxHeld bounds the events held in memory, read and not yet
	// deleted. Default 4096.
	MaxHeld int
	// Log gets a line for each dropped event and each lost claim.
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.Holder == "" {
		o.Holder = "tally"
	}
	if o.Span <= 0 {
		o.Span = 10 * time.Second
	}
	if o.MaxAge <= 0 {
		o.MaxAge = time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.Parallel <= 0 {
		o.Parallel = 16
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(30*time.Second, o.MinBackoff)
	}
	if o.MaxHeld <= 0 {
		o.MaxHeld = 4096
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Deliverer sends the after-events of a store's outbox to their apps'
// callback URLs, at least once: it deletes an event only once its handler
// has accepted it, or it has been dropped. A group's events go in ID
// order, each once the one before is done; different groups go in
// parallel. A failed attempt is retried with backoff until the event is
// MaxAge old. Only the node that holds the outbox's claim delivers, so
// that with several nodes on one store each event is sent by one at a
// time.
//
// Delivery runs beside the API and never in its way: a write records its
// events and answers; a slow or dead handler only makes the outbox grow.
type Deliverer struct {
	outbox tally.Outbox
	client *Client
	opts   Options
	log    *slog.Logger
	apps   atomic.Pointer[map[uint32]*tally.App]
	maxAge atomic.Int64 // nanoseconds
	wake   chan struct{}
	m      *metrics
	// Now is the clock events' ages are measured by; tests move it.
	Now func() time.Time

	// mu guards the state of the current turn as holder, which the
	// metrics read.
	mu sync.Mutex
	// held are the events read and not yet deleted, by ID; done marks
	// those delivered or dropped, whose deletion is pending. Events
	// always starts from the lowest ID, so an event read again while
	// held is known and not sent twice.
	held map[uint64]*heldEvent
	// queues are the groups with events waiting, each with its worker.
	queues map[groupKey]*queue
}

type heldEvent struct {
	time int64 // Unix ms
	done bool
}

type groupKey struct {
	app   uint32
	group string
}

// queue is a group's events in ID order; its worker sends them one by
// one and ends when it is empty.
type queue struct {
	events []tally.Event
}

// NewDeliverer returns a deliverer of outbox's events through client, to
// the callback URLs of apps. SetApps replaces the apps, at a reload.
func NewDeliverer(outbox tally.Outbox, client *Client, apps []tally.App, opts Options) *Deliverer {
	opts.defaults()
	d := &Deliverer{outbox: outbox, client: client, opts: opts, log: opts.Log,
		wake: make(chan struct{}, 1), Now: time.Now}
	d.m = newMetrics(d)
	d.maxAge.Store(int64(opts.MaxAge))
	d.SetApps(apps)
	return d
}

// SetApps replaces the apps whose events are delivered. An attempt in
// flight finishes under the apps it started with; every later one uses
// the new: a new URL, token or list of events applies from the next
// attempt, and the events of an app that is gone, or has no URL any more,
// or no longer asks for the event's kind, are dropped.
func (d *Deliverer) SetApps(apps []tally.App) {
	m := make(map[uint32]*tally.App, len(apps))
	for i := range apps {
		a := apps[i]
		m[a.SDKAppID] = &a
	}
	d.apps.Store(&m)
}

// SetMaxAge changes how long an event is retried, for events in flight
// too.
func (d *Deliverer) SetMaxAge(age time.Duration) {
	if age > 0 {
		d.maxAge.Store(int64(age))
	}
}

// Notify tells the deliverer that events were recorded, so that it reads
// the outbox at once rather than at its next poll. It never blocks.
func (d *Deliverer) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: it waits for the outbox's claim, delivers
// while it holds it, and waits again when it loses it. It returns once
// every attempt it started has ended.
func (d *Deliverer) Run(ctx context.Context) {
	for ctx.Err() == nil {
		ok, err := d.outbox.ClaimDelivery(ctx, d.opts.Holder, d.opts.Span)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("callback delivery: claiming the outbox failed", "err", err)
		}
		if ok && err == nil {
			d.hold(ctx)
			continue
		}
		sleep(ctx, d.opts.Span/3)
	}
}

// hold delivers while this node holds the claim, renewing it every third
// of its span, and returns when ctx ends or the claim is lost: then every
// worker is stopped and waited for, what was delivered is deleted, and
// the rest is forgotten, to be read again by whoever holds the claim
// next.
func (d *Deliverer) hold(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	var workers sync.WaitGroup
	finished := make(chan uint64, d.opts.MaxHeld)
	slots := make(chan struct{}, d.opts.Parallel)
	d.mu.Lock()
	d.held, d.queues = make(map[uint64]*heldEvent), make(map[groupKey]*queue)
	d.mu.Unlock()

	var pending []uint64 // done, to be deleted
	flush := func(ctx context.Context) {
		if len(pending) == 0 {
			return
		}
		if err := d.outbox.DeleteEvents(ctx, pending); err != nil {
			if ctx.Err() == nil {
				d.log.Warn("callback delivery: deleting delivered events failed; they stay held and are deleted later", "err", err, "events", len(pending))
			}
			return
		}
		d.mu.Lock()
		for _, id := range pending {
			delete(d.held, id)
		}
		d.mu.Unlock()
		pending = pending[:0]
	}
	defer func() {
		cancel()
		// Workers may be blocked handing in what they finished.
		go func() {
			workers.Wait()
			close(finished)
		}()
		for id := range finished {
			pending = append(pending, id)
		}
		fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
		flush(fctx)
		fcancel()
		d.mu.Lock()
		d.held, d.queues = nil, nil
		d.mu.Unlock()
	}()

	renew := time.NewTicker(d.opts.Span / 3)
	defer renew.Stop()
	lastClaim := time.Now()
	poll := time.NewTimer(0)
	defer poll.Stop()
	interval := d.opts.Poll
	minGap := min(d.opts.Poll, 25*time.Millisecond)
	var lastRead time.Time
	flushTick := time.NewTicker(50 * time.Millisecond)
	defer flushTick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			ok, err := d.outbox.ClaimDelivery(ctx, d.opts.Holder, d.opts.Span)
			switch {
			case err == nil && ok:
				lastClaim = time.Now()
			case err == nil:
				d.log.Warn("callback delivery: another node holds the outbox now; this one stops delivering", "holder", d.opts.Holder)
				return
			case time.Since(lastClaim) > d.opts.Span*2/3:
				// The claim may run out before the store answers
				// again; stop before another node may take over.
				d.log.Warn("callback delivery: cannot renew the claim on the outbox; stopping until it can", "err", err)
				return
			}
		case id := <-finished:
			pending = append(pending, id)
			if len(pending) >= 256 {
				flush(ctx)
			}
		case <-flushTick.C:
			flush(ctx)
		case <-d.wake:
			// Under a stream of writes each one notifies; reading the
			// outbox for each would spend on re-reading what is held
			// what the writes need, so reads are minGap apart at least.
			interval = d.opts.Poll
			if wait := minGap - time.Since(lastRead); wait > 0 {
				poll.Reset(wait)
				continue
			}
			d.read(ctx, &workers, slots, finished)
			lastRead = time.Now()
			poll.Reset(interval)
		case <-poll.C:
			// A read that finds nothing new re-reads what is held, so
			// while a handler is down and nothing is written, the
			// polls slow down, to a second at most.
			if d.read(ctx, &workers, slots, finished) {
				interval = d.opts.Poll
			} else {
				interval = min(2*interval, max(time.Second, d.opts.Poll))
			}
			lastRead = time.Now()
			poll.Reset(interval)
		}
	}
}

// read reads the outbox and queues the events not held yet, each behind
// its group's earlier ones, starting a worker for a group that had none.
// Events starts from the lowest ID, so the read asks for as many events
// as are held, and a batch more. It reports whether it found any new.
func (d *Deliverer) read(ctx context.Context, workers *sync.WaitGroup, slots chan struct{}, finished chan<- uint64) bool {
	d.mu.Lock()
	n := len(d.held)
	d.mu.Unlock()
	if n >= d.opts.MaxHeld {
		return false
	}
	evs, err := d.outbox.Events(ctx, min(n+256, d.opts.MaxHeld))
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("callback delivery: reading the outbox failed", "err", err)
		}
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	found := false
	for _, ev := range evs {
		if _, ok := d.held[ev.ID]; ok {
			continue
		}
		found = true
		d.held[ev.ID] = &heldEvent{time: ev.Time}
		d.m.backlogRead.Inc()
		k := groupKey{ev.App, ev.GroupID}
		if q, ok := d.queues[k]; ok {
			q.events = append(q.events, ev)
			continue
		}
		q := &queue{events: []tally.Event{ev}}
		d.queues[k] = q
		workers.Add(1)
		go func() {
			defer workers.Done()
			d.work(ctx, k, q, slots, finished)
		}()
	}
	return found
}

// work sends a group's events in order, each until it is accepted or
// dropped, and ends when the group has none left.
func (d *Deliverer) work(ctx context.Context, k groupKey, q *queue, slots chan struct{}, finished chan<- uint64) {
	for {
		d.mu.Lock()
		if len(q.events) == 0 {
			delete(d.queues, k)
			d.mu.Unlock()
			return
		}
		ev := q.events[0]
		d.mu.Unlock()
		if !d.deliver(ctx, &ev, slots) {
			return // ctx ended
		}
		d.mu.Lock()
		q.events = q.events[1:]
		if h := d.held[ev.ID]; h != nil {
			h.done = true
		}
		d.mu.Unlock()
		select {
		case finished <- ev.ID:
		case <-ctx.Done():
			return
		}
	}
}

// deliver sends ev until its handler accepts it or it is dropped, and
// reports whether it is done; false when ctx ended first. A slot is held
// only while an attempt is in flight, so that the groups of a dead
// handler, waiting out their backoff, leave the others room.
func (d *Deliverer) deliver(ctx context.Context, ev *tally.Event, slots chan struct{}) bool {
	backoff := d.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		app := (*d.apps.Load())[ev.App]
		switch {
		case app == nil || app.Callback.URL == "":
			d.drop(ev, "no_url", "the app has no callback_url now")
			return true
		case !app.Callback.Events.Has(ev.Kind):
			d.drop(ev, "not_wanted", "the app's callback_events no longer name it")
			return true
		case d.Now().UnixMilli()-ev.Time > time.Duration(d.maxAge.Load()).Milliseconds():
			d.drop(ev, "too_old", "it is older than callback_max_age")
			return true
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		d.m.attempts.Inc()
		err := d.client.Send(ctx, app, ev)
		<-slots
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			d.m.delivered.Inc()
			return true
		}
		d.m.failures.Inc()
		// An event's first failure is worth a line; its retries only
		// now and then, or a handler down for an hour would fill the
		// log.
		level := slog.LevelDebug
		if attempt == 1 || attempt%20 == 0 {
			level = slog.LevelWarn
		}
		d.log.Log(ctx, level, "callback attempt failed; it is retried", "sdkappid", ev.App, "group", ev.GroupID, "event", ev.ID,
			"command", ev.Kind.Command(), "attempt", attempt, "err", err)
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, d.opts.MaxBackoff)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

func (d *Deliverer) drop(ev *tally.Event, reason, why string) {
	d.m.dropped.WithLabelValues(reason).Inc()
	d.log.Warn("callback event dropped: "+why, "sdkappid", ev.App, "group", ev.GroupID, "event", ev.ID,
		"command", ev.Kind.Command(), "age", time.Duration(d.Now().UnixMilli()-ev.Time)*time.Millisecond)
}

// sleep waits for d or ctx, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// backlog returns the events held and not done, and the age of the oldest
// of them, for the metrics.
func (d *Deliverer) backlog() (n int, oldest time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.Now().UnixMilli()
	var first int64
	for _, h := range d.held {
		if h.done {
			continue
		}
		n++
		if first == 0 || h.time < first {
			first = h.time
		}
	}
	if n == 0 {
		return 0, 0
	}
	return n, time.Duration(max(now-first, 0)) * time.Millisecond
}
