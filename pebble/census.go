package pebble

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// census keeps the number of groups and counter keys the store holds, for
// the tally_store_groups and tally_store_counters gauges, without a read or
// a shared write on the hot path: a call that changes how many there are
// adds the difference once its write is durable (an update of existing
// counters, the busy case, changes nothing), and a scan counts what was
// there when the database opened.
//
// The scan reads a snapshot taken before any call can write, and the calls'
// differences accumulate from zero meanwhile, so that once the scan adds
// its count the totals are exact; the gauges are absent until then. The
// scan reads one record per app and one per group that has counters, so it
// grows with the store and takes many times as long as the open itself
// (BenchmarkOpenAndCensus, in BENCHMARKS.md), which is why it runs in the
// background rather than delaying the open. After a storage fault the
// count starts over on the reopened database: a write answered with an
// error may or may not have survived.
type census struct {
	// groups and counters are the totals, less the scan's until it ends.
	groups, counters atomic.Int64

	// mu guards ready, and orders the reset of the totals at a start
	// against the scan's addition of its count and against totals.
	mu    sync.Mutex
	ready bool

	// stop and done end and await the running scan. They are used only
	// by whoever holds the store's closeMu exclusively (or opens it).
	stop, done chan struct{}
}

// start counts what db holds, in the background. The caller holds closeMu
// exclusively, or has not yet shared the store, so no call is writing.
func (c *census) start(db *pebble.DB, logf func(string, ...any)) {
	c.mu.Lock()
	c.ready = false
	c.groups.Store(0)
	c.counters.Store(0)
	c.mu.Unlock()

	snap := db.NewSnapshot()
	stop, done := make(chan struct{}), make(chan struct{})
	c.stop, c.done = stop, done
	go func() {
		defer close(done)
		defer snap.Close()
		groups, counters, err := scanCounts(snap, stop)
		if err != nil {
			if err != errCensusStopped {
				logf("pebble: counting groups and counters: %v; the gauges stay absent", err)
			}
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.groups.Add(groups)
		c.counters.Add(counters)
		c.ready = true
	}()
}

// end stops the running scan, if any, and withdraws the gauges until the
// next start. The caller holds closeMu exclusively: the database the scan
// reads is about to close.
func (c *census) end() {
	if c.stop == nil {
		return
	}
	close(c.stop)
	<-c.done
	c.stop, c.done = nil, nil
	c.mu.Lock()
	c.ready = false
	c.mu.Unlock()
}

// totals returns the counts, and false until the scan has ended.
func (c *census) totals() (groups, counters int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groups.Load(), c.counters.Load(), c.ready
}

// changed adds what a durable write changed. The caller is in the store
// (it holds closeMu shared), so a start cannot reset the totals under it.
func (c *census) changed(groups, counters int64) {
	if groups != 0 {
		c.groups.Add(groups)
	}
	if counters != 0 {
		c.counters.Add(counters)
	}
}

var errCensusStopped = errors.New("pebble: census stopped")

// scanCounts sums the app records' group counts and the counter records'
// lengths in snap, giving up when stop is closed.
func scanCounts(snap *pebble.Snapshot, stop <-chan struct{}) (groups, counters int64, err error) {
	err = scanTag(snap, tagApp, stop, func(v []byte) error {
		ar, err := decodeAppRecord(v)
		for _, n := range ar.counts {
			groups += int64(n)
		}
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	err = scanTag(snap, tagCount, stop, func(v []byte) error {
		n, err := countersLen(v)
		counters += n
		return err
	})
	return groups, counters, err
}

// scanTag calls fn with the value of every key of tag in snap.
func scanTag(snap *pebble.Snapshot, tag byte, stop <-chan struct{}, fn func(v []byte) error) error {
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{tag}, UpperBound: []byte{tag + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			select {
			case <-stop:
				return errCensusStopped
			default:
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return it.Error()
}
