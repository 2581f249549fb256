package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
)

// verify reads the counters back from the server at addr, which where
// names in the report: each must equal the OK answers of the calls that
// moved it, summed over the scenarios that moved it (on many nodes of one
// database, several do), and the 20 keys of one group, moved together by
// every call, must all be equal.
func verify(w io.Writer, where, addr, target string, conns, groups int, scenarios []*scenario) error {
	want := map[string]int64{}
	for _, sc := range scenarios {
		if sc.fails > 0 {
			return fmt.Errorf("%s: %d calls were not answered OK (first: %v)", sc.name, sc.fails, sc.err)
		}
		if sc.moves != "" {
			want[sc.moves] += sc.oks.Load()
		}
	}
	var failed bool
	check := func(what string, got, want int64) {
		mark := "ok"
		if got != want {
			mark, failed = "MISMATCH", true
		}
		fmt.Fprintf(w, "check %-40s counter %d, OK answers %d: %s\n", where+what, got, want, mark)
	}
	values := func(group string) ([]int64, error) {
		var vs []int64
		err := runEach(addr, target, 1, 1, func(b []byte, _ int) []byte {
			return fmt.Appendf(b, `{"GroupId":%q}`, group)
		}, func(_ int, ans []byte) error {
			vs = counterValues(ans)
			return nil
		})
		return vs, err
	}
	if n, ok := want["hot"]; ok {
		vs, err := values("hot")
		if err != nil {
			return err
		}
		check("hot key", sum(vs), n)
	}
	if n, ok := want["multi"]; ok {
		vs, err := values("multi")
		if err != nil {
			return err
		}
		if len(vs) != 20 && n > 0 {
			return fmt.Errorf("group multi has %d counters, not 20", len(vs))
		}
		lo, hi := slices.Min(vs), slices.Max(vs)
		if lo != hi {
			fmt.Fprintf(w, "check 20 keys: TORN, values range from %d to %d\n", lo, hi)
			failed = true
		}
		check("20 keys, each", hi, n)
	}
	if n, ok := want["spread"]; ok {
		var total atomic.Int64
		err := runEach(addr, target, conns, groups, func(b []byte, i int) []byte {
			return fmt.Appendf(b, `{"GroupId":"s%d"}`, i)
		}, func(_ int, ans []byte) error {
			total.Add(sum(counterValues(ans)))
			return nil
		})
		if err != nil {
			return err
		}
		check(fmt.Sprintf("spread: sum over %d groups", groups), total.Load(), n)
	}
	if failed {
		return errors.New("a counter does not match the OK answers")
	}
	return nil
}

func sum(vs []int64) int64 {
	var t int64
	for _, v := range vs {
		t += v
	}
	return t
}
