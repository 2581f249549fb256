package main

import (
	"os"
	"runtime/debug"

	"github.com/tallyserver/tally/pebble"
)

// gcPercent is the GOGC that tally serve runs with under its own memory
// limit. Go's default of 100 lets the heap grow to twice what it holds
// live before it collects; the live heap of a server whose counters are
// few is a few MiB, so at tens of thousands of calls a second the
// collector would run dozens of times a second, and load profiles had it
// at a fifth of the server's CPU. The budget already pays for more room:
// the memory limit, not GOGC, is what keeps the heap within it, and it
// caps the heap whatever GOGC says, so 400 only lets a small heap grow
// into memory the budget has set aside anyway. Alternated runs of
// tallybench load put the hot key on tmpfs at 0.80 and 0.79× the HTTP
// ceiling with 100, 0.86 and 0.86× with 400 (BENCHMARKS.md).
const gcPercent = 400

// setMemoryLimit gives Go's garbage collector the part of the embedded
// store's memory budget that the Go heap may hold, so that the counter
// cache, which lives in the heap, and the garbage of the calls keep the
// process within the budget: without a limit the collector lets the heap
// grow to twice what it holds live. Under that limit it raises GOGC to
// gcPercent, unless GOGC is set. GOMEMLIMIT, when set, is the operator's
// choice and wins, and then GOGC is left alone too, for without this
// limit a higher GOGC could take the heap past the budget. Only tally
// serve sets them, since they are the whole process's; a test that runs
// servers in process does not.
func setMemoryLimit(budget int64) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return -1
	}
	limit := pebble.GoHeapLimit(budget, cgoEnabled())
	debug.SetMemoryLimit(limit)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
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
