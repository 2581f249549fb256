package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/tallyserver/tally/pebble"
)

// TestSetMemoryLimit: tally serve gives Go's collector the budget's share
// of the Go heap, unless GOMEMLIMIT says otherwise.
func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	t.Setenv("GOMEMLIMIT", "")
	want := pebble.GoHeapLimit(1<<30, cgoEnabled())
	if got := setMemoryLimit(1 << 30); got != want || debug.SetMemoryLimit(-1) != want {
		t.Errorf("setMemoryLimit(1GiB) = %d, limit %d; want %d", got, debug.SetMemoryLimit(-1), want)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "3GiB")
	if got := setMemoryLimit(1 << 30); got != -1 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set, setMemoryLimit = %d and the limit became %d", got, debug.SetMemoryLimit(-1))
	}
}
