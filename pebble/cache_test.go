package pebble

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tallyserver/tally"
)

// TestCounterCache drives one latch's cache through puts, gets and drops,
// and checks which keys it holds, least recently used first out, never
// above its limit unless it holds one entry.
func TestCounterCache(t *testing.T) {
	one := []tally.Counter{{Key: "k", Value: 1}}
	size := entrySize([]byte("a"), one)
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
				cc.put([]byte(o.key), 1, one, "", c.limit)
			case "get":
				cc.get([]byte(o.key))
			case "drop":
				cc.drop([]byte(o.key))
			case "clear":
				cc.clear()
			}
		}
		var got []string
		for e, n := cc.head, 0; e != nil && n < 10; e, n = e.next, n+1 {
			got = append(got, e.key)
			if e.next == cc.head {
				break
			}
		}
		if !slices.Equal(got, c.want) || len(cc.entries) != len(c.want) || cc.bytes != len(c.want)*size {
			t.Errorf("%s: holds %v (%d entries, %d bytes), want %v (%d bytes)", c.name, got, len(cc.entries), cc.bytes, c.want, len(c.want)*size)
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
	cc.put(k, 1, one, tally.GroupPublic, size*4)
	cc.put(k, 2, one, "", size*4)
	if got := cc.groupType(k); got != tally.GroupPublic {
		t.Errorf("the type after a put without one: %q, want Public", got)
	}
	cc.drop(k)
	if got := cc.groupType(k); got != "" {
		t.Errorf("the type after a drop: %q, want none", got)
	}
}
