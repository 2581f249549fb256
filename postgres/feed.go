package postgres

import (
	"context"
	"sync/atomic"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// The feed of changes (tally.ChangeFeed). A group's Seq is the seq column
// of its counters row, written by the transaction that changes them: each
// update that changes them adds one, each in its turn in a folded
// transaction (fold.go).
//
// A transaction that changes counters queues its changes on the store's
// one feed (package changefeed) after its last statement and before its
// COMMIT, while it holds the group's row lock: so the transactions of one
// group that this node runs, one after another behind that lock, queue
// their changes in Seq order, though their COMMITs may return in any
// order. The feed's goroutine tells the transactions at the head of the
// queue as their COMMITs return, each one's changes only if its COMMIT
// succeeded. A COMMIT that failed or whose outcome is unknown (the
// connection lost) tells nothing: if it did commit, the group's next
// change told comes with a gap in its Seqs, as the changes made through
// other nodes do, and a subscriber reads CounterState.
//
// A full queue makes a transaction wait before its COMMIT, holding its
// row lock, which holds up the group's writers on every node; that is the
// price of a function that does not return quickly, which the contract
// forbids (changefeed.Feed.Add).

// commit is a transaction's COMMIT, for the feed to wait for.
type commit struct {
	state atomic.Int32 // 0 in flight, then committed or failed.
}

const (
	committed = 1
	failed    = 2
)

// end records the COMMIT's outcome.
func (c *commit) end(ok bool) {
	if ok {
		c.state.Store(committed)
	} else {
		c.state.Store(failed)
	}
}

// Ended implements changefeed.Outcome.
func (c *commit) Ended() (ended, durable bool) {
	s := c.state.Load()
	return s != 0, s == committed
}

// OnChange implements tally.ChangeFeed. fn is called from one goroutine,
// and must return quickly and must not call the store: a transaction
// waiting for room in the feed holds its group's row lock. A later call
// replaces fn; after Close it does nothing.
func (s *Store) OnChange(fn func(tally.Change)) {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	if s.closed.Load() {
		return
	}
	if f := s.feed.Load(); f != nil {
		f.SetFunc(fn)
		return
	}
	s.feed.Store(changefeed.New(fn, changefeed.Size))
}

// CounterState implements tally.ChangeFeed. One statement reads the
// group, its counters and its Seq in one snapshot.
func (s *Store) CounterState(ctx context.Context, app uint32, id string) (uint64, []tally.Counter, error) {
	var seq uint64
	var cur []tally.Counter
	err := s.read(ctx, func(ctx context.Context, q querier) error {
		var t int16
		var data []byte
		var stored *int64 // NULL for a group without a counters row.
		err := q.QueryRow(ctx, `SELECT g.type, c.data, c.seq FROM tally_groups g
			LEFT JOIN tally_counters c ON c.app = g.app AND c.group_id = g.id
			WHERE g.app = $1 AND g.id = $2`, int64(app), bs(id)).Scan(&t, &data, &stored)
		if err != nil {
			return notFound(err, id)
		}
		if err := mayCount(t, id); err != nil {
			return err
		}
		if seq, err = seqOf(stored); err != nil {
			return err
		}
		cur, err = decodeCounters(data)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return seq, cur, nil
}

// seqOf returns the Seq a counters row holds, 0 for no row.
func seqOf(stored *int64) (uint64, error) {
	if stored == nil {
		return 0, nil
	}
	if *stored < 0 {
		return 0, errCorrupt
	}
	return uint64(*stored), nil
}
