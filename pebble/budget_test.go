package pebble

import "testing"

// TestShares: the parts of a budget stay within it, leave a third of
// what Pebble does not hold to the rest of the Go heap, and keep to their
// bounds.
func TestShares(t *testing.T) {
	for _, budget := range []int64{32 << 20, 128 << 20, DefaultMemoryBudget, 4 << 30, 64 << 30} {
		sh := shareOf(budget)
		offHeap := 2*sh.memtable + sh.blockCache
		switch {
		case sh.counters+offHeap > budget || budget-offHeap-sh.counters < (budget-offHeap)/3:
			t.Errorf("budget %d: counters %d and memtables and cache %d leave too little", budget, sh.counters, offHeap)
		case sh.memtable < minMemtable || sh.memtable > maxMemtable, sh.blockCache < minBlockCache || sh.blockCache > maxBlockCache:
			t.Errorf("budget %d: memtable %d, block cache %d out of bounds", budget, sh.memtable, sh.blockCache)
		}
		if limit := GoHeapLimit(budget, true); limit != budget-offHeap || limit < sh.counters {
			t.Errorf("budget %d: Go heap limit %d, want %d, above the counters' %d", budget, limit, budget-offHeap, sh.counters)
		}
		if GoHeapLimit(budget, false) != budget {
			t.Errorf("budget %d: without cgo the Go heap limit is the budget", budget)
		}
	}
}
