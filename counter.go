package tally

import (
	"slices"
	"strings"
)

// Counter is one group counter: a key and its int64 value.
type Counter struct {
	Key   string
	Value int64
}

// Limits of group counters.
const (
	MaxCounterKeyLen    = 128
	MaxCountersPerCall  = 20
	MaxCountersPerGroup = 20
)

// Mode says how update_group_counter combines a request's values with the
// stored ones.
type Mode uint8

const (
	ModeSet Mode = iota
	ModeIncrease
	ModeDecrease
)

// ParseMode returns the mode named s, matched exactly.
func ParseMode(s string) (Mode, bool) {
	switch s {
	case "Set":
		return ModeSet, true
	case "Increase":
		return ModeIncrease, true
	case "Decrease":
		return ModeDecrease, true
	}
	return 0, false
}

func (m Mode) String() string {
	switch m {
	case ModeSet:
		return "Set"
	case ModeIncrease:
		return "Increase"
	case ModeDecrease:
		return "Decrease"
	}
	return "Mode(?)"
}

// CheckCounterKey reports whether key is a valid counter key; field names
// the request field it came from, for the message. A key still in the
// request's bytes is checked as it is, without a string made of it.
func CheckCounterKey[K string | []byte](field string, key K) error {
	if len(key) == 0 || len(key) > MaxCounterKeyLen {
		return Errorf(ErrInvalidParameter, "%s is %d bytes; it must be 1 to %d", field, len(key), MaxCounterKeyLen)
	}
	return nil
}

// ApplyCounters computes the effect of one update_group_counter request on a
// group whose counters are cur, sorted by key. It returns the group's new
// counters, sorted by key, and the new value of each requested key in request
// order. It changes neither input, so a backend that fails on the result
// still holds the old state; every backend applies updates through it so that
// the rules (20 keys per group, int64 overflow) are the same everywhere.
//
// items must already be valid: 1..20 distinct keys of 1..128 bytes.
func ApplyCounters(cur []Counter, mode Mode, items []Counter) (next, out []Counter, err error) {
	next = slices.Clone(cur)
	out = make([]Counter, len(items))
	at := 0 // where the item after the last one would be, were items sorted
	for i, it := range items {
		// Clients mostly send a group's keys in one order, the stored
		// one among them, so the key after the last is tried before a
		// search: a 20-key update in order makes 20 comparisons, not 90.
		j, found := at, at < len(next) && next[at].Key == it.Key
		if !found {
			j, found = slices.BinarySearchFunc(next, it.Key, func(c Counter, k string) int { return strings.Compare(c.Key, k) })
		}
		at = j + 1
		var old int64
		if found {
			old = next[j].Value
		}
		v, ok := combine(old, mode, it.Value)
		if !ok {
			return nil, nil, Errorf(ErrInvalidParameter, "GroupCounter[%d]: %s %d by %d overflows int64", i, mode, old, it.Value)
		}
		if found {
			next[j].Value = v
		} else {
			next = slices.Insert(next, j, Counter{Key: it.Key, Value: v})
		}
		out[i] = Counter{Key: it.Key, Value: v}
	}
	if len(next) > MaxCountersPerGroup {
		return nil, nil, Errorf(ErrTooManyCounters, "the group would hold %d counter keys; the limit is %d", len(next), MaxCountersPerGroup)
	}
	return next, out, nil
}

// combine applies one item, reporting false when the result does not fit an
// int64.
func combine(old int64, mode Mode, v int64) (int64, bool) {
	switch mode {
	case ModeIncrease:
		r := old + v
		return r, (v >= 0) == (r >= old)
	case ModeDecrease:
		r := old - v
		return r, (v >= 0) == (r <= old)
	}
	return v, true
}

// SelectCounters picks the counters of a get_group_counter request from
// all, sorted by key: every counter when keys is empty, otherwise the
// requested ones that exist, in request order.
func SelectCounters(all []Counter, keys []string) []Counter {
	if len(keys) == 0 {
		return all
	}
	out := make([]Counter, 0, len(keys))
	for _, k := range keys {
		if j, ok := slices.BinarySearchFunc(all, k, func(c Counter, k string) int { return strings.Compare(c.Key, k) }); ok {
			out = append(out, all[j])
		}
	}
	return out
}

// RemoveCounters returns all, sorted by key, without the counters named in
// keys; with no keys it removes every counter. Missing keys are ignored.
func RemoveCounters(all []Counter, keys []string) []Counter {
	if len(keys) == 0 {
		return nil
	}
	return slices.DeleteFunc(slices.Clone(all), func(c Counter) bool { return slices.Contains(keys, c.Key) })
}
