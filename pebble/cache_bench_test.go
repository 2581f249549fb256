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
		// One group is a hot group, whose record the cache need not
		// decode; calls that alternate between two decode every time.
		for _, groups := range []int{1, 2} {
			keys := [][]byte{groupKey(tagCount, 1, "room-1234"), groupKey(tagCount, 1, "room-5678")}[:groups]
			b.Run(fmt.Sprintf("get-put-%d-keys-%d-groups", n, groups), func(b *testing.B) {
				var cc counterCache
				for _, key := range keys {
					cc.put(key, 1, cs, true, "", 1<<20)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					key := keys[i%groups]
					i++
					seq, cur, _ := cc.get(key)
					cc.put(key, seq+1, cur, true, "", 1<<20)
				}
			})
		}
	}
	b.Run("gc-1M-groups", func(b *testing.B) {
		var latches [4096]counterCache
		cs := []tally.Counter{{Key: "likes", Value: 12345}}
		for g := range 1_000_000 {
			key := groupKey(tagCount, 1, fmt.Sprint("g", g))
			latches[g%len(latches)].put(key, 1, cs, false, "", 1<<30)
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
