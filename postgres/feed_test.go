package postgres_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/postgres"
)

// changes collects what a store's feed tells.
type changes struct {
	mu   sync.Mutex
	told []tally.Change
}

func feedOf(s *postgres.Store) *changes {
	c := &changes{}
	s.OnChange(func(ch tally.Change) {
		c.mu.Lock()
		c.told = append(c.told, ch)
		c.mu.Unlock()
	})
	return c
}

// until waits until the feed has told a change of group id with Seq seq,
// and returns all that it has told.
func (c *changes) until(t *testing.T, id string, seq uint64) []tally.Change {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		told := slices.Clone(c.told)
		c.mu.Unlock()
		if slices.ContainsFunc(told, func(ch tally.Change) bool { return ch.GroupID == id && ch.Seq == seq }) {
			return told
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed did not tell %s #%d; it told %+v", id, seq, told)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFeedOfUpdates sends updates of one group from many goroutines, some
// of which change nothing (a Set to the value a key has) and some of which
// fail (an overflow): with folding, a transaction applies many of them,
// and without, each is a transaction of its own, and those of one node
// wait for each other on the group's row lock. Either way each update
// that changes the counters gets a Seq of its own, the feed tells them
// 1..N in order, and each tells the value its update answered.
func TestFeedOfUpdates(t *testing.T) {
	c := shared(t)
	for _, fold := range []string{"on", "off"} {
		t.Run("fold-"+fold, func(t *testing.T) {
			s := open(t, c.CreateDB(t)+"&tally_fold="+fold)
			feed := feedOf(s)
			ctx := context.Background()
			const app = 1400000001
			if err := s.CreateGroup(ctx, app, &tally.Group{ID: "hot", Type: tally.GroupPublic, Name: "hot", InfoSeq: 1}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateCounters(ctx, app, "hot", tally.ModeSet, []tally.Counter{{Key: "big", Value: math.MaxInt64}, {Key: "same", Value: 1}}); err != nil {
				t.Fatal(err)
			}
			txns0, updates0 := postgres.FoldStats(s)
			const workers, each = 16, 12
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				answers = map[int64]bool{} // The values of a that increases answered.
			)
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						var err error
						var got []tally.Counter
						switch (w + i) % 3 {
						case 0:
							got, err = s.UpdateCounters(ctx, app, "hot", tally.ModeIncrease, []tally.Counter{{Key: "a", Value: 1}})
							if err == nil {
								mu.Lock()
								answers[got[0].Value] = true
								mu.Unlock()
							}
						case 1:
							_, err = s.UpdateCounters(ctx, app, "hot", tally.ModeSet, []tally.Counter{{Key: "same", Value: 1}})
						default:
							_, err = s.UpdateCounters(ctx, app, "hot", tally.ModeIncrease, []tally.Counter{{Key: "big", Value: 1}})
							if tally.ErrorCode(err) == tally.ErrInvalidParameter {
								err = nil
							}
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			seq, state, err := s.CounterState(ctx, app, "hot")
			if err != nil {
				t.Fatal(err)
			}
			increases := uint64(len(answers))
			if seq != 1+increases || state[0] != (tally.Counter{Key: "a", Value: int64(increases)}) {
				t.Fatalf("after %d increases the state is #%d %v", increases, seq, state)
			}
			told := feed.until(t, "hot", seq)
			if uint64(len(told)) != seq {
				t.Fatalf("the feed told %d changes, want %d: %+v", len(told), seq, told)
			}
			for i, ch := range told[1:] {
				want := tally.Change{App: app, GroupID: "hot", Seq: uint64(i + 2), Counters: []tally.Counter{{Key: "a", Value: int64(i + 1)}}}
				if ch.App != want.App || ch.GroupID != want.GroupID || ch.Seq != want.Seq || !slices.Equal(ch.Counters, want.Counters) || len(ch.Deleted) > 0 || ch.Destroyed {
					t.Fatalf("change %d told is %+v, want %+v", i+2, ch, want)
				}
			}
			txns, updates := postgres.FoldStats(s)
			t.Logf("%d updates in %d transactions", updates-updates0, txns-txns0)
			if fold == "on" && txns-txns0 >= updates-updates0 {
				t.Fatalf("%d updates in %d transactions: none folded", updates-updates0, txns-txns0)
			}
		})
	}
}

// TestFeedOrderOfCommits holds back the answer to one COMMIT, as a slow
// network can: the transaction of the next change of the group, which
// the server runs once the first has committed, returns first. The feed
// must still tell the first change first. Folding is off, so that the
// second change is a transaction of its own, as a DeleteCounters beside
// the folded updates of its group is.
func TestFeedOrderOfCommits(t *testing.T) {
	c := shared(t)
	url := c.CreateDB(t)
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", c.Port()))
	s := open(t, strings.Replace(url, fmt.Sprintf(":%d/", c.Port()), fmt.Sprintf(":%d/", p.port()), 1)+"&tally_fold=off")
	feed := feedOf(s)
	ctx := context.Background()
	const app = 1400000001
	if err := s.CreateGroup(ctx, app, &tally.Group{ID: "g", Type: tally.GroupPublic, Name: "g", InfoSeq: 1}, nil); err != nil {
		t.Fatal(err)
	}
	increase := func() (int64, error) {
		cs, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}})
		if err != nil {
			return 0, err
		}
		return cs[0].Value, nil
	}

	p.holdCommit.Store(int64(300 * time.Millisecond))
	first := make(chan error, 1)
	go func() {
		v, err := increase()
		if err == nil && v != 1 {
			err = fmt.Errorf("the first increase answered %d", v)
		}
		first <- err
	}()
	<-p.commitHeld
	if v, err := increase(); err != nil || v != 2 {
		t.Fatalf("the second increase answered %d, %v; want 2", v, err)
	}
	select {
	case err := <-first:
		t.Fatalf("the first increase returned (%v) before the second: the COMMIT was not held", err)
	default:
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	told := feed.until(t, "g", 2)
	if len(told) != 2 || told[0].Seq != 1 || told[1].Seq != 2 {
		t.Fatalf("the feed told %+v; want #1, then #2", told)
	}
}
