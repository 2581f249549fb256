// Package lincheck checks that a history of group counter calls is
// linearizable: that every call seems to take effect at one instant between
// the moment it was sent and the moment its answer arrived, in an order in
// which one group, running the calls one at a time by the same rules as the
// stores (tally.ApplyCounters and tally.SelectCounters), gives every answer
// that was given. It holds the model of a group's counters that porcupine
// checks against, a recorder of concurrent histories, and the check; the
// tests that drive real servers through HTTP are this package's tests.
package lincheck

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/tallyserver/tally"
)

// Input is one call on the group: update_group_counter, or
// get_group_counter when Get is set.
type Input struct {
	Get bool
	// Mode and Items are an update's.
	Mode  tally.Mode
	Items []tally.Counter
	// Keys are a get's GroupCounterKeys; none asks for every counter.
	Keys []string
}

// Output is what a call was answered.
type Output struct {
	// Unknown says that the call's outcome is unknown: it was answered
	// 10002, which the store contract allows for a write that may or may
	// not have been applied, or it got no answer at all.
	Unknown bool
	// Code is the answer's ErrorCode.
	Code tally.Code
	// Counters are an OK answer's GroupCounter: an update's new values in
	// request order, or what a get read.
	Counters []tally.Counter
}

// Model is the sequential specification of one group's counters, starting
// from a group that has none. Its state is the group's counters sorted by
// key, as []tally.Counter, which Step never changes in place: porcupine
// keeps states it has seen and comes back to them.
var Model = porcupine.Model{
	Partition:         partition,
	Init:              func() any { return []tally.Counter(nil) },
	Step:              step,
	Equal:             func(a, b any) bool { return slices.Equal(a.([]tally.Counter), b.([]tally.Counter)) },
	Hash:              hash,
	DescribeOperation: describeOperation,
	DescribeState:     func(s any) string { return describeCounters(s.([]tally.Counter)) },
	DescribeOperationMetadata: func(m any) string {
		if m == nil {
			return ""
		}
		return fmt.Sprint(m)
	},
}

// step applies one call to the counters in state and says whether the call
// could have been answered what it was.
func step(state, input, output any) (bool, any) {
	cur := state.([]tally.Counter)
	in, out := input.(Input), output.(Output)
	if in.Get {
		// A read changes nothing, so an unknown one could have read
		// anything.
		if out.Unknown {
			return true, cur
		}
		return out.Code == tally.OK && slices.Equal(tally.SelectCounters(cur, in.Keys), out.Counters), cur
	}
	next, values, err := tally.ApplyCounters(cur, in.Mode, in.Items)
	if out.Unknown {
		// The call may or may not have been applied. The recorder gives
		// it an answer at the end of time, so porcupine may place it
		// after every other call, where no answer can show it: that
		// covers a call that was not applied. Placed anywhere earlier,
		// it was.
		if err != nil {
			return true, cur
		}
		return true, next
	}
	if err != nil {
		// A refused update changes nothing, and is answered its code.
		return out.Code == tally.ErrorCode(err), cur
	}
	return out.Code == tally.OK && slices.Equal(values, out.Counters), next
}

// keysOf returns the keys a call touches; all is set for a get of every
// counter, which touches every key there is.
func keysOf(in Input) (keys []string, all bool) {
	if in.Get {
		return in.Keys, len(in.Keys) == 0
	}
	keys = make([]string, len(in.Items))
	for i, it := range in.Items {
		keys[i] = it.Key
	}
	return keys, false
}

// partition splits a history into sets of calls whose keys no call of
// another set touches, so that porcupine searches each set on its own: the
// counters of one key change and read independently of those of another,
// except where one call touches both. Such a call joins its keys into one
// set, so that a request of two keys is checked as one step on both, and a
// get of every counter joins them all.
//
// Keys are independent only while the group cannot pass
// tally.MaxCountersPerGroup, the one rule that couples them; a history that
// names more keys than that is checked whole.
func partition(history []porcupine.Operation) [][]porcupine.Operation {
	parent := map[string]string{}
	var find func(k string) string
	find = func(k string) string {
		p, ok := parent[k]
		if !ok {
			parent[k] = k
			return k
		}
		if p == k {
			return k
		}
		r := find(p)
		parent[k] = r
		return r
	}
	union := func(a, b string) { parent[find(a)] = find(b) }

	everything := false
	for _, op := range history {
		keys, all := keysOf(op.Input.(Input))
		everything = everything || all
		for _, k := range keys {
			union(k, keys[0])
		}
	}
	if everything || len(parent) > tally.MaxCountersPerGroup {
		return [][]porcupine.Operation{history}
	}

	index := map[string]int{}
	var parts [][]porcupine.Operation
	for _, op := range history {
		keys, _ := keysOf(op.Input.(Input))
		r := find(keys[0])
		i, ok := index[r]
		if !ok {
			i = len(parts)
			index[r] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], op)
	}
	return parts
}

// hash hashes a state, so that porcupine compares only states that may be
// equal.
func hash(state any) uint64 {
	h := fnv.New64a()
	for _, c := range state.([]tally.Counter) {
		fmt.Fprintf(h, "%s\x00%d\x00", c.Key, c.Value)
	}
	return h.Sum64()
}

// describeOperation names a call and its answer for the visualization, as
// "Increase a+2 b+1 → a=5 b=1" or "get a → a=5".
func describeOperation(input, output any) string {
	in, out := input.(Input), output.(Output)
	var b strings.Builder
	if in.Get {
		b.WriteString("get")
		if len(in.Keys) == 0 {
			b.WriteString(" *")
		}
		for _, k := range in.Keys {
			b.WriteString(" " + k)
		}
	} else {
		b.WriteString(in.Mode.String())
		sign := map[tally.Mode]string{tally.ModeSet: "=", tally.ModeIncrease: "+", tally.ModeDecrease: "-"}[in.Mode]
		for _, it := range in.Items {
			fmt.Fprintf(&b, " %s%s%d", it.Key, sign, it.Value)
		}
	}
	b.WriteString(" → ")
	switch {
	case out.Unknown:
		b.WriteString("unknown")
	case out.Code != tally.OK:
		fmt.Fprintf(&b, "%d", int(out.Code))
	default:
		b.WriteString(describeCounters(out.Counters))
	}
	return b.String()
}

func describeCounters(cs []tally.Counter) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s=%d", c.Key, c.Value)
	}
	return "{" + strings.Join(parts, " ") + "}"
}
