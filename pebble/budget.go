package pebble

// DefaultMemoryBudget is the memory a store may use for its caches and
// memtables unless told otherwise: 512 MiB, which a machine of 1 GiB can
// spare for its one server, and whose half caches the counters of about
// 1.4 million groups of one short counter, or 380,000 of twenty, by the
// cache's reckoning of an entry (entrySize).
const DefaultMemoryBudget = 512 << 20

// share is how a memory budget is shared out:
//
//   - half to the counters the group latches cache (cache.go), which serve
//     every call on a cached group without reading a table;
//   - an eighth to the memtable, up to 64 MiB, beyond which a flush gains
//     little and a restart's WAL replay grows; Pebble holds a second one
//     while the first flushes, which the budget allows for;
//   - a sixteenth to Pebble's block cache, between 8 and 64 MiB: the
//     counter cache answers the hot reads, so it holds the index and
//     filter blocks of the rest and what calls on uncached groups read.
//
// The rest, at least a quarter, is for what the budget does not bound but
// the server needs beside it: the Go heap of connections, streams and
// calls in flight.
type share struct {
	counters, memtable, blockCache int64
}

// Smallest parts: Pebble's own defaults, below which a store would
// flush or read its disk far more than it saves in memory.
const (
	minMemtable   = 4 << 20
	maxMemtable   = 64 << 20
	minBlockCache = 8 << 20
	maxBlockCache = 64 << 20
)

func shareOf(budget int64) share {
	return share{
		counters:   budget / 2,
		memtable:   min(max(budget/8, minMemtable), maxMemtable),
		blockCache: min(max(budget/16, minBlockCache), maxBlockCache),
	}
}
