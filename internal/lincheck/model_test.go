package lincheck

import (
	"math"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tallyserver/tally"
)

// These tests check the model on histories written out by hand, whose
// verdicts can be seen by reading them, so that a model that accepts too
// much (and would pass every store) or too little is caught here rather
// than trusted by the tests that drive servers.

// never is the answer time of a call whose outcome is unknown.
const never = math.MaxInt64

func op(client int, call, ret int64, in Input, out Output) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Call: call, Return: ret, Input: in, Output: out}
}

func set(items ...tally.Counter) Input { return Input{Mode: tally.ModeSet, Items: items} }
func inc(items ...tally.Counter) Input { return Input{Mode: tally.ModeIncrease, Items: items} }
func dec(items ...tally.Counter) Input { return Input{Mode: tally.ModeDecrease, Items: items} }
func get(keys ...string) Input         { return Input{Get: true, Keys: keys} }
func ok(cs ...tally.Counter) Output    { return Output{Counters: cs} }
func c(k string, v int64) tally.Counter {
	return tally.Counter{Key: k, Value: v}
}

var unknown = Output{Unknown: true}

func TestModel(t *testing.T) {
	cases := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"sequential", []porcupine.Operation{
			op(0, 0, 10, set(c("a", 5), c("b", -1)), ok(c("a", 5), c("b", -1))),
			op(0, 20, 30, inc(c("b", 3)), ok(c("b", 2))),
			op(0, 40, 50, dec(c("a", 7), c("c", 1)), ok(c("a", -2), c("c", -1))),
			op(0, 60, 70, get(), ok(c("a", -2), c("b", 2), c("c", -1))),
			op(0, 80, 90, get("c", "nope", "a"), ok(c("c", -1), c("a", -2))),
		}, porcupine.Ok},
		{"a read after an answered write misses it", []porcupine.Operation{
			op(0, 0, 10, set(c("a", 1)), ok(c("a", 1))),
			op(1, 20, 30, get("a"), ok()),
		}, porcupine.Illegal},
		{"a read during a write may miss it", []porcupine.Operation{
			op(0, 0, 10, set(c("a", 1)), ok(c("a", 1))),
			op(1, 5, 30, get("a"), ok()),
		}, porcupine.Ok},
		{"a read during a write may see it", []porcupine.Operation{
			op(0, 0, 10, set(c("a", 1)), ok(c("a", 1))),
			op(1, 5, 30, get("a"), ok(c("a", 1))),
		}, porcupine.Ok},
		{"a read before a write sees it", []porcupine.Operation{
			op(1, 0, 10, get("a"), ok(c("a", 1))),
			op(0, 20, 30, set(c("a", 1)), ok(c("a", 1))),
		}, porcupine.Illegal},
		{"two concurrent increases answered the same value", []porcupine.Operation{
			op(0, 0, 10, inc(c("a", 1)), ok(c("a", 1))),
			op(1, 0, 10, inc(c("a", 1)), ok(c("a", 1))),
		}, porcupine.Illegal},
		{"two concurrent increases in either order", []porcupine.Operation{
			op(0, 0, 10, inc(c("a", 1)), ok(c("a", 2))),
			op(1, 0, 10, inc(c("a", 1)), ok(c("a", 1))),
			op(2, 20, 30, get(), ok(c("a", 2))),
		}, porcupine.Ok},
		{"a lost increase", []porcupine.Operation{
			op(0, 0, 10, inc(c("a", 1)), ok(c("a", 1))),
			op(1, 0, 10, inc(c("a", 1)), ok(c("a", 2))),
			op(2, 20, 30, get("a"), ok(c("a", 1))),
		}, porcupine.Illegal},
		// Each read alone is explained on its own key: a by a write
		// before 20, b by one after 40. Only one write sets both, and it
		// cannot be in both places, so the two keys must be checked
		// together; the same reads of two one-key writes are fine.
		{"a two-key write seen on one key only", []porcupine.Operation{
			op(0, 0, 100, set(c("a", 1), c("b", 1)), ok(c("a", 1), c("b", 1))),
			op(1, 10, 20, get("a"), ok(c("a", 1))),
			op(1, 30, 40, get("b"), ok()),
		}, porcupine.Illegal},
		{"two one-key writes seen one after the other", []porcupine.Operation{
			op(0, 0, 100, set(c("a", 1)), ok(c("a", 1))),
			op(2, 0, 100, set(c("b", 1)), ok(c("b", 1))),
			op(1, 10, 20, get("a"), ok(c("a", 1))),
			op(1, 30, 40, get("b"), ok()),
		}, porcupine.Ok},
		{"a two-key read sees half a write", []porcupine.Operation{
			op(0, 0, 100, inc(c("a", 1), c("b", 1)), ok(c("a", 1), c("b", 1))),
			op(1, 10, 20, get("a", "b"), ok(c("a", 1))),
		}, porcupine.Illegal},
		{"an unknown write that was applied", []porcupine.Operation{
			op(0, 0, never, inc(c("a", 1)), unknown),
			op(1, 10, 20, get("a"), ok(c("a", 1))),
		}, porcupine.Ok},
		{"an unknown write that was not", []porcupine.Operation{
			op(0, 0, never, inc(c("a", 1)), unknown),
			op(1, 10, 20, get("a"), ok()),
			op(1, 30, 40, inc(c("a", 2)), ok(c("a", 2))),
			op(1, 50, 60, get("a"), ok(c("a", 2))),
		}, porcupine.Ok},
		{"an unknown write seen, then unseen", []porcupine.Operation{
			op(0, 0, never, inc(c("a", 1)), unknown),
			op(1, 10, 20, get("a"), ok(c("a", 1))),
			op(1, 30, 40, get("a"), ok()),
		}, porcupine.Illegal},
		{"an unknown write applied before a call that began before it", []porcupine.Operation{
			op(1, 0, 10, get("a"), ok(c("a", 1))),
			op(0, 20, never, inc(c("a", 1)), unknown),
		}, porcupine.Illegal},
		{"an unknown read reads anything", []porcupine.Operation{
			op(0, 0, 10, set(c("a", 1)), ok(c("a", 1))),
			op(1, 20, never, get("a"), unknown),
		}, porcupine.Ok},
		{"an overflow is refused and changes nothing", []porcupine.Operation{
			op(0, 0, 10, set(c("a", math.MaxInt64)), ok(c("a", math.MaxInt64))),
			op(0, 20, 30, inc(c("b", 1), c("a", 1)), Output{Code: tally.ErrInvalidParameter}),
			op(0, 40, 50, get(), ok(c("a", math.MaxInt64))),
		}, porcupine.Ok},
		{"an overflow answered OK", []porcupine.Operation{
			op(0, 0, 10, set(c("a", math.MaxInt64)), ok(c("a", math.MaxInt64))),
			op(0, 20, 30, inc(c("a", 1)), ok(c("a", math.MinInt64))),
		}, porcupine.Illegal},
		{"a valid update refused", []porcupine.Operation{
			op(0, 0, 10, inc(c("a", 1)), Output{Code: tally.ErrInvalidParameter}),
		}, porcupine.Illegal},
		{"a read that failed", []porcupine.Operation{
			op(0, 0, 10, get("a"), Output{Code: tally.ErrGroupNotFound}),
		}, porcupine.Illegal},
		{"a read of every counter out of key order", []porcupine.Operation{
			op(0, 0, 10, set(c("b", 1), c("a", 2)), ok(c("b", 1), c("a", 2))),
			op(0, 20, 30, get(), ok(c("b", 1), c("a", 2))),
		}, porcupine.Illegal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Check(tc.ops, 5*time.Second)
			if r.Verdict != tc.want {
				t.Errorf("verdict %s, want %s", r.Verdict, tc.want)
			}
		})
	}
}

