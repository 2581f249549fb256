package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/postgres"
)

// exec runs sql on the database at url, outside any store.
func exec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// snapshot is what a call on group id may change: the group with its
// members and its counters, or why there are none.
func snapshot(t *testing.T, s *postgres.Store, app uint32, id string) string {
	t.Helper()
	res, err := s.Groups(context.Background(), app, []string{id}, true)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := s.Counters(context.Background(), app, id, nil)
	return fmt.Sprintf("%+v %+v %v counters %v %v", res[0].Group, res[0].Members, res[0].Err, cs, err)
}

// TestOutboxFailsWithItsWrite makes the recording of each kind of event
// fail, as a database error after the change's statements would: the
// call fails with an internal error and leaves no change, for the event
// and its change are one transaction. Once the event can be recorded, the
// same call makes its change and records its event.
func TestOutboxFailsWithItsWrite(t *testing.T) {
	const app = 1400000001
	url := shared(t).CreateDB(t)
	s := open(t, url)
	ctx := context.Background()
	o := tally.Origin{Operator: "admin", ClientIP: "192.0.2.1", Time: time.UnixMilli(1700000000123), Events: tally.AllEvents}
	withOrigin := tally.WithOrigin(ctx, o)
	for _, id := range []string{"destroyed", "modified", "joined", "left", "counted", "emptied"} {
		g := &tally.Group{ID: id, Type: tally.GroupPublic, Name: id, Owner: "o", InfoSeq: 1, MaxMemberNum: 100}
		ms := []tally.Member{{Account: "o", Role: tally.RoleOwner}, {Account: "a", Role: tally.RoleMember}}
		if err := s.CreateGroup(ctx, app, g, ms); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateCounters(ctx, app, id, tally.ModeSet, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		kind tally.EventKind
		id   string
		call func(context.Context) error
	}{
		{tally.EventAfterCreateGroup, "created", func(c context.Context) error {
			g := &tally.Group{ID: "created", Type: tally.GroupPublic, Name: "n", Owner: "o", InfoSeq: 1, MaxMemberNum: 100}
			return s.CreateGroup(c, app, g, []tally.Member{{Account: "o", Role: tally.RoleOwner}})
		}},
		{tally.EventAfterGroupDestroyed, "destroyed", func(c context.Context) error { return s.DestroyGroup(c, app, "destroyed") }},
		{tally.EventAfterGroupInfoChanged, "modified", func(c context.Context) error {
			return s.ModifyGroup(c, app, "modified", &tally.GroupChange{Name: ptr("renamed")}, 1)
		}},
		{tally.EventAfterNewMemberJoin, "joined", func(c context.Context) error {
			_, err := s.AddMembers(c, app, "joined", []string{"b"}, 1)
			return err
		}},
		{tally.EventAfterMemberExit, "left", func(c context.Context) error { return s.DeleteMembers(c, app, "left", []string{"a"}, 1) }},
		{tally.EventAfterGroupCounterChanged, "counted", func(c context.Context) error {
			_, err := s.UpdateCounters(c, app, "counted", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}})
			return err
		}},
		{tally.EventAfterGroupCounterChanged, "emptied", func(c context.Context) error { return s.DeleteCounters(c, app, "emptied", nil) }},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			before := snapshot(t, s, app, c.id)
			exec(t, url, fmt.Sprintf("ALTER TABLE tally_outbox ADD CONSTRAINT refused CHECK (kind <> %d)", c.kind))
			err := c.call(withOrigin)
			if code := tally.ErrorCode(err); code != tally.ErrInternal {
				t.Fatalf("with its event refused: code %d (%v), want an internal error", code, err)
			}
			if after := snapshot(t, s, app, c.id); after != before {
				t.Fatalf("the call whose event was refused changed\n%s\nto\n%s", before, after)
			}
			if evs, err := s.Events(ctx, 10); err != nil || len(evs) != 0 {
				t.Fatalf("the call whose event was refused left the events %v, %v", evs, err)
			}
			exec(t, url, "ALTER TABLE tally_outbox DROP CONSTRAINT refused")

			if err := c.call(withOrigin); err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, s, app, c.id); after == before {
				t.Fatal("the call changed nothing once its event could be recorded")
			}
			evs, err := s.Events(ctx, 10)
			if err != nil || len(evs) != 1 || evs[0].Kind != c.kind || evs[0].GroupID != c.id {
				t.Fatalf("the call recorded %v, %v; want one event of kind %d", evs, err, c.kind)
			}
			if err := s.DeleteEvents(ctx, []uint64{evs[0].ID}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOutboxTwoNodes runs two stores on one database, as two nodes: one
// holds the claim of delivery at a time, the other takes it over when the
// first stops renewing, and the calls on one group made through both, at
// once, record events whose IDs follow the group's Seqs, whichever node
// made them.
func TestOutboxTwoNodes(t *testing.T) {
	const app = 1400000001
	url := shared(t).CreateDB(t)
	nodes := []*postgres.Store{open(t, url), open(t, url)}
	ctx := context.Background()

	const span = 300 * time.Millisecond
	claim := func(node int, holder string) bool {
		t.Helper()
		ok, err := nodes[node].ClaimDelivery(ctx, holder, span)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(0, "node0") {
		t.Fatal("the first claim was refused")
	}
	for start := time.Now(); time.Since(start) < 3*span; {
		if claim(1, "node1") {
			t.Fatal("node1 got the claim while node0 renewed it")
		}
		time.Sleep(span / 6)
		if !claim(0, "node0") {
			t.Fatal("node0 could not renew its claim")
		}
	}
	stopped := time.Now()
	for !claim(1, "node1") {
		if time.Since(stopped) > 10*time.Second {
			t.Fatal("node1 did not take the claim over after node0 stopped renewing")
		}
		time.Sleep(span / 10)
	}
	if claim(0, "node0") {
		t.Fatal("node0 got the claim back while node1 held it")
	}

	g := &tally.Group{ID: "hot", Type: tally.GroupAVChatRoom, Name: "hot", InfoSeq: 1}
	if err := nodes[0].CreateGroup(ctx, app, g, nil); err != nil {
		t.Fatal(err)
	}
	const callers, each = 8, 25
	var wg sync.WaitGroup
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := tally.Origin{Operator: fmt.Sprintf("caller%d", w), Time: time.UnixMilli(1700000000000), Events: tally.AllEvents}
			c := tally.WithOrigin(ctx, o)
			for range each {
				if _, err := nodes[w%2].UpdateCounters(c, app, "hot", tally.ModeIncrease, []tally.Counter{{Key: "n", Value: 1}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	evs, err := nodes[1].Events(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != callers*each {
		t.Fatalf("%d calls through two nodes recorded %d events", callers*each, len(evs))
	}
	for i, e := range evs {
		var body struct{ Seq uint64 }
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Seq != uint64(i+1) {
			t.Fatalf("event number %d, #%d, has Seq %d", i+1, e.ID, body.Seq)
		}
	}
	// What one node delivered and deleted, the other no longer sees.
	ids := make([]uint64, 0, 10)
	for _, e := range evs[:10] {
		ids = append(ids, e.ID)
	}
	if err := nodes[0].DeleteEvents(ctx, ids); err != nil {
		t.Fatal(err)
	}
	rest, err := nodes[1].Events(ctx, 1000)
	if err != nil || !reflect.DeepEqual(rest, evs[10:]) {
		t.Fatalf("after node0 deleted 10 events node1 sees %d, %v; want the other %d", len(rest), err, len(evs)-10)
	}
}
