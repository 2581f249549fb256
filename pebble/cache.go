package pebble

import (
	"bytes"
	"hash/maphash"
	"slices"
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
// share of that, and each at least the group used last, whatever its
// size, so that a hot group is always served from memory.
//
// What is cached may not be durable yet, exactly like the memtable: a
// reader waits for the latch's pending commit before it answers, and a
// storage fault, after which the memtable may hold what never reached the
// disk, clears every cache (fault.go). A cache is kept right by its
// writers: changeCounters puts the record it writes; CreateGroup and
// DestroyGroup, which delete a group's counters record, drop the entry.
//
// A cache holds no Go pointers but its three slices. The counters of a
// million groups as Go values (an entry, a slice and a string for each
// key) were millions of objects that every garbage collection had to
// mark, and with the heap kept near the budget's limit it collected
// often: after a spread of writes over a million groups, collection took
// two fifths of the CPU of the reads that followed. Here each group is a
// slot of plain numbers, its key and counters record are bytes in the
// latch's arena, and the index maps the key's hash to the slot, so the
// collector has three objects to mark per latch whatever they hold. The
// price is decoding the record on a get, a few allocations, except for
// the entry put last, whose counters as Go values each cache keeps
// (last): a hot group's calls, which follow one another on one entry,
// decode nothing.

// counterCache is one latch's cache. The caller holds the latch. Its
// zero value is an empty cache.
type counterCache struct {
	// index finds a key's slot by its hash; the slot's key is compared,
	// so a hash shared by two keys costs one of them its entry, never a
	// wrong answer.
	index map[uint64]int32
	slots []cacheSlot
	// free lists the slots of removed entries, for reuse.
	free []int32
	// arena holds each entry's key and then its counters record, in a
	// region the entry may rewrite in place while the new record fits.
	// dead counts the bytes of regions no entry uses any more; they are
	// reclaimed when the arena is full (compact).
	arena []byte
	dead  int
	// head is the slot used last, and its prev the one used least
	// recently: the live slots are a ring, empty when len(index) is 0.
	head int32
	// bytes is what the entries cost (entrySize), which the limit
	// bounds.
	bytes int
	// last holds the counters of slot lastSlot as its newest put gave
	// them, when that put said they would never change; it is nil
	// otherwise, and a put of another slot or a removal makes it so.
	last     []tally.Counter
	lastSlot int32
	lastSeq  uint64
	// hits and misses count the gets, for the metrics.
	hits, misses uint64
}

// cacheSlot is an entry. Its region of the arena starts at off with the
// key, keyLen bytes, and then room bytes for the record, of which it uses
// recLen.
type cacheSlot struct {
	hash                      uint64
	off, keyLen, recLen, room uint32
	prev, next                int32
	typ                       int8 // 1 + the group type's Index, 0 before a call read it
}

// latchCacheLimit returns the limit, in entrySize bytes, of each of n
// latches' caches that share the counters' part of the budget. What a
// cache takes from the heap is more than its entries' bytes: its arena
// keeps up to a quarter more in dead regions, and its slots and its index
// grow by doubling, so that just after they double they are half empty.
// Filled with groups of 1 and of 20 counters, caches given the whole part
// for their entries took 1.36 and 1.48 times it; given half, 0.90 and
// 0.82 times (TestCounterCacheWithinShare), and half leaves room for the
// worst case, doubled slots and index, about 1.9 times the entries.
func latchCacheLimit(part int64, n int) int {
	return int(part / 2 / int64(n))
}

// cacheSeed keys the hashes of every cache.
var cacheSeed = maphash.MakeSeed()

// slotOverhead is about what an entry costs besides its region: the slot
// and its place in the index.
const slotOverhead = int(unsafe.Sizeof(cacheSlot{})) + 16

// entrySize is what an entry of key with a record of n bytes costs. The
// arena may hold up to a quarter more in dead regions (compact).
func entrySize(key []byte, n int) int { return slotOverhead + len(key) + n }

// get returns the Seq and counters cached at key, which the caller must
// not change.
func (c *counterCache) get(key []byte) (uint64, []tally.Counter, bool) {
	seq, cs, _, ok := c.lookup(key)
	return seq, cs, ok
}

// getOwned is get for a caller that keeps the counters: it copies them
// only when the cache hands them out shared (last), not when it has just
// decoded them.
func (c *counterCache) getOwned(key []byte) (uint64, []tally.Counter, bool) {
	seq, cs, shared, ok := c.lookup(key)
	if shared {
		cs = slices.Clone(cs)
	}
	return seq, cs, ok
}

// lookup returns what get does, and whether the counters are shared.
func (c *counterCache) lookup(key []byte) (seq uint64, cs []tally.Counter, shared, ok bool) {
	i, ok := c.find(key)
	if !ok {
		c.misses++
		return 0, nil, false, false
	}
	c.hits++
	c.touch(i)
	if c.last != nil && c.lastSlot == i {
		return c.lastSeq, c.last, true, true
	}
	s := &c.slots[i]
	rec := c.arena[s.off+s.keyLen : s.off+s.keyLen+s.recLen]
	seq, cs, err := decodeCountersShared(rec)
	if err != nil {
		// The cache holds only records it encoded itself.
		panic("pebble: corrupt counter cache: " + err.Error())
	}
	return seq, cs, false, true
}

// put caches the Seq and counters at key, with the group's type t, or the
// type cached already when t is "", and drops the entries used least
// recently until the cache holds at most limit bytes, or only this entry.
// It returns the counters record it cached, valid until the cache is next
// used: what a write stores in Pebble. When frozen says that counters will
// never change, the cache may hand them out as they are, until the next
// put.
func (c *counterCache) put(key []byte, seq uint64, counters []tally.Counter, frozen bool, t tally.GroupType, limit int) []byte {
	i, ok := c.find(key)
	if ok {
		c.touch(i)
		s := &c.slots[i]
		at := s.off + s.keyLen
		if rec := appendCounters(c.arena[at:at:at+s.room], seq, counters); len(rec) <= int(s.room) {
			// It fitted where the last one was, and appendCounters wrote
			// it there. (One that does not goes to a new array, and
			// then to a new region.)
			c.bytes += len(rec) - int(s.recLen)
			s.recLen = uint32(len(rec))
		} else {
			c.remove(i)
			ok = false
		}
	}
	if !ok {
		i = c.add(key, seq, counters)
	}
	s := &c.slots[i]
	if t != "" {
		s.typ = int8(t.Index() + 1)
	}
	for c.bytes > limit && c.slots[c.head].prev != c.head {
		c.remove(c.slots[c.head].prev)
	}
	c.last, c.lastSlot, c.lastSeq = nil, i, seq
	if frozen && counters != nil {
		c.last = counters
	}
	s = &c.slots[i]
	return c.arena[s.off+s.keyLen : s.off+s.keyLen+s.recLen : s.off+s.keyLen+s.recLen]
}

// groupType returns the type cached with key's entry, "" if none is.
func (c *counterCache) groupType(key []byte) tally.GroupType {
	if i, ok := c.find(key); ok && c.slots[i].typ > 0 {
		return tally.GroupTypes[c.slots[i].typ-1]
	}
	return ""
}

// drop removes the entry at key, if any.
func (c *counterCache) drop(key []byte) {
	if i, ok := c.find(key); ok {
		c.remove(i)
	}
}

// clear empties the cache; its counts of gets go on.
func (c *counterCache) clear() {
	*c = counterCache{hits: c.hits, misses: c.misses}
}

// len returns how many groups the cache holds.
func (c *counterCache) len() int { return len(c.index) }

// find returns the slot of key.
func (c *counterCache) find(key []byte) (int32, bool) {
	i, ok := c.index[maphash.Bytes(cacheSeed, key)]
	if !ok {
		return 0, false
	}
	s := &c.slots[i]
	return i, bytes.Equal(c.arena[s.off:s.off+s.keyLen], key)
}

// add makes a new entry, the one used last, and returns its slot. An
// entry of another key with the same hash gives way.
func (c *counterCache) add(key []byte, seq uint64, counters []tally.Counter) int32 {
	h := maphash.Bytes(cacheSeed, key)
	if i, ok := c.index[h]; ok {
		c.remove(i)
	}
	n := len(key) + maxCountersLen(counters)
	if len(c.arena)+n > cap(c.arena) {
		c.compact(n)
	}
	off := len(c.arena)
	c.arena = append(c.arena, key...)
	c.arena = appendCounters(c.arena, seq, counters)
	recLen := len(c.arena) - off - len(key)

	var i int32
	if k := len(c.free); k > 0 {
		i, c.free = c.free[k-1], c.free[:k-1]
	} else {
		i = int32(len(c.slots))
		c.slots = append(c.slots, cacheSlot{})
	}
	c.slots[i] = cacheSlot{hash: h, off: uint32(off), keyLen: uint32(len(key)), recLen: uint32(recLen), room: uint32(recLen)}
	if c.index == nil {
		c.index = make(map[uint64]int32)
	}
	c.index[h] = i
	c.link(i)
	c.bytes += entrySize(key, recLen)
	return i
}

// minArenaSlack keeps a small arena from being compacted on every new
// entry.
const minArenaSlack = 256

// compact makes room for n more bytes: it copies the live regions into a
// new arena a quarter larger than they and n need, leaving the dead ones
// behind. An arena is only ever grown here, so it is never more than a
// quarter more than what its entries held when it was last compacted,
// plus what they have added since.
func (c *counterCache) compact(n int) {
	live := len(c.arena) - c.dead
	arena := make([]byte, 0, max((live+n)*5/4, live+n+minArenaSlack))
	for _, i := range c.index {
		s := &c.slots[i]
		off := len(arena)
		arena = append(arena, c.arena[s.off:s.off+s.keyLen+s.room]...)
		s.off = uint32(off)
	}
	c.arena, c.dead = arena, 0
}

// link puts slot i, which is in no ring, at the head; the ring is empty
// when i is the index's only entry.
func (c *counterCache) link(i int32) {
	s := &c.slots[i]
	if len(c.index) == 1 {
		s.prev, s.next = i, i
	} else {
		h := &c.slots[c.head]
		s.next, s.prev = c.head, h.prev
		c.slots[s.prev].next, h.prev = i, i
	}
	c.head = i
}

func (c *counterCache) unlink(i int32) {
	s := &c.slots[i]
	if s.next != i {
		c.slots[s.prev].next, c.slots[s.next].prev = s.next, s.prev
		if c.head == i {
			c.head = s.next
		}
	}
}

// touch makes slot i the one used last.
func (c *counterCache) touch(i int32) {
	if c.head != i {
		c.unlink(i)
		c.link(i)
	}
}

func (c *counterCache) remove(i int32) {
	if c.lastSlot == i {
		c.last = nil
	}
	c.unlink(i)
	s := &c.slots[i]
	delete(c.index, s.hash)
	c.bytes -= entrySize(c.arena[s.off:s.off+s.keyLen], int(s.recLen))
	c.dead += int(s.keyLen + s.room)
	*s = cacheSlot{}
	c.free = append(c.free, i)
}
