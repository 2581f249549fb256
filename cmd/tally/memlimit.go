package main

import (
	"os"
	"runtime/debug"

	"github.com/tallyserver/tally/pebble"
)

// setMemoryLimit gives Go's garbage collector the part of the embedded
// store's memory budget that the Go heap may hold, so that the counter
// cache, which lives in the heap, and the garbage of the calls keep the
// process within the budget: without a limit the collector lets the heap
// grow to twice what it holds live. GOMEMLIMIT, when set, is the
// operator's choice and wins. Only tally serve sets it, since it is the
// whole process's; a test that runs servers in process does not.
func setMemoryLimit(budget int64) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return -1
	}
	limit := pebble.GoHeapLimit(budget, cgoEnabled())
	debug.SetMemoryLimit(limit)
	return limit
}

// cgoEnabled reports whether the binary was built with cgo, in which case
// Pebble allocates its memtables and block cache outside the Go heap.
func cgoEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" {
			return s.Value == "1"
		}
	}
	return false
}
