package lincheck

import (
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
)

// Result is the outcome of one check of a history.
type Result struct {
	// Verdict is porcupine.Ok, porcupine.Illegal, or porcupine.Unknown
	// when the check ran out of time; only Ok shows the history
	// linearizable.
	Verdict porcupine.CheckResult
	// Calls counts the history's calls, Unknown those of them whose
	// outcome is unknown, and MaxInFlight the most calls that were under
	// way at one instant: how hard the history was to check, and how
	// much it could have caught.
	Calls, Unknown, MaxInFlight int
	// Took is how long the check ran.
	Took time.Duration

	info porcupine.LinearizationInfo
}

// Check checks a history of calls on one group, which had no counters when
// it began, against Model. It gives up after timeout, with the verdict
// Unknown: the search is exponential in the number of calls in flight at
// once, so a history must be kept short and narrow enough to finish.
func Check(ops []porcupine.Operation, timeout time.Duration) Result {
	start := time.Now()
	verdict, info := porcupine.CheckOperationsVerbose(Model, ops, timeout)
	r := Result{Verdict: verdict, Calls: len(ops), Took: time.Since(start), info: info}
	for _, op := range ops {
		if op.Output.(Output).Unknown {
			r.Unknown++
		}
	}
	r.MaxInFlight = maxInFlight(ops)
	return r
}

// Visualize writes porcupine's visualization of the check to path: an HTML
// page that draws every call on its client's line and, for a history that
// is not linearizable, the longest orders of calls the model could explain
// and where each one got stuck.
func (r Result) Visualize(path string) error {
	return porcupine.VisualizePath(Model, r.info, path)
}

// maxInFlight returns the most calls of ops under way at one instant, with
// an unknown call under way to the end of time.
func maxInFlight(ops []porcupine.Operation) int {
	type edge struct {
		t     int64
		delta int
	}
	edges := make([]edge, 0, 2*len(ops))
	for _, op := range ops {
		edges = append(edges, edge{op.Call, +1}, edge{op.Return, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.t != b.t {
			if a.t < b.t {
				return -1
			}
			return 1
		}
		// Intervals are closed, so a call that starts when another ends
		// overlaps it: starts sort before ends at the same instant.
		return b.delta - a.delta
	})
	n, most := 0, 0
	for _, e := range edges {
		n += e.delta
		most = max(most, n)
	}
	return most
}