// TestModelKeyLimit shows that a history of more keys than a group may
// hold is checked whole: the 21st key is refused only because of the
// other twenty, which a check key by key would not know.
func TestModelKeyLimit(t *testing.T) {
	var ops []porcupine.Operation
	for i := range tally.MaxCountersPerGroup {
		k := string(rune('a' + i))
		ops = append(ops, op(0, int64(10*i), int64(10*i+5), set(c(k, 1)), ok(c(k, 1))))
	}
	last := int64(10 * tally.MaxCountersPerGroup)
	refused := op(0, last, last+5, set(c("z", 1)), Output{Code: tally.ErrTooManyCounters})
	if r := Check(append(ops, refused), 5*time.Second); r.Verdict != porcupine.Ok {
		t.Errorf("a 21st key refused: verdict %s, want Ok", r.Verdict)
	}
	accepted := op(0, last, last+5, set(c("z", 1)), ok(c("z", 1)))
	if r := Check(append(ops, accepted), 5*time.Second); r.Verdict != porcupine.Illegal {
		t.Errorf("a 21st key accepted: verdict %s, want Illegal", r.Verdict)
	}
}

func TestPartition(t *testing.T) {
	cases := []struct {
		name string
		ins  []Input
		want [][]int // the indexes of ins in each part, in order
	}{
		{"one key each", []Input{set(c("a", 1)), get("b"), inc(c("a", 1)), get("c")}, [][]int{{0, 2}, {1}, {3}}},
		{"a two-key write joins its keys", []Input{set(c("a", 1)), get("b"), inc(c("b", 1), c("c", 1)), get("c")}, [][]int{{0}, {1, 2, 3}}},
		{"a two-key read joins its keys", []Input{set(c("a", 1)), get("c"), get("a", "b"), set(c("b", 1))}, [][]int{{0, 2, 3}, {1}}},
		{"a read of every counter joins all", []Input{set(c("a", 1)), get(), set(c("b", 1))}, [][]int{{0, 1, 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ops []porcupine.Operation
			for i, in := range tc.ins {
				ops = append(ops, op(0, int64(i), int64(i), in, ok()))
			}
			parts := partition(ops)
			got := make([][]int, len(parts))
			for i, p := range parts {
				for _, o := range p {
					got[i] = append(got[i], int(o.Call))
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("parts %v, want %v", got, tc.want)
			}
			for i := range got {
				if len(got[i]) != len(tc.want[i]) {
					t.Fatalf("parts %v, want %v", got, tc.want)
				}
				for j := range got[i] {
					if got[i][j] != tc.want[i][j] {
						t.Fatalf("parts %v, want %v", got, tc.want)
					}
				}
			}
		})
	}
}
