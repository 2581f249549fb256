package lincheck_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
	"github.com/tallyserver/tally/internal/lincheck"
)

// workload says what the histories of a test hold. Porcupine's search is
// exponential in the calls in flight at once, so a test runs several
// short histories, each on a group of its own, rather than one long one.
type workload struct {
	rounds  int      // histories, each checked on its own
	clients int      // goroutines making calls at once, over all nodes
	calls   int      // calls each client makes in a history
	keys    []string // the counters of the group that the calls name
}

// checkTimeout bounds each check. A check that runs out of time fails the
// test: a history too wide to check proves nothing.
const checkTimeout = 10 * time.Second

// runRounds runs w's histories through nodes, each on a fresh group, checks
// each, and returns the results. Each history's calls come from a generator
// seeded with seed, the round and the client, so that a failing run's calls
// can be made again; only the interleaving differs.
func runRounds(t *testing.T, nodes []*node, w workload, seed uint64) []lincheck.Result {
	t.Helper()
	var results []lincheck.Result
	for r := range w.rounds {
		group := fmt.Sprintf("lin-%d", r)
		// A node other than the first creates the group, so that a node
		// sees a group it did not create from the very first call.
		nodes[(r+1)%len(nodes)].createGroup(t, group)
		start := time.Now()
		ops := history(t, nodes, group, w, seed, uint64(r))
		took := time.Since(start)
		res := lincheck.Check(ops, checkTimeout)
		t.Logf("round %d: %d calls (%d unknown, at most %d in flight) in %v; check %s in %v",
			r, res.Calls, res.Unknown, res.MaxInFlight, took.Round(time.Millisecond), res.Verdict, res.Took.Round(time.Millisecond))
		results = append(results, res)
	}
	return results
}

// history runs one round's calls on group and returns what was recorded.
//
// It opens with two calls one after the other: client 0 sets two counters
// on node 0 and, once that is answered, client 1 reads every counter on
// node 1. Nothing else is under way then, so the read must see the write;
// a store that answers a write before another node can see it fails there
// whatever the scheduling of the calls that follow. Then every client
// makes its calls at once, each on a node picked at random per call.
func history(t *testing.T, nodes []*node, group string, w workload, seed, round uint64) []porcupine.Operation {
	rec := lincheck.NewRecorder()
	opening := rand.New(rand.NewPCG(seed, round<<32|0xffff))
	call(t, rec, 0, nodes[0], group, lincheck.Input{Mode: tally.ModeSet, Items: []tally.Counter{
		{Key: w.keys[0], Value: opening.Int64N(2001) - 1000},
		{Key: w.keys[1], Value: opening.Int64N(2001) - 1000},
	}})
	call(t, rec, 1, nodes[1%len(nodes)], group, lincheck.Input{Get: true})

	var wg sync.WaitGroup
	for c := range w.clients {
		rng := rand.New(rand.NewPCG(seed, round<<32|uint64(c)))
		wg.Go(func() {
			for range w.calls {
				call(t, rec, c, nodes[rng.IntN(len(nodes))], group, randomInput(rng, w.keys))
			}
		})
	}
	wg.Wait()
	return rec.Operations()
}

// randomInput picks a call: an update of one or two keys in any mode, or a
// read of one or two keys or of every counter. Values stay small, so that
// no update can overflow and every refusal would be a fault.
func randomInput(rng *rand.Rand, keys []string) lincheck.Input {
	pick := func() []string {
		n := 1 + rng.IntN(2)
		perm := rng.Perm(len(keys))[:n]
		out := make([]string, n)
		for i, p := range perm {
			out[i] = keys[p]
		}
		return out
	}
	if rng.IntN(100) < 45 {
		if rng.IntN(5) == 0 {
			return lincheck.Input{Get: true}
		}
		return lincheck.Input{Get: true, Keys: pick()}
	}
	mode := []tally.Mode{tally.ModeSet, tally.ModeIncrease, tally.ModeDecrease}[rng.IntN(3)]
	var items []tally.Counter
	for _, k := range pick() {
		v := 1 + rng.Int64N(9)
		if mode == tally.ModeSet {
			v = rng.Int64N(2001) - 1000
		}
		items = append(items, tally.Counter{Key: k, Value: v})
	}
	return lincheck.Input{Mode: mode, Items: items}
}

// call makes one call through n as client who and records it. A call with
// no answer, an answer that is no envelope, or one answered 10002, has an
// unknown outcome. Any other failure cannot come from these calls on a
// sound server, so it is reported as well as recorded.
func call(t *testing.T, rec *lincheck.Recorder, who int, n *node, group string, in lincheck.Input) {
	ctx := context.Background()
	c := rec.Begin(who, in, fmt.Sprintf("node %d", n.index))
	var ans *client.GroupCounterResponse
	var err error
	if in.Get {
		ans, err = n.api.GetGroupCounter(ctx, client.GetGroupCounterRequest{GroupID: group, GroupCounterKeys: in.Keys})
	} else {
		ans, err = n.api.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{GroupID: group, Mode: client.Mode(in.Mode.String()), GroupCounter: in.Items})
	}
	var refused *client.Error
	switch {
	case err == nil:
		c.End(lincheck.Output{Code: tally.OK, Counters: ans.GroupCounter})
	case errors.As(err, &refused) && refused.Code != tally.ErrInternal:
		c.End(lincheck.Output{Code: refused.Code})
		t.Errorf("client %d: node %d: %+v: %v", who, n.index, in, err)
	default:
		c.End(lincheck.Output{Unknown: true})
		t.Logf("client %d: node %d: outcome unknown: %v", who, n.index, err)
	}
}

// wantLinearizable fails the test for every result that is not Ok, and
// writes the visualization of each to a file it keeps, named in the log.
func wantLinearizable(t *testing.T, results []lincheck.Result) {
	t.Helper()
	for i, res := range results {
		switch res.Verdict {
		case porcupine.Ok:
			continue
		case porcupine.Unknown:
			t.Errorf("round %d: the check ran out of its %v; make the histories shorter or narrower", i, checkTimeout)
		default:
			t.Errorf("round %d: the history is not linearizable", i)
		}
		f, err := os.CreateTemp("", fmt.Sprintf("lincheck-%s-round%d-*.html", sanitize(t.Name()), i))
		if err != nil {
			t.Error(err)
			continue
		}
		f.Close()
		if err := res.Visualize(f.Name()); err != nil {
			t.Errorf("round %d: writing the visualization: %v", i, err)
			continue
		}
		t.Logf("round %d: visualization in %s", i, f.Name())
	}
}

// sanitize makes a test's name fit a file name.
func sanitize(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}
