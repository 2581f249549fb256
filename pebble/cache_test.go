package pebble

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/tallyserver/tally"
)

// TestCounterCache drives one latch's cache through puts, gets and drops,
// and checks which keys it holds, least recently used first out, never
// above its limit unless it holds one entry.
func TestCounterCache(t *testing.T) {
	one := []tally.Counter{{Key: "k", Value: 1}}
	size := entrySize([]byte("a"), len(encodeCounters(1, one)))
	type op struct {
		do  string // put, get, drop or clear
		key string
	}
	for _, c := range []struct {
		name  string
		limit int
		ops   []op
		want  []string // the keys held, used last first
	}{
		{"holds what fits", 3 * size, []op{{"put", "a"}, {"put", "b"}, {"put", "c"}}, []string{"c", "b", "a"}},
		{"drops the least recently used", 2 * size, []op{{"put", "a"}, {"put", "b"}, {"put", "c"}}, []string{"c", "b"}},
		{"a get is a use", 2 * size, []op{{"put", "a"}, {"put", "b"}, {"get", "a"}, {"put", "c"}}, []string{"c", "a"}},
		{"a put of a cached key is a use", 2 * size, []op{{"put", "a"}, {"put", "b"}, {"put", "a"}, {"put", "c"}}, []string{"c", "a"}},
		{"always the last", 1, []op{{"put", "a"}, {"put", "b"}}, []string{"b"}},
		{"drop", 3 * size, []op{{"put", "a"}, {"put", "b"}, {"put", "c"}, {"drop", "b"}, {"drop", "x"}}, []string{"c", "a"}},
		{"drop the only one", 3 * size, []op{{"put", "a"}, {"drop", "a"}, {"put", "b"}}, []string{"b"}},
		{"clear", 3 * size, []op{{"put", "a"}, {"clear", ""}, {"put", "b"}}, []string{"b"}},
	} {
		var cc counterCache
		for _, o := range c.ops {
			switch o.do {
			case "put":
				cc.put([]byte(o.key), 1, one, true, "", c.limit)
			case "get":
				cc.get([]byte(o.key))
			case "drop":
				cc.drop([]byte(o.key))
			case "clear":
				cc.clear()
			}
		}
		got := cc.keys()
		if !slices.Equal(got, c.want) || cc.len() != len(c.want) || cc.bytes != len(c.want)*size {
			t.Errorf("%s: holds %v (%d entries, %d bytes), want %v (%d bytes)", c.name, got, cc.len(), cc.bytes, c.want, len(c.want)*size)
		}
		for _, k := range c.want {
			if _, cs, ok := cc.get([]byte(k)); !ok || fmt.Sprint(cs) != fmt.Sprint(one) {
				t.Errorf("%s: get(%s) = %v, %v", c.name, k, cs, ok)
			}
		}
	}
	// A group's type, once given, stays with its entry through puts
	// that do not know it, and leaves with it.
	var cc counterCache
	k := []byte("g")
	cc.put(k, 1, one, true, tally.GroupPublic, size*4)
	cc.put(k, 2, one, true, "", size*4)
	if got := cc.groupType(k); got != tally.GroupPublic {
		t.Errorf("the type after a put without one: %q, want Public", got)
	}
	cc.drop(k)
	if got := cc.groupType(k); got != "" {
		t.Errorf("the type after a drop: %q, want none", got)
	}
}

// keys returns the keys cc holds, used last first.
func (c *counterCache) keys() []string {
	var keys []string
	for i, n := c.head, 0; n < c.len(); i, n = c.slots[i].next, n+1 {
		s := c.slots[i]
		keys = append(keys, string(c.arena[s.off:s.off+s.keyLen]))
	}
	return keys
}

// TestCounterCacheRecords puts records that grow, shrink and move between
// many keys, with evictions and compactions along the way, and checks
// every get against what was put last, and that the arena stays within a
// quarter more than the entries' bytes (plus one compaction's slack).
func TestCounterCacheRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string][]tally.Counter{}
	seqs := map[string]uint64{}
	var cc counterCache
	const limit = 4 << 10
	for round := range 20000 {
		key := fmt.Sprintf("g%d", rng.IntN(200))
		switch rng.IntN(10) {
		case 0:
			cc.drop([]byte(key))
			delete(want, key)
		default:
			var cs []tally.Counter
			for k := range rng.IntN(4) {
				cs = append(cs, tally.Counter{Key: fmt.Sprintf("k%d", k), Value: rng.Int64N(1 << uint(rng.IntN(63)))})
			}
			seqs[key]++
			rec := cc.put([]byte(key), seqs[key], cs, rng.IntN(2) == 0, "", limit)
			if !bytes.Equal(rec, encodeCounters(seqs[key], cs)) {
				t.Fatalf("round %d: put returned %x, want %x", round, rec, encodeCounters(seqs[key], cs))
			}
			want[key] = slices.Clone(cs) // apart from what the cache may share
		}
		if cc.bytes > limit && cc.len() > 1 {
			t.Fatalf("round %d: %d bytes over the limit of %d with %d entries", round, cc.bytes, limit, cc.len())
		}
		if max := limit*5/4 + 2*minArenaSlack + 128; cap(cc.arena) > max {
			t.Fatalf("round %d: an arena of %d bytes, over %d", round, cap(cc.arena), max)
		}
		got := cc.keys()
		if len(got) != cc.len() {
			t.Fatalf("round %d: the ring holds %d keys, the index %d", round, len(got), cc.len())
		}
		for _, k := range got {
			seq, cs, ok := cc.get([]byte(k))
			if !ok || seq != seqs[k] || !slices.Equal(cs, want[k]) {
				t.Fatalf("round %d: get(%s) = %d %v %v, want %d %v", round, k, seq, cs, ok, seqs[k], want[k])
			}
			// What getOwned returns is the caller's to change: the
			// next get must not see the change.
			seq, cs, ok = cc.getOwned([]byte(k))
			if !ok || seq != seqs[k] || !slices.Equal(cs, want[k]) {
				t.Fatalf("round %d: getOwned(%s) = %d %v %v, want %d %v", round, k, seq, cs, ok, seqs[k], want[k])
			}
			for i := range cs {
				cs[i].Value++
			}
		}
	}
}

// TestCounterCacheWithinShare fills the caches of every latch, sized as a
// store of 128 MiB sizes them, with more groups than they hold, of one
// counter and of twenty, and checks that what they take from the heap
// stays within the counters' part of the budget.
func TestCounterCacheWithinShare(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 300 MB of caches")
	}
	const budget = 128 << 20
	part := shareOf(budget).counters
	for _, n := range []int{1, 20} {
		var cs []tally.Counter
		for k := range n {
			cs = append(cs, tally.Counter{Key: fmt.Sprintf("k%02d", k), Value: 123456})
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		latches := make([]counterCache, len(Store{}.groups))
		limit := latchCacheLimit(part, len(latches))
		held := 0
		for g := range 1_000_000 {
			key := groupKey(tagCount, 1, fmt.Sprint("room", g))
			latches[g%len(latches)].put(key, 1, cs, false, "", limit)
		}
		for i := range latches {
			held += latches[i].len()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		took := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("%d counters a group: %d groups held in %.1f MiB of %.1f MiB", n, held, float64(took)/(1<<20), float64(part)/(1<<20))
		if took > part {
			t.Errorf("%d counters a group: the caches took %d bytes of the heap; their part is %d", n, took, part)
		}
		if held == 1_000_000 {
			t.Errorf("%d counters a group: the caches held every group; the test must overfill them", n)
		}
		runtime.KeepAlive(latches)
	}
}
