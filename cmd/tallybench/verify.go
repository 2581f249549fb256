package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync/atomic"

	tallyclient "github.com/tallyserver/tally/client"
)

// verify reads the counters back from the server at addr, which where
// names in the report: each must equal the OK answers of the calls that
// moved it, summed over the scenarios that moved it (on many nodes of one
// database, several do), and the 20 keys of one group, moved together by
// every call, must all be equal.
func verify(w io.Writer, where, addr string, conns, groups int, scenarios []*scenario) error {
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
	c, closeIdle, err := benchClient(addr, conns)
	if err != nil {
		return err
	}
	defer closeIdle()
	values := func(group string) ([]int64, error) {
		ans, err := c.GetGroupCounter(context.Background(), tallyclient.GetGroupCounterRequest{GroupID: group})
		if err != nil {
			return nil, err
		}
		vs := make([]int64, len(ans.GroupCounter))
		for i, kv := range ans.GroupCounter {
			vs[i] = kv.Value
		}
		return vs, nil
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
	for _, sp := range []struct {
		moves, prefix string
		groups        int
	}{{"spread", "s", groups}, {"big", "b", bigGroups(scenarios)}} {
		n, ok := want[sp.moves]
		if !ok {
			continue
		}
		var total atomic.Int64
		err := parallel(sp.groups, conns, func(_, i int) error {
			vs, err := values(sp.prefix + strconv.Itoa(i))
			total.Add(sum(vs))
			return err
		})
		if err != nil {
			return err
		}
		check(fmt.Sprintf("%s: sum over %d groups", sp.moves, sp.groups), total.Load(), n)
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

// bigGroups returns how many groups the "big" scenario among scenarios
// spreads its calls over, 0 if there is none.
func bigGroups(scenarios []*scenario) int {
	for _, sc := range scenarios {
		if sc.moves == "big" {
			return sc.groups
		}
	}
	return 0
}
