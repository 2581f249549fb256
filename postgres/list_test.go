package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tallyserver/tally"
)

// TestListWhileCreating pages through an app's groups while three nodes
// create more, following the list as it grows. A page already given must
// never change behind the reader's cursor: a group that commits late with
// an earlier place would be skipped, which a creation number from a
// sequence allows. At the end the reader must have seen every group once,
// in creation order.
func TestListWhileCreating(t *testing.T) {
	url := shared(t).CreateDB(t)
	ctx := context.Background()
	const app = 1400000001
	const nodes, writers, each = 3, 2, 25
	reader := open(t, url)

	var created atomic.Int64
	var wg sync.WaitGroup
	for n := range nodes {
		s := open(t, url)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					g := &tally.Group{ID: fmt.Sprintf("n%d-w%d-%02d", n, w, i), Type: tally.GroupPublic, Name: "n", InfoSeq: 1}
					if err := s.CreateGroup(ctx, app, g, nil); err != nil {
						t.Error(err)
						return
					}
					created.Add(1)
				}
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var got []string
	var cursor uint64
	var taken []string // The ids already taken from the page at cursor.
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := reader.ListGroups(ctx, app, tally.GroupFilter{Limit: 3, Next: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(page.IDs[:min(len(taken), len(page.IDs))], taken) || len(page.IDs) < len(taken) {
			t.Fatalf("the page after cursor %d was %q and is now %q", cursor, taken, page.IDs)
		}
		got = append(got, page.IDs[len(taken):]...)
		if page.Next != 0 {
			cursor, taken = page.Next, nil
			continue
		}
		taken = page.IDs
		if finished {
			break
		}
	}

	all, err := reader.ListGroups(ctx, app, tally.GroupFilter{Limit: tally.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	if n := int(created.Load()); all.Total != n || len(all.IDs) != n {
		t.Fatalf("%d groups created, listed %d of Total %d", n, len(all.IDs), all.Total)
	}
	if !slices.Equal(got, all.IDs) {
		t.Fatalf("paging while groups were created saw %d groups:\n%q\nthe list holds %d:\n%q", len(got), got, len(all.IDs), all.IDs)
	}
}
