package pebble

import (
	"unsafe"

	"github.com/tallyserver/tally"
)

// Each group latch keeps a cache of the counters of its groups, as the
// newest write applied under the latch left them, least recently used
// first out. A call on a cached group reads no table: a write reads the
// counters from the cache, changes them and writes the new record, and a
// read answers from the cache once the writes it may see are durable
// (the latch's pending commit, as for any read). The caches together hold
// at most their share of the memory budget (budget.go), each latch its
// share of that, and each
// at least the group used last, whatever its size, so that a hot group
// is always served from memory.
//
// What is cached may not be durable yet, exactly like the memtable: a
// reader waits for the latch's pending commit before it answers, and a
// storage fault, after which the memtable may hold what never reached the
// disk, clears every cache (fault.go). A cache is kept right by its
// writers: changeCounters puts the record it writes; CreateGroup and
// DestroyGroup, which delete a group's counters record, drop the entry.

// counterCache is one latch's cache. The caller holds the latch.
type counterCache struct {
	entries map[string]*cacheEntry
	// head is the entry used last, and head.prev the one used least
	// recently: the entries are a ring.
	head  *cacheEntry
	bytes int
	// hits and misses count the gets, for the metrics.
	hits, misses uint64
}

type cacheEntry struct {
	key      string
	seq      uint64
	counters []tally.Counter // sorted; replaced, never changed in place
	// typ is the group's type once a call has read it (its after-events
	// name it), "" before; a group keeps its type while its entry lives,
	// since create and destroy drop the entry.
	typ        tally.GroupType
	size       int
	prev, next *cacheEntry
}

// entryOverhead is about what an entry costs besides its key and its
// counters' keys: the entry, its map slot and the counters' headers.
const entryOverhead = int(unsafe.Sizeof(cacheEntry{})) + 48

func entrySize(key []byte, counters []tally.Counter) int {
	n := entryOverhead + len(key) + len(counters)*int(unsafe.Sizeof(tally.Counter{}))
	for _, c := range counters {
		n += len(c.Key)
	}
	return n
}

// get returns the Seq and counters cached at key, which the caller must
// not change.
func (c *counterCache) get(key []byte) (uint64, []tally.Counter, bool) {
	e := c.entries[string(key)]
	if e == nil {
		c.misses++
		return 0, nil, false
	}
	c.hits++
	c.touch(e)
	return e.seq, e.counters, true
}

// put caches the Seq and counters at key, which the cache keeps, with the
// group's type t, or the type cached already when t is "", and drops the
// entries used least recently until the cache holds at most limit bytes,
// or only this entry.
func (c *counterCache) put(key []byte, seq uint64, counters []tally.Counter, t tally.GroupType, limit int) {
	e := c.entries[string(key)]
	if e == nil {
		if c.entries == nil {
			c.entries = make(map[string]*cacheEntry)
		}
		e = &cacheEntry{key: string(key)}
		c.entries[e.key] = e
		c.link(e)
	} else {
		c.bytes -= e.size
		c.touch(e)
	}
	e.seq, e.counters, e.size = seq, counters, entrySize(key, counters)
	if t != "" {
		e.typ = t
	}
	c.bytes += e.size
	for c.bytes > limit && c.head.prev != c.head {
		c.remove(c.head.prev)
	}
}

// groupType returns the type cached with key's entry, "" if none is.
func (c *counterCache) groupType(key []byte) tally.GroupType {
	if e := c.entries[string(key)]; e != nil {
		return e.typ
	}
	return ""
}

// drop removes the entry at key, if any.
func (c *counterCache) drop(key []byte) {
	if e := c.entries[string(key)]; e != nil {
		c.remove(e)
	}
}

// clear empties the cache; its counts of gets go on.
func (c *counterCache) clear() {
	*c = counterCache{hits: c.hits, misses: c.misses}
}

// link puts e, which is in no ring, at the head.
func (c *counterCache) link(e *cacheEntry) {
	if c.head == nil {
		e.prev, e.next = e, e
	} else {
		e.next, e.prev = c.head, c.head.prev
		e.prev.next, e.next.prev = e, e
	}
	c.head = e
}

func (c *counterCache) unlink(e *cacheEntry) {
	if e.next == e {
		c.head = nil
	} else {
		e.prev.next, e.next.prev = e.next, e.prev
		if c.head == e {
			c.head = e.next
		}
	}
	e.prev, e.next = nil, nil
}

// touch makes e the entry used last.
func (c *counterCache) touch(e *cacheEntry) {
	if c.head != e {
		c.unlink(e)
		c.link(e)
	}
}

func (c *counterCache) remove(e *cacheEntry) {
	c.unlink(e)
	delete(c.entries, e.key)
	c.bytes -= e.size
}
