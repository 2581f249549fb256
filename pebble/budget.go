package pebble

// DefaultMemoryBudget is the memory a store may use for its caches and
// memtables unless told otherwise: 512 MiB, which a machine of 1 GiB can
// spare for its one server, and which caches the counters of about 1.5
// million groups of one short counter, or 570,000 of twenty
// (latchCacheLimit).
const DefaultMemoryBudget = 512 << 20

// share is how a memory budget is shared out:
//
//   - an eighth to the memtable, between 4 and 64 MiB (beyond which a
//     flush gains little and a restart's WAL replay grows), counted twice,
//     since Pebble holds a second one while the first flushes;
//   - a sixteenth to Pebble's block cache, between 8 and 64 MiB: the
//     counter cache answers the hot calls, so it holds the index and
//     filter blocks and what calls on uncached groups read;
//   - two thirds of the rest to the counters the group latches cache
//     (cache.go), which serve every call on a cached group without
//     reading a table;
//   - the last third to what the budget does not bound but the server
//     needs beside it: the Go heap of connections, streams and calls in
//     flight, and the garbage the collector has yet to free.
type share struct {
	counters, memtable, blockCache int64
}

// Bounds of the parts: Pebble's own defaults at the bottom, below which a
// store would flush or read its disk far more than it saves in memory.
const (
	minMemtable   = 4 << 20
	maxMemtable   = 64 << 20
	minBlockCache = 8 << 20
	maxBlockCache = 64 << 20
)

func shareOf(budget int64) share {
	sh := share{
		memtable:   min(max(budget/8, minMemtable), maxMemtable),
		blockCache: min(max(budget/16, minBlockCache), maxBlockCache),
	}
	sh.counters = max(budget-2*sh.memtable-sh.blockCache, 0) * 2 / 3
	return sh
}

// GoHeapLimit is the part of a memory budget that the Go heap may hold:
// the budget less what Pebble allocates outside it, its memtables (two
// while one flushes) and block cache, when it allocates them with C's
// malloc, as it does in a build with cgo. It is what to give Go's soft
// memory limit (runtime/debug.SetMemoryLimit), so that the garbage
// collector keeps the heap, the counter cache in it, within the budget.
func GoHeapLimit(budget int64, cgo bool) int64 {
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	if !cgo {
		return budget
	}
	sh := shareOf(budget)
	return budget - 2*sh.memtable - sh.blockCache
}
