package callback_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/callback"
	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/postgres"
)

// TestDeliverTwoNodes runs a Deliverer on each of two nodes of one
// PostgreSQL database: one delivers while it holds the outbox's claim and
// the other waits; when the first stops, the second takes over, and every
// event arrives once, each group's in order.
func TestDeliverTwoNodes(t *testing.T) {
	url := pgtest.New(t, pgtest.Options{}).CreateDB(t)
	var nodes [2]*postgres.Store
	for i := range nodes {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		nodes[i] = s
	}

	h := newHook(t)
	mu, byNode := &h.mu, h.agents

	var stops [2]context.CancelFunc
	var dones [2]chan struct{}
	for i, s := range nodes {
		client := callback.NewClient("test")
		client.UserAgent = fmt.Sprintf("node%d", i)
		opts := fast()
		opts.Holder, opts.Span = client.UserAgent, 600*time.Millisecond
		d := callback.NewDeliverer(s, client, []tally.App{app(h.URL)}, opts)
		ctx, cancel := context.WithCancel(context.Background())
		stops[i], dones[i] = cancel, make(chan struct{})
		go func() {
			defer close(dones[i])
			d.Run(ctx)
		}()
		t.Cleanup(func() {
			cancel()
			<-dones[i]
		})
		if i == 0 {
			// node0 claims first.
			time.Sleep(100 * time.Millisecond)
		}
	}

	const groups = 4
	writeOn := func(round, n int) {
		ctx := tally.WithOrigin(context.Background(), tally.Origin{Operator: "admin", ClientIP: "192.0.2.1", Time: time.Now(), Events: tally.AllEvents})
		for i := range n {
			for g := range groups {
				id := fmt.Sprintf("g%d", g)
				if round == 0 && i == 0 {
					name := "n"
					r := tally.NewGroup{Type: tally.GroupPublic, Owner: "owner", Fields: tally.GroupChange{Name: &name}}
					grp, ms, err := r.Build(time.Now().Unix())
					if err != nil {
						t.Fatal(err)
					}
					grp.ID = id
					if err := nodes[g%2].CreateGroup(ctx, appID, grp, ms); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := nodes[(g+i)%2].UpdateCounters(ctx, appID, id, tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	writeOn(0, 10)
	waitFor(t, "the first round", func() bool { return h.count() == groups*11 })
	mu.Lock()
	if byNode["node1"] != 0 || byNode["node0"] == 0 {
		t.Errorf("calls by node while node0 holds the claim: %v", byNode)
	}
	mu.Unlock()

	// node0 stops; node1 takes over once its claim runs out.
	stops[0]()
	<-dones[0]
	writeOn(1, 10)
	waitFor(t, "the second round, from node1", func() bool { return h.count() == groups*21 })
	mu.Lock()
	if byNode["node1"] == 0 {
		t.Errorf("node1 sent nothing after node0 stopped: %v", byNode)
	}
	mu.Unlock()
	checkOrder(t, h, groups, 20)
	waitFor(t, "an empty outbox", func() bool {
		evs, err := nodes[1].Events(context.Background(), 1000)
		return err == nil && len(evs) == 0
	})
}
