package tally

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestApplyCounters(t *testing.T) {
	cur := []Counter{{"a", 1}, {"c", math.MaxInt64}}
	for _, c := range []struct {
		name  string
		mode  Mode
		items []Counter
		next  []Counter
		out   []Counter
		code  Code
	}{
		{"set new and old", ModeSet, []Counter{{"b", 5}, {"a", -1}},
			[]Counter{{"a", -1}, {"b", 5}, {"c", math.MaxInt64}}, []Counter{{"b", 5}, {"a", -1}}, OK},
		{"set in order, a new key among old", ModeSet, []Counter{{"a", 2}, {"b", 3}, {"c", 4}},
			[]Counter{{"a", 2}, {"b", 3}, {"c", 4}}, []Counter{{"a", 2}, {"b", 3}, {"c", 4}}, OK},
		{"increase missing starts at 0", ModeIncrease, []Counter{{"z", 3}},
			[]Counter{{"a", 1}, {"c", math.MaxInt64}, {"z", 3}}, []Counter{{"z", 3}}, OK},
		{"decrease below zero", ModeDecrease, []Counter{{"a", 3}},
			[]Counter{{"a", -2}, {"c", math.MaxInt64}}, []Counter{{"a", -2}}, OK},
		{"increase by a negative", ModeIncrease, []Counter{{"c", -1}},
			[]Counter{{"a", 1}, {"c", math.MaxInt64 - 1}}, []Counter{{"c", math.MaxInt64 - 1}}, OK},
		{"overflow fails the whole request", ModeIncrease, []Counter{{"a", 1}, {"c", 1}}, nil, nil, ErrInvalidParameter},
		{"decrease by MinInt64 overflows from 1", ModeDecrease, []Counter{{"a", math.MinInt64}}, nil, nil, ErrInvalidParameter},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := slices.Clone(cur)
			next, out, err := ApplyCounters(cur, c.mode, c.items)
			if ErrorCode(err) != c.code {
				t.Fatalf("code %d (%v), want %d", ErrorCode(err), err, c.code)
			}
			if !slices.Equal(next, c.next) || !slices.Equal(out, c.out) {
				t.Fatalf("got %v, %v; want %v, %v", next, out, c.next, c.out)
			}
			if !slices.Equal(cur, before) {
				t.Fatal("ApplyCounters changed its input")
			}
		})
	}
}

func TestApplyCountersKeyLimit(t *testing.T) {
	var cur []Counter
	for i := range 19 {
		cur = append(cur, Counter{string(rune('a' + i)), 0})
	}
	if _, _, err := ApplyCounters(cur, ModeSet, []Counter{{"y", 1}}); err != nil {
		t.Fatalf("20th key: %v", err)
	}
	_, _, err := ApplyCounters(cur, ModeSet, []Counter{{"y", 1}, {"z", 1}})
	if ErrorCode(err) != ErrTooManyCounters {
		t.Fatalf("21st key: %v", err)
	}
}

func TestSelectAndRemove(t *testing.T) {
	all := []Counter{{"a", 1}, {"b", 2}, {"c", 3}}
	if got := SelectCounters(all, []string{"c", "x", "a"}); !slices.Equal(got, []Counter{{"c", 3}, {"a", 1}}) {
		t.Errorf("SelectCounters = %v", got)
	}
	if got := RemoveCounters(all, []string{"b", "x"}); !slices.Equal(got, []Counter{{"a", 1}, {"c", 3}}) {
		t.Errorf("RemoveCounters = %v", got)
	}
	if got := RemoveCounters(all, nil); len(got) != 0 {
		t.Errorf("RemoveCounters(all) = %v", got)
	}
	if len(all) != 3 || all[1].Key != "b" {
		t.Errorf("inputs changed: %v", all)
	}
}

// BenchmarkApplyCounters measures an update of a group's counters: one hot
// key, and the twenty keys of a full group given in their stored order and
// in reverse.
func BenchmarkApplyCounters(b *testing.B) {
	var full []Counter
	for i := range MaxCountersPerGroup {
		full = append(full, Counter{Key: fmt.Sprintf("key%02d", i), Value: int64(i)})
	}
	reversed := slices.Clone(full)
	slices.Reverse(reversed)
	for _, c := range []struct {
		name  string
		cur   []Counter
		items []Counter
	}{
		{"1-key", full[:1], full[:1]},
		{"20-keys-in-order", full, full},
		{"20-keys-reversed", full, reversed},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ApplyCounters(c.cur, ModeIncrease, c.items); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
