package changefeed

import (
	"strings"

	"github.com/tallyserver/tally"
)

// Diff returns the change from a group's counters cur to next, both
// sorted by key: the keys whose values next sets, or that only next
// holds, with their values in next; and the keys only cur holds. Both
// are sorted, and nil when empty, and owned by the caller.
func Diff(cur, next []tally.Counter) (set []tally.Counter, deleted []string) {
	i, j := 0, 0
	if len(next) > 0 {
		// At most every key of next is set: one allocation, where
		// growing by appends took six for a 20-key change.
		set = make([]tally.Counter, 0, len(next))
	}
	for i < len(cur) || j < len(next) {
		switch {
		case j == len(next) || i < len(cur) && strings.Compare(cur[i].Key, next[j].Key) < 0:
			deleted = append(deleted, cur[i].Key)
			i++
		case i == len(cur) || strings.Compare(cur[i].Key, next[j].Key) > 0:
			set = append(set, next[j])
			j++
		default:
			if cur[i].Value != next[j].Value {
				set = append(set, next[j])
			}
			i++
			j++
		}
	}
	if len(set) == 0 {
		set = nil
	}
	return set, deleted
}
