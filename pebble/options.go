package pebble

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// pebbleOptions returns the Pebble settings of a store on fs with memory
// budget budget.
func pebbleOptions(fs vfs.FS, log pebble.Logger, budget int64) *pebble.Options {
	sh := shareOf(budget)
	o := &pebble.Options{
		FS:                 fs,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             log,
		// The block cache and the memtable are the budget's (budget.go).
		// The memtable is up to 16 times Pebble's default: a spread of
		// updates over many groups rewrites each group's record again
		// and again, and a flush writes only the newest version of each
		// key, so with 4 MiB a flush every second or two wrote nearly
		// every version to L0, and compacting them cost CPU that every
		// call paid for (BENCHMARKS.md). Pebble grows a memtable from 256
		// KiB as it fills, so an idle store pays nothing for it; a
		// restart replays at most its WAL, about 0.2 s for 30 MiB here.
		CacheSize:    sh.blockCache,
		MemTableSize: uint64(sh.memtable),
	}
	// Every call reads one or two keys by exact match, and most groups'
	// keys are not in most tables; a Bloom filter lets a read skip those
	// tables without searching their indexes. Pebble sets none by default.
	// The deeper levels inherit L0's policy.
	o.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	return o
}
