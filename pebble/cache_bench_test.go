package pebble

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// BenchmarkCounterCache measures a get and a put of one latch's cache for
// a group of one and of twenty counters, as a write does them, and what a
// full garbage collection costs with a million groups cached across the
// store's latches: the cost the cache's layout is chosen for (cache.go).
func BenchmarkCounterCache(b *testing.B) {
	for _, n := range []int{1, 20} {
		var cs []tally.Counter
		for k := range n {
			cs = append(cs, tally.Counter{Key: fmt.Sprintf("k%02d", k), Value: 12345})
		}
		key := groupKey(tagCount, 1, "room-1234")
		b.Run(fmt.Sprintf("get-put-%d-keys", n), func(b *testing.B) {
			var cc counterCache
			cc.put(key, 1, cs, "", 1<<20)
			b.ReportAllocs()
			for b.Loop() {
				seq, cur, _ := cc.get(key)
				cc.put(key, seq+1, cur, "", 1<<20)
			}
		})
	}
	b.Run("gc-1M-groups", func(b *testing.B) {
		var latches [4096]counterCache
		cs := []tally.Counter{{Key: "likes", Value: 12345}}
		for g := range 1_000_000 {
			key := groupKey(tagCount, 1, fmt.Sprint("g", g))
			latches[g%len(latches)].put(key, 1, cs, "", 1<<30)
		}
		runtime.GC()
		var total time.Duration
		for b.Loop() {
			start := time.Now()
			runtime.GC()
			total += time.Since(start)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/1e6, "heap-MB")
		runtime.KeepAlive(&latches)
	})
}
