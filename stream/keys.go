package stream

import (
	"slices"
	"strings"

	"github.com/tallyserver/tally"
)

// The sets here are small, sorted slices: a group holds at most
// tally.MaxCountersPerGroup counters, so a binary search and a copy beat a
// map in both time and memory, and a slice can be shared as it is.

func cmpCounter(c tally.Counter, key string) int { return strings.Compare(c.Key, key) }

// setCounter sets key to v in cs, sorted, in place where it can.
func setCounter(cs []tally.Counter, c tally.Counter) []tally.Counter {
	i, found := slices.BinarySearchFunc(cs, c.Key, cmpCounter)
	if found {
		cs[i].Value = c.Value
		return cs
	}
	return slices.Insert(cs, i, c)
}

// dropCounter removes key from cs, sorted, in place.
func dropCounter(cs []tally.Counter, key string) []tally.Counter {
	if i, found := slices.BinarySearchFunc(cs, key, cmpCounter); found {
		return slices.Delete(cs, i, i+1)
	}
	return cs
}

// addKey adds key to keys, sorted, in place where it can.
func addKey(keys []string, key string) []string {
	i, found := slices.BinarySearch(keys, key)
	if found {
		return keys
	}
	return slices.Insert(keys, i, key)
}

// dropKey removes key from keys, sorted, in place.
func dropKey(keys []string, key string) []string {
	if i, found := slices.BinarySearch(keys, key); found {
		return slices.Delete(keys, i, i+1)
	}
	return keys
}

// applied returns a new slice: cs, sorted, with set's values set and
// deleted's keys removed.
func applied(cs, set []tally.Counter, deleted []string) []tally.Counter {
	out := make([]tally.Counter, len(cs), len(cs)+len(set))
	copy(out, cs)
	for _, c := range set {
		out = setCounter(out, c)
	}
	for _, k := range deleted {
		out = dropCounter(out, k)
	}
	return out
}

// gone returns the keys of held, sorted, that cs, sorted, no longer holds.
func gone(held []string, cs []tally.Counter) []string {
	var out []string
	for _, k := range held {
		if _, found := slices.BinarySearchFunc(cs, k, cmpCounter); !found {
			out = append(out, k)
		}
	}
	return out
}

// keysOf sets keys, reusing its array, to the keys of cs, in order.
func keysOf(keys []string, cs []tally.Counter) []string {
	keys = keys[:0]
	for _, c := range cs {
		keys = append(keys, c.Key)
	}
	return keys
}
