package changefeed

import (
	"reflect"
	"testing"

	"github.com/tallyserver/tally"
)

// cs returns counters from key, value pairs.
func cs(kv ...any) []tally.Counter {
	var out []tally.Counter
	for i := 0; i < len(kv); i += 2 {
		out = append(out, tally.Counter{Key: kv[i].(string), Value: int64(kv[i+1].(int))})
	}
	return out
}

func TestDiff(t *testing.T) {
	for _, c := range []struct {
		name      string
		cur, next []tally.Counter
		set       []tally.Counter
		deleted   []string
	}{
		{"nothing", nil, nil, nil, nil},
		{"same", cs("a", 1), cs("a", 1), nil, nil},
		{"first key", nil, cs("a", 0), cs("a", 0), nil},
		{"one of two changed", cs("a", 1, "b", 2), cs("a", 1, "b", 3), cs("b", 3), nil},
		{"added between", cs("a", 1, "c", 3), cs("a", 1, "b", 2, "c", 3), cs("b", 2), nil},
		{"deleted all", cs("a", 1, "b", 2), nil, nil, []string{"a", "b"}},
		{"deleted and set", cs("a", 1, "b", 2, "d", 4), cs("b", 5, "c", 3, "d", 4), cs("b", 5, "c", 3), []string{"a"}},
		{"bytewise order", cs("B", 1, "a", 1), cs("a", 2, "b", 1), cs("a", 2, "b", 1), []string{"B"}},
	} {
		set, deleted := Diff(c.cur, c.next)
		if !reflect.DeepEqual(set, c.set) || !reflect.DeepEqual(deleted, c.deleted) {
			t.Errorf("%s: Diff = %v, %v; want %v, %v", c.name, set, deleted, c.set, c.deleted)
		}
	}
}
