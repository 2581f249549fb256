package pebble

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// options returns the Pebble settings of a store.
func options() *pebble.Options {
	o := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             quietLogger{},
	}
	// Every call reads one or two keys by exact match, and most groups'
	// keys are not in most tables; a Bloom filter lets a read skip those
	// tables without searching their indexes. Pebble sets none by default.
	// The deeper levels inherit L0's policy.
	o.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	return o
}
