package lincheck_test

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/tallyserver/tally"
)

// A store that breaks the contract the way issue 12 names, "answers before
// commit", so that the tests can show the check catches it. The contract
// answers a change only once it is durable, that is committed, so that
// every call after the answer sees it; these stores answer each update at
// once, with the new values worked out from what the answers so far have
// told, and commit it to the real store only later.
//
// What "later" means is what makes the check's failure certain rather than
// a matter of scheduling: a write is committed only after a read that
// began once the write was queued has read, and answered. So a read that
// begins after an update is answered misses it, on any node, unless
// another read began in between. The opening of every history (history in
// workload_test.go) is a write and then such a read, made while nothing
// else is under way, so it misses the write on every run, however the
// goroutines are scheduled.
//
// Updates stay consistent with one another, so the only fault is the one
// named: what the reads see lags what the writes were told.

// lazyCommits is the state that the broken stores of one test's nodes
// share: the writes answered and not yet committed. It is shared because
// the fault to show is the answer before the commit, not nodes whose
// caches disagree, which would be a second fault.
type lazyCommits struct {
	mu sync.Mutex
	// told holds each group's counters as the answers have told them:
	// the committed state and every queued write on it.
	told   map[groupRef][]tally.Counter
	queue  []queuedWrite
	queued int // writes ever queued: the number the next one gets

	// committing orders the commits, which run in goroutines of their
	// own, so that they reach the real store in the order answered.
	committing sync.Mutex
	commits    sync.WaitGroup
	errs       []error // of commits, guarded by mu
}

type groupRef struct {
	app uint32
	id  string
}

// queuedWrite is an update answered and not yet committed.
type queuedWrite struct {
	n     int
	store tally.Store // the node's real store, which commits it
	group groupRef
	mode  tally.Mode
	items []tally.Counter
}

// brokenStore is one node's store: the node's real store, whose counter
// calls go through the shared lazyCommits. Everything else passes through
// untouched.
type brokenStore struct {
	tally.Store
	w *lazyCommits
}

// answerBeforeCommit wraps each node's real store in a brokenStore; the
// returned function commits every write still queued, and must be called
// once the nodes have stopped and before the real stores close.
func answerBeforeCommit(real []tally.Store) (broken []tally.Store, flush func() error) {
	w := &lazyCommits{told: map[groupRef][]tally.Counter{}}
	for _, s := range real {
		broken = append(broken, &brokenStore{Store: s, w: w})
	}
	return broken, w.flush
}

// UpdateCounters answers at once and queues the write.
func (s *brokenStore) UpdateCounters(ctx context.Context, app uint32, id string, mode tally.Mode, items []tally.Counter) ([]tally.Counter, error) {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	g := groupRef{app, id}
	cur, ok := w.told[g]
	if !ok {
		var err error
		if cur, err = s.Store.Counters(ctx, app, id, nil); err != nil {
			return nil, err
		}
	}
	next, out, err := tally.ApplyCounters(cur, mode, items)
	if err != nil {
		return nil, err
	}
	w.told[g] = next
	w.queue = append(w.queue, queuedWrite{n: w.queued, store: s.Store, group: g, mode: mode, items: items})
	w.queued++
	return out, nil
}

// Counters reads what the real store has committed, then commits, in the
// background, the writes that were queued when the read began.
func (s *brokenStore) Counters(ctx context.Context, app uint32, id string, keys []string) ([]tally.Counter, error) {
	s.w.mu.Lock()
	before := s.w.queued
	s.w.mu.Unlock()
	cs, err := s.Store.Counters(ctx, app, id, keys)
	s.w.commit(before)
	return cs, err
}

// commit commits, in a goroutine, every queued write numbered below n.
func (w *lazyCommits) commit(n int) {
	w.commits.Go(func() {
		w.committing.Lock()
		defer w.committing.Unlock()
		for {
			w.mu.Lock()
			if len(w.queue) == 0 || w.queue[0].n >= n {
				w.mu.Unlock()
				return
			}
			q := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			_, err := q.store.UpdateCounters(context.Background(), q.group.app, q.group.id, q.mode, q.items)
			if err != nil {
				w.mu.Lock()
				w.errs = append(w.errs, fmt.Errorf("committing write %d late: %w", q.n, err))
				w.mu.Unlock()
			}
		}
	})
}

// flush commits every write still queued, waits for every commit, and
// returns the first that failed.
func (w *lazyCommits) flush() error {
	w.commit(math.MaxInt)
	w.commits.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) > 0 {
		return w.errs[0]
	}
	return nil
}
