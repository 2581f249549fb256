package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// A hot group's counter updates would each be a transaction of their own,
// one after another behind the group's row lock, each paying a round trip
// to the synchronous standby while the others wait: the group would top
// out at one update per commit latency. So each node folds the updates of
// one group that arrive while one of its transactions on that group is in
// flight into the next transaction. The transaction applies them in the
// order they arrived, each through ApplyCounters on the counters the ones
// before it left; an update that fails is answered its error and leaves
// the counters as if it had never run, without failing the others. Every
// update is answered only after the transaction has committed, and a
// transaction that fails fails each update in it with an internal error.
//
// A node runs at most one transaction per group at a time, which costs
// nothing: the row lock would serialise them in the database anyway.

// maxFold bounds the updates that one transaction applies, so that one
// commit's worth of answers is not held up by an unbounded queue.
const maxFold = 256

// folds holds, for each group with an update in flight on this node, the
// updates waiting for the next transaction.
type folds struct {
	mu     sync.Mutex
	queues map[foldKey]*foldQueue

	// txns and updates count the transactions run and the updates they
	// applied, for tests to see that updates were folded.
	txns, updates atomic.Int64
}

type foldKey struct {
	app uint32
	id  string
}

// foldQueue is one group's updates waiting behind its transaction in
// flight.
type foldQueue struct {
	waiting []*update
}

// update is one UpdateCounters call.
type update struct {
	mode  tally.Mode
	items []tally.Counter
	// origin is the call's Origin, and record whether it asks for the
	// call's event: each call in a folded transaction records its own.
	origin tally.Origin
	record bool

	out []tally.Counter
	err error

	// batch is set when the update is handed the group's next
	// transaction to run: the updates it holds, itself first.
	batch []*update
	done  chan struct{}
}

// UpdateCounters implements tally.Store.
func (s *Store) UpdateCounters(ctx context.Context, app uint32, id string, mode tally.Mode, items []tally.Counter) ([]tally.Counter, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: call given up before it began: %w", err)
	}
	u := &update{mode: mode, items: items, done: make(chan struct{})}
	u.origin, u.record = tally.OriginOf(ctx, tally.EventAfterGroupCounterChanged)
	if s.noFold {
		// One transaction per call, as a store without folding would run
		// them: they queue on the group's row lock in the database, each
		// holding a connection of the pool while it waits.
		s.applyUpdates(context.WithoutCancel(ctx), app, id, []*update{u})
		return u.out, u.err
	}
	k := foldKey{app, id}
	f := &s.folds

	f.mu.Lock()
	if f.queues == nil {
		f.queues = map[foldKey]*foldQueue{}
	}
	q, busy := f.queues[k]
	if busy {
		q.waiting = append(q.waiting, u)
	} else {
		q = &foldQueue{}
		f.queues[k] = q
		u.batch = []*update{u}
	}
	f.mu.Unlock()

	if busy {
		<-u.done
		if u.batch == nil {
			return u.out, u.err // Another update's transaction applied it.
		}
	}
	// u runs the group's next transaction. Once the call is in a queue it
	// is answered with the others, whatever becomes of its own context.
	s.applyUpdates(context.WithoutCancel(ctx), app, id, u.batch)

	// Hand the updates that queued meanwhile to the next transaction
	// before answering this one's, so that it starts at once.
	f.mu.Lock()
	next := q.waiting
	if len(next) > maxFold {
		next = next[:maxFold]
	}
	q.waiting = q.waiting[len(next):]
	if len(next) == 0 {
		delete(f.queues, k)
	}
	f.mu.Unlock()
	if len(next) > 0 {
		next[0].batch = next
		close(next[0].done)
	}
	for _, o := range u.batch[1:] {
		close(o.done)
	}
	return u.out, u.err
}

// applyUpdates applies the updates in one transaction and sets each one's
// answer. Each update that changes the counters is a change of its own,
// with the next Seq, as it would be in a transaction of its own, and
// records its own event, with its own Origin and Seq, when it asks.
func (s *Store) applyUpdates(ctx context.Context, app uint32, id string, batch []*update) {
	s.folds.txns.Add(1)
	s.folds.updates.Add(int64(len(batch)))
	err := s.writeTelling(ctx, func(ctx context.Context, q querier) ([]changefeed.Change, error) {
		typ, seq, cur, err := lockCounters(ctx, q, app, id)
		if err != nil {
			return nil, err
		}
		var changes []changefeed.Change
		var evs []tally.Event
		next := cur
		for _, u := range batch {
			var n []tally.Counter
			n, u.out, u.err = tally.ApplyCounters(next, u.mode, u.items)
			if u.err != nil || slices.Equal(next, n) {
				continue
			}
			seq++
			changes = append(changes, changefeed.Change{App: app, GroupID: id, Seq: seq, Cur: next, Next: n})
			if u.record {
				evs = append(evs, counterEvent(app, u.origin, id, typ, u.mode.String(), next, n, seq))
			}
			next = n
		}
		if len(changes) == 0 {
			return nil, nil
		}
		return changes, writeCounters(ctx, q, app, id, seq, next, evs)
	})
	if err != nil {
		for _, u := range batch {
			u.out, u.err = nil, err
		}
	}
}

// foldSetting is the URL parameter that turns folding off (Open).
const foldSetting = "tally_fold"

// takeFoldSetting removes tally_fold from the runtime settings that pgx
// parsed out of the URL, where it would be sent to the server, and
// reports whether updates are to be folded: yes unless it says off.
func takeFoldSetting(cfg *pgxpool.Config) (bool, error) {
	params := cfg.ConnConfig.RuntimeParams
	v, ok := params[foldSetting]
	if !ok {
		return true, nil
	}
	delete(params, foldSetting)
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("postgres: the database URL's %s is %q; it must be on or off", foldSetting, v)
}
