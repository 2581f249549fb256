package pebble

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// pebbleOptions returns the Pebble settings of a store on fs.
func pebbleOptions(fs vfs.FS, log pebble.Logger) *pebble.Options {
	o := &pebble.Options{
		FS:                 fs,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             log,
		// The block cache and memtable sizes bound the server's memory
		// whatever the number of counters (tallybench memory, in
		// BENCHMARKS.md, finds that RSS does not grow with them). They
		// are Pebble's defaults, set here so that an upgrade of Pebble
		// cannot change them silently; a larger memtable would also
		// lengthen the WAL replay of a restart.
		CacheSize:    8 << 20,
		MemTableSize: 4 << 20,
	}
	// Every call reads one or two keys by exact match, and most groups'
	// keys are not in most tables; a Bloom filter lets a read skip those
	// tables without searching their indexes. Pebble sets none by default.
	// The deeper levels inherit L0's policy.
	o.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	return o
}
