package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/tallyserver/tally/pebble"
)

// TestSetMemoryLimit: tally serve gives Go's collector the budget's share
// of the Go heap, and room to use it, unless GOMEMLIMIT or GOGC say
// otherwise.
func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	prevGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(prev); debug.SetGCPercent(prevGC) })

	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	want := pebble.GoHeapLimit(1<<30, cgoEnabled())
	if got := setMemoryLimit(1 << 30); got != want || debug.SetMemoryLimit(-1) != want {
		t.Errorf("setMemoryLimit(1GiB) = %d, limit %d; want %d", got, debug.SetMemoryLimit(-1), want)
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC became %d; want %d", got, gcPercent)
	}

	t.Setenv("GOGC", "50")
	setMemoryLimit(1 << 30)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, setMemoryLimit changed GOGC to %d", got)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "3GiB")
	if got := setMemoryLimit(1 << 30); got != -1 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set, setMemoryLimit = %d and the limit became %d", got, debug.SetMemoryLimit(-1))
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOMEMLIMIT set, setMemoryLimit changed GOGC to %d", got)
	}
}
