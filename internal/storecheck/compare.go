package storecheck

import (
	"context"
	"fmt"

	"github.com/tallyserver/tally"
)

// Report is the outcome of Compare: the summaries of an app in two
// stores, and the differences found between them.
type Report struct {
	A, B Summary
	// Diffs says where the stores differ, at most maxDiffs of the first
	// found, and More how many more there were.
	Diffs []string
	More  int
}

// OK reports whether the stores hold the same app.
func (r *Report) OK() bool { return len(r.Diffs) == 0 }

// maxDiffs bounds the differences a Report names: a copy that went wrong
// tends to go wrong everywhere, and the first few say where.
const maxDiffs = 10

func (r *Report) differ(format string, args ...any) {
	if len(r.Diffs) == maxDiffs {
		r.More++
		return
	}
	r.Diffs = append(r.Diffs, fmt.Sprintf(format, args...))
}

// Compare reads app whole from stores a and b at the same time, group by
// group in creation order, and reports where they differ: a group at the
// same place in the order with another id or type, other fields, members
// or counters, and groups one store has past the other's last. The
// stores are read with the same code, as Sum reads them. An error is a
// store's failure to be read, not a difference.
func Compare(ctx context.Context, app uint32, a, b tally.Store) (Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wa, wb := walk(ctx, a, app), walk(ctx, b, app)
	var r Report
	for i := 1; ; i++ {
		ga, okA := <-wa.groups
		gb, okB := <-wb.groups
		if !okA || !okB {
			// One walk has ended; what the other has left is extra.
			extra, rest, name := 0, wb.groups, "b"
			if okA {
				extra, rest, name = 1, wa.groups, "a"
			} else if okB {
				extra = 1
			}
			for range rest {
				extra++
			}
			if extra > 0 {
				r.differ("store %s holds %d groups more, from number %d of the creation order on", name, extra, i)
			}
			break
		}
		switch {
		case ga.id != gb.id || ga.typ != gb.typ:
			r.differ("group number %d of the creation order is %s %q in store a, and %s %q in store b",
				i, tally.GroupTypes[ga.typ], ga.id, tally.GroupTypes[gb.typ], gb.id)
			continue
		case ga.fields != gb.fields:
			r.differ("group %q: its fields differ", ga.id)
		}
		if ga.members != gb.members {
			r.differ("group %q: its members differ", ga.id)
		}
		if ga.counters != gb.counters {
			r.differ("group %q: its counters differ", ga.id)
		}
	}
	var errA, errB error
	r.A, errA = wa.wait()
	r.B, errB = wb.wait()
	switch {
	case errA != nil:
		return r, fmt.Errorf("store a: %w", errA)
	case errB != nil:
		return r, fmt.Errorf("store b: %w", errB)
	}
	if r.A != r.B && r.OK() {
		// Counts or sums that differ with every group alike would be a
		// bug of this package; say so rather than pass.
		r.differ("the summaries differ: %v, and %v", r.A, r.B)
	}
	return r, nil
}

// walking is a walk of one store, run apart so that two stores are read
// at once: groups gets each group in order and is closed at the end, and
// wait returns the summary or the error that ended the walk.
type walking struct {
	groups chan groupSum
	done   chan struct{}
	sum    Summary
	err    error
}

func walk(ctx context.Context, s tally.Store, app uint32) *walking {
	w := &walking{groups: make(chan groupSum, 2*lookupSize), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(w.groups)
		wk := newWalker(s, app)
		for {
			g, ok, err := wk.next(ctx)
			if err != nil || !ok {
				w.sum, w.err = wk.sum, err
				return
			}
			select {
			case w.groups <- g:
			case <-ctx.Done():
				w.err = ctx.Err()
				return
			}
		}
	}()
	return w
}

func (w *walking) wait() (Summary, error) {
	<-w.done
	return w.sum, w.err
}
