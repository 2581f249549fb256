package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// The cases of tally.Outbox, which run on a backend whose stores
// implement it: the events each write records for the Origin in its
// context, their order, how Events and DeleteEvents page and remove them,
// that they last, and ClaimDelivery.

// outboxOf returns s's outbox, and skips the test if s has none.
func outboxOf(t *testing.T, s tally.Store) tally.Outbox {
	t.Helper()
	ob, ok := s.(tally.Outbox)
	if !ok {
		t.Skipf("%T does not implement tally.Outbox", s)
	}
	return ob
}

// openOutbox opens a store of b, and skips the test if it has no outbox.
func openOutbox(t *testing.T, b Backend) (tally.Store, tally.Outbox) {
	t.Helper()
	s := open(t, b)
	return s, outboxOf(t, s)
}

// origin is the caller of the suite's calls that record events, at a
// time with milliseconds, so that a store that keeps seconds shows.
func origin(events tally.EventSet) tally.Origin {
	return tally.Origin{Operator: "admin", ClientIP: "198.51.100.7", Time: time.UnixMilli(1700000000123), Events: events}
}

// mustEvents returns the whole outbox, lowest ID first, and checks that
// the IDs increase.
func mustEvents(t *testing.T, ob tally.Outbox) []tally.Event {
	t.Helper()
	evs, err := ob.Events(ctx, math.MaxInt32)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Fatalf("Events are not in increasing ID order:%s", showEvents(evs))
		}
	}
	return evs
}

func mustDeleteEvents(t *testing.T, ob tally.Outbox, ids []uint64) {
	t.Helper()
	if err := ob.DeleteEvents(ctx, ids); err != nil {
		t.Fatalf("DeleteEvents(%v): %v", ids, err)
	}
}

func eventIDs(evs []tally.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func showEvents(evs []tally.Event) string {
	if len(evs) == 0 {
		return " none"
	}
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n\t#%d app %d group %q kind %d ip %q time %d %s", e.ID, e.App, e.GroupID, e.Kind, e.ClientIP, e.Time, e.Body)
	}
	return b.String()
}

// sameEvents compares events but for their IDs, which the store sets.
func sameEvents(got, want []tally.Event) bool {
	return slices.EqualFunc(got, want, func(a, b tally.Event) bool {
		return a.App == b.App && a.GroupID == b.GroupID && a.Kind == b.Kind && a.ClientIP == b.ClientIP &&
			a.Time == b.Time && string(a.Body) == string(b.Body)
	})
}

// testOutboxWrites takes every kind of write through the calls that cause
// its event, that change nothing, and that fail: each records exactly the
// events its change causes, as the functions of event_body.go build them
// from what the call did, and the others none.
func testOutboxWrites(t *testing.T, b Backend) {
	s, ob := openOutbox(t, b)
	mustCreate(t, s, tally.GroupCommunity, "@TGS#_c")

	// Each step is a call, made with the Origin o, and the events it
	// must record, which it works out from the state before the call.
	type step struct {
		name string
		code tally.Code
		call func(t *testing.T, c context.Context, o tally.Origin) ([]tally.Event, error)
	}
	createGroup := func(r tally.NewGroup) func(*testing.T, context.Context, tally.Origin) ([]tally.Event, error) {
		return func(t *testing.T, c context.Context, o tally.Origin) ([]tally.Event, error) {
			g, ms := build(t, r, now)
			if err := s.CreateGroup(c, app, g, ms); err != nil {
				return nil, err
			}
			if r.ID == "" && g.ID == "" {
				t.Fatal("CreateGroup of a generated id left the group's ID empty")
			}
			return []tally.Event{tally.CreateGroupEvent(app, o, g, ms)}, nil
		}
	}
	modify := func(id string, ch tally.GroupChange) func(*testing.T, context.Context, tally.Origin) ([]tally.Event, error) {
		return func(t *testing.T, c context.Context, o tally.Origin) ([]tally.Event, error) {
			var before *tally.Group
			if res, err := s.Groups(ctx, app, []string{id}, false); err == nil && res[0].Err == nil {
				before = res[0].Group
			}
			if err := s.ModifyGroup(c, app, id, &ch, now+1); err != nil {
				return nil, err
			}
			after, _, err := tally.ApplyGroupChange(before, &ch, now+1)
			if err != nil {
				t.Fatalf("ModifyGroup passed, ApplyGroupChange failed: %v", err)
			}
			if ev, ok := tally.GroupInfoChangedEvent(app, o, before, after); ok {
				return []tally.Event{ev}, nil
			}
			return nil, nil
		}
	}
	add := func(id string, accounts []string, added ...string) func(*testing.T, context.Context, tally.Origin) ([]tally.Event, error) {
		return func(t *testing.T, c context.Context, o tally.Origin) ([]tally.Event, error) {
			if _, err := s.AddMembers(c, app, id, accounts, now+2); err != nil {
				return nil, err
			}
			if len(added) == 0 {
				return nil, nil
			}
			g, _ := mustLookup(t, s, id)
			return []tally.Event{tally.NewMemberJoinEvent(app, o, g, added)}, nil
		}
	}
	remove := func(id string, accounts []string, removed ...string) func(*testing.T, context.Context, tally.Origin) ([]tally.Event, error) {
		return func(t *testing.T, c context.Context, o tally.Origin) ([]tally.Event, error) {
			if err := s.DeleteMembers(c, app, id, accounts, now+3); err != nil {
				return nil, err
			}
			if len(removed) == 0 {
				return nil, nil
			}
			g, _ := mustLookup(t, s, id)
			return []tally.Event{tally.MemberExitEvent(app, o, g, removed)}, nil
		}
	}
	// counterEvent is the event of a change of group id's counters
	// that set the counters set and removed the keys deleted, leaving
	// the group at Seq seq.
	counterEvent := func(o tally.Origin, id, mode string, seq uint64, set []tally.Counter, deleted ...string) []tally.Event {
		g, _ := mustLookup(t, s, id)
		return []tally.Event{tally.CounterChangedEvent(app, o, id, g.Type, mode, set, deleted, seq)}
	}
	update := func(id string, mode tally.Mode, items []tally.Counter, seq uint64, set []tally.Counter) func(*testing.T, context.Context, tally.Origin) ([]tally.Event, error) {
		return func(t *testing.T, c context.Context, o tally.Origin) ([]tally.Event, error) {
			if _, err := s.UpdateCounters(c, app, id, mode, items); err != nil {
				return nil, err
			}
			if seq == 0 {
				return nil, nil
			}
			return counterEvent(o, id, mode.String(), seq, set), nil
		}
	}
	deleteCounters := func(id string, keys []string, seq uint64, deleted ...string) func(*testing.T, context.Context, tally.Origin) ([]tally.Event, error) {
		return func(t *testing.T, c context.Context, o tally.Origin) ([]tally.Event, error) {
			if err := s.DeleteCounters(c, app, id, keys); err != nil {
				return nil, err
			}
			if seq == 0 {
				return nil, nil
			}
			return counterEvent(o, id, tally.CounterModeDelete, seq, nil, deleted...), nil
		}
	}
	destroy := func(id string) func(*testing.T, context.Context, tally.Origin) ([]tally.Event, error) {
		return func(t *testing.T, c context.Context, o tally.Origin) ([]tally.Event, error) {
			var g *tally.Group
			var ms []tally.Member
			if res, err := s.Groups(ctx, app, []string{id}, true); err == nil && res[0].Err == nil {
				g, ms = res[0].Group, res[0].Members
			}
			if err := s.DestroyGroup(c, app, id); err != nil {
				return nil, err
			}
			return []tally.Event{tally.GroupDestroyedEvent(app, o, g, ms)}, nil
		}
	}
	members := func(accounts ...string) []tally.Member {
		out := make([]tally.Member, len(accounts))
		for i, a := range accounts {
			out[i] = tally.Member{Account: a, Role: tally.RoleMember}
		}
		return out
	}

	steps := []step{
		{"create_group with members", tally.OK, createGroup(tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o",
			Fields:  tally.GroupChange{Name: ptr("G"), AppDefinedData: fields("k", "v", "k2", "v\"2")},
			Members: members("a", "b")})},
		{"create_group of a generated id", tally.OK, createGroup(tally.NewGroup{Type: tally.GroupPrivate, Owner: "o"})},
		{"create_group without an owner", tally.OK, createGroup(tally.NewGroup{ID: "ownerless", Type: tally.GroupChatRoom})},
		{"create_group of an AVChatRoom", tally.OK, createGroup(tally.NewGroup{ID: "av", Type: tally.GroupAVChatRoom, Owner: "o"})},
		{"create_group of an id in use", tally.ErrGroupIDInUse, createGroup(tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o"})},

		{"modify_group_base_info of name and introduction", tally.OK, modify("g", tally.GroupChange{Name: ptr("G2"), Introduction: ptr("hi")})},
		{"modify_group_base_info of notification and face URL", tally.OK, modify("g", tally.GroupChange{Notification: ptr("n"), FaceURL: ptr("http://x/f.png"), MuteAll: ptr(true)})},
		{"modify_group_base_info of other fields", tally.OK, modify("g", tally.GroupChange{MuteAll: ptr(false), AppDefinedData: fields("k", "w")})},
		{"modify_group_base_info to the same name", tally.OK, modify("g", tally.GroupChange{Name: ptr("G2")})},
		{"modify_group_base_info of a name too long", tally.ErrInvalidParameter, modify("g", tally.GroupChange{Name: ptr(strings.Repeat("x", tally.MaxGroupNameLen+1))})},
		{"modify_group_base_info of a missing group", tally.ErrGroupNotFound, modify("nope", tally.GroupChange{Name: ptr("x")})},

		{"add_group_member of new and old members", tally.OK, add("g", []string{"c", "a", "d", "c"}, "c", "d")},
		{"add_group_member of members only", tally.OK, add("g", []string{"a", "o"})},
		{"add_group_member to an AVChatRoom", tally.ErrNoPermission, add("av", []string{"x"})},
		{"add_group_member to a missing group", tally.ErrGroupNotFound, add("nope", []string{"x"})},

		{"delete_group_member of members and others", tally.OK, remove("g", []string{"zz", "d", "c", "d"}, "d", "c")},
		{"delete_group_member of non-members", tally.OK, remove("g", []string{"zz"})},
		{"delete_group_member of the owner", tally.ErrNoPermission, remove("g", []string{"a", "o"})},
		{"delete_group_member of a missing group", tally.ErrGroupNotFound, remove("nope", []string{"a"})},

		{"update_group_counter Set", tally.OK, update("g", tally.ModeSet, counters("b", 2, "a", 1), 1, counters("a", 1, "b", 2))},
		{"update_group_counter Set of one the same and one anew", tally.OK, update("g", tally.ModeSet, counters("a", 1, "b", 3), 2, counters("b", 3))},
		{"update_group_counter Increase by 0", tally.OK, update("g", tally.ModeIncrease, counters("a", 0), 0, nil)},
		{"update_group_counter Increase of a new key by 0", tally.OK, update("g", tally.ModeIncrease, counters("c", 0), 3, counters("c", 0))},
		{"update_group_counter Decrease", tally.OK, update("g", tally.ModeDecrease, counters("a", 5), 4, counters("a", -4))},
		{"update_group_counter that overflows", tally.ErrInvalidParameter, update("g", tally.ModeIncrease, []tally.Counter{{Key: "c", Value: 1}, {Key: "b", Value: math.MaxInt64}}, 0, nil)},
		{"update_group_counter of a Community", tally.ErrNoPermission, update("@TGS#_c", tally.ModeSet, counters("a", 1), 0, nil)},
		{"update_group_counter of a missing group", tally.ErrGroupNotFound, update("nope", tally.ModeSet, counters("a", 1), 0, nil)},
		{"update_group_counter of an AVChatRoom", tally.OK, update("av", tally.ModeIncrease, counters("like", 1), 1, counters("like", 1))},

		{"delete_group_counter of a key and a missing one", tally.OK, deleteCounters("g", []string{"zz", "b"}, 5, "b")},
		{"delete_group_counter of a missing key", tally.OK, deleteCounters("g", []string{"zz"}, 0)},
		{"delete_group_counter of all", tally.OK, deleteCounters("g", nil, 6, "a", "c")},
		{"delete_group_counter of all, again", tally.OK, deleteCounters("g", nil, 0)},
		{"delete_group_counter of a Community", tally.ErrNoPermission, deleteCounters("@TGS#_c", nil, 0)},
		{"delete_group_counter of a missing group", tally.ErrGroupNotFound, deleteCounters("nope", nil, 0)},

		{"destroy_group with members", tally.OK, destroy("g")},
		{"destroy_group of an AVChatRoom", tally.OK, destroy("av")},
		{"destroy_group without an owner", tally.OK, destroy("ownerless")},
		{"destroy_group of a missing group", tally.ErrGroupNotFound, destroy("g")},
	}
	var last uint64
	for i, st := range steps {
		// Each call at a time of its own, from an address of its own.
		o := origin(tally.AllEvents)
		o.Time = o.Time.Add(time.Duration(i) * time.Millisecond)
		o.ClientIP = fmt.Sprintf("2001:db8::%d", i)
		want, err := st.call(t, tally.WithOrigin(ctx, o), o)
		wantCode(t, st.name, err, st.code)
		got := mustEvents(t, ob)
		if !sameEvents(got, want) {
			t.Fatalf("%s recorded%s\nwant%s", st.name, showEvents(got), showEvents(want))
		}
		for _, e := range got {
			if e.ID <= last {
				t.Fatalf("%s recorded event #%d, after #%d", st.name, e.ID, last)
			}
			last = e.ID
		}
		mustDeleteEvents(t, ob, eventIDs(got))
	}
	if got := mustEvents(t, ob); len(got) != 0 {
		t.Fatalf("after deleting every event, the outbox holds%s", showEvents(got))
	}
}

// testOutboxAsked makes one write of each kind with contexts that ask for
// different events: each records only the events its Origin asks for,
// and none without an Origin or with an Origin that asks for none.
func testOutboxAsked(t *testing.T, b Backend) {
	all := func(except tally.EventKind) tally.EventSet {
		var set tally.EventSet
		for _, k := range tally.EventKinds {
			if k != except {
				set = set.With(k)
			}
		}
		return set
	}
	type askCase struct {
		name string
		ctx  context.Context
		want tally.EventSet
	}
	cases := []askCase{
		{"no Origin", ctx, 0},
		{"an Origin that asks for none", tally.WithOrigin(ctx, origin(0)), 0},
		{"all", tally.WithOrigin(ctx, origin(tally.AllEvents)), tally.AllEvents},
	}
	for _, k := range tally.EventKinds {
		only := tally.EventSet(0).With(k)
		cases = append(cases,
			askCase{"only " + k.Command(), tally.WithOrigin(ctx, origin(only)), only},
			askCase{"all but " + k.Command(), tally.WithOrigin(ctx, origin(all(k))), all(k)})
	}
	// The writes, and the event each causes.
	writes := []tally.EventKind{
		tally.EventAfterCreateGroup, tally.EventAfterGroupInfoChanged, tally.EventAfterNewMemberJoin,
		tally.EventAfterMemberExit, tally.EventAfterGroupCounterChanged, tally.EventAfterGroupCounterChanged,
		tally.EventAfterGroupDestroyed,
	}
	// One store for all the cases, each on a group of its own, its
	// events removed after it.
	s, ob := openOutbox(t, b)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, ms := build(t, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o", Members: []tally.Member{{Account: "a", Role: tally.RoleMember}}}, now)
			if err := s.CreateGroup(c.ctx, app, g, ms); err != nil {
				t.Fatal(err)
			}
			if err := s.ModifyGroup(c.ctx, app, "g", &tally.GroupChange{Name: ptr("renamed")}, now+1); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddMembers(c.ctx, app, "g", []string{"b"}, now+2); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteMembers(c.ctx, app, "g", []string{"a"}, now+3); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateCounters(c.ctx, app, "g", tally.ModeIncrease, counters("k", 1)); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteCounters(c.ctx, app, "g", nil); err != nil {
				t.Fatal(err)
			}
			if err := s.DestroyGroup(c.ctx, app, "g"); err != nil {
				t.Fatal(err)
			}
			var want []tally.EventKind
			for _, k := range writes {
				if c.want.Has(k) {
					want = append(want, k)
				}
			}
			got := mustEvents(t, ob)
			kinds := make([]tally.EventKind, len(got))
			for i, e := range got {
				kinds[i] = e.Kind
			}
			if !slices.Equal(kinds, want) {
				t.Fatalf("the writes recorded%s\nwant the kinds %v", showEvents(got), want)
			}
			mustDeleteEvents(t, ob, eventIDs(got))
		})
	}
}

// testOutboxPages interleaves the writes of two groups, then reads the
// outbox in pages and removes events from it: Events answers the lowest
// IDs first, at most limit, and DeleteEvents removes exactly those it is
// given, an unknown ID being no error.
func testOutboxPages(t *testing.T, b Backend) {
	s, ob := openOutbox(t, b)
	c := tally.WithOrigin(ctx, origin(tally.AllEvents))
	mustCreate(t, s, tally.GroupPublic, "g1")
	mustCreate(t, s, tally.GroupPublic, "g2")
	for i := range 6 {
		for _, id := range []string{"g1", "g2"} {
			if _, err := s.UpdateCounters(c, app, id, tally.ModeIncrease, counters("n", 1)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AddMembers(c, app, "g1", []string{fmt.Sprintf("m%d", i)}, now); err != nil {
			t.Fatal(err)
		}
	}
	all := mustEvents(t, ob)
	if len(all) != 18 {
		t.Fatalf("18 writes recorded %d events:%s", len(all), showEvents(all))
	}
	// Each group's events are in the order of its writes.
	for _, id := range []string{"g1", "g2"} {
		var seqs []uint64
		for _, e := range all {
			if e.GroupID == id && e.Kind == tally.EventAfterGroupCounterChanged {
				seqs = append(seqs, bodyOf(t, e).Seq)
			}
		}
		if !slices.Equal(seqs, []uint64{1, 2, 3, 4, 5, 6}) {
			t.Fatalf("%s's counter events, by ID, have Seqs %v; want 1 to 6", id, seqs)
		}
	}
	for _, limit := range []int{1, 3, 17, 18, 19, 1000} {
		got, err := ob.Events(ctx, limit)
		if err != nil {
			t.Fatal(err)
		}
		if want := all[:min(limit, len(all))]; !slices.EqualFunc(got, want, sameEvent) {
			t.Fatalf("Events(%d) =%s\nwant%s", limit, showEvents(got), showEvents(want))
		}
	}
	// What Events returns is the caller's: changing it changes neither
	// the outbox nor what Events answers next.
	kept := slices.Clone(all)
	for i := range kept {
		kept[i].Body = slices.Clone(kept[i].Body)
	}
	if got, err := ob.Events(ctx, 1); err != nil || len(got) != 1 {
		t.Fatalf("Events(1) = %v, %v", got, err)
	} else {
		got[0].Body[0], got[0].GroupID = 'X', "changed"
	}
	if got := mustEvents(t, ob); !slices.EqualFunc(got, kept, sameEvent) {
		t.Fatalf("after changing what Events returned, the outbox holds%s\nwant%s", showEvents(got), showEvents(kept))
	}

	// Remove the first, one in the middle and an unknown ID.
	mustDeleteEvents(t, ob, []uint64{all[0].ID, all[5].ID, all[len(all)-1].ID + 1000, math.MaxUint64})
	rest := slices.Delete(kept, 5, 6)[1:]
	if got := mustEvents(t, ob); !slices.EqualFunc(got, rest, sameEvent) {
		t.Fatalf("after deleting two events, the outbox holds%s\nwant%s", showEvents(got), showEvents(rest))
	}
	got, err := ob.Events(ctx, 2)
	if err != nil || !slices.EqualFunc(got, rest[:2], sameEvent) {
		t.Fatalf("Events(2) after deleting = %s, %v; want%s", showEvents(got), err, showEvents(rest[:2]))
	}
	mustDeleteEvents(t, ob, nil)
	mustDeleteEvents(t, ob, []uint64{all[0].ID})
	mustDeleteEvents(t, ob, eventIDs(rest))
	if got := mustEvents(t, ob); len(got) != 0 {
		t.Fatalf("after deleting every event, the outbox holds%s", showEvents(got))
	}
	// New events come after the deleted ones.
	if _, err := s.UpdateCounters(c, app, "g2", tally.ModeIncrease, counters("n", 1)); err != nil {
		t.Fatal(err)
	}
	if got := mustEvents(t, ob); len(got) != 1 || got[0].ID <= all[len(all)-1].ID {
		t.Fatalf("a write after deleting every event recorded%s; want one event after #%d", showEvents(got), all[len(all)-1].ID)
	}
}

func sameEvent(a, b tally.Event) bool {
	return a.ID == b.ID && sameEvents([]tally.Event{a}, []tally.Event{b})
}

// counterBody is what the cases read of a counter event's body.
type counterBody struct {
	Operator     string `json:"Operator_Account"`
	Seq          uint64
	GroupCounter []struct {
		Key   string
		Value int64
	}
}

func bodyOf(t *testing.T, e tally.Event) counterBody {
	t.Helper()
	var b counterBody
	if err := json.Unmarshal(e.Body, &b); err != nil {
		t.Fatalf("event #%d: %v in %s", e.ID, err, e.Body)
	}
	return b
}

// testOutboxConcurrent has many callers increment one group's counter at
// once, each with an Origin of its own, as a hot group's calls come,
// which a store may apply several at a time: each call records its own
// event, with its caller's Origin, and the events' IDs follow the group's
// Seqs, the change numbered k holding the k-th value.
func testOutboxConcurrent(t *testing.T, b Backend) {
	s, ob := openOutbox(t, b)
	mustCreate(t, s, tally.GroupAVChatRoom, "hot")
	const callers, each = 16, 25
	var wg sync.WaitGroup
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := origin(tally.AllEvents)
			o.Operator, o.ClientIP = fmt.Sprintf("caller%d", w), fmt.Sprintf("10.0.0.%d", w)
			c := tally.WithOrigin(ctx, o)
			for range each {
				if _, err := s.UpdateCounters(c, app, "hot", tally.ModeIncrease, counters("n", 1)); err != nil {
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
	evs := mustEvents(t, ob)
	if len(evs) != callers*each {
		t.Fatalf("%d calls recorded %d events", callers*each, len(evs))
	}
	calls := map[string]int{}
	for i, e := range evs {
		body := bodyOf(t, e)
		n := uint64(i + 1)
		if body.Seq != n || len(body.GroupCounter) != 1 || body.GroupCounter[0].Value != int64(n) {
			t.Fatalf("event number %d is%s; want Seq and n %d", n, showEvents(evs[i:i+1]), n)
		}
		var w int
		if _, err := fmt.Sscanf(body.Operator, "caller%d", &w); err != nil || e.ClientIP != fmt.Sprintf("10.0.0.%d", w) {
			t.Fatalf("event%s has the Operator of one caller and the address of another", showEvents(evs[i:i+1]))
		}
		calls[body.Operator]++
	}
	for w := range callers {
		if n := calls[fmt.Sprintf("caller%d", w)]; n != each {
			t.Fatalf("caller%d's %d calls recorded %d events", w, each, n)
		}
	}
}

// testOutboxDoneContext makes each kind of write with an Origin in a
// context that is already done, as in testDoneContextIsAllOrNothing: a
// write that goes on records its event, and one that gives up records
// none.
func testOutboxDoneContext(t *testing.T, b Backend) {
	s, ob := openOutbox(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	mustAdd(t, s, "g", now, "m")
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, counters("k", 1)); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(tally.WithOrigin(ctx, origin(tally.AllEvents)))
	cancel()
	calls := []struct {
		kind tally.EventKind
		call func() error
	}{
		{tally.EventAfterCreateGroup, func() error {
			g, ms := build(t, tally.NewGroup{ID: "new", Type: tally.GroupPublic, Owner: "o"}, now)
			return s.CreateGroup(done, app, g, ms)
		}},
		{tally.EventAfterGroupInfoChanged, func() error {
			return s.ModifyGroup(done, app, "g", &tally.GroupChange{Name: ptr("renamed")}, now+1)
		}},
		{tally.EventAfterNewMemberJoin, func() error {
			_, err := s.AddMembers(done, app, "g", []string{"a"}, now+2)
			return err
		}},
		{tally.EventAfterMemberExit, func() error { return s.DeleteMembers(done, app, "g", []string{"m"}, now+3) }},
		{tally.EventAfterGroupCounterChanged, func() error {
			_, err := s.UpdateCounters(done, app, "g", tally.ModeIncrease, counters("k", 1))
			return err
		}},
		{tally.EventAfterGroupCounterChanged, func() error { return s.DeleteCounters(done, app, "g", nil) }},
		{tally.EventAfterGroupDestroyed, func() error { return s.DestroyGroup(done, app, "g") }},
	}
	for _, c := range calls {
		err := c.call()
		if err != nil && (!errors.Is(err, context.Canceled) || tally.ErrorCode(err) != tally.ErrInternal) {
			t.Fatalf("%s's write with a done context: %v, want nil or an internal error wrapping %v", c.kind.Command(), err, context.Canceled)
		}
		got := mustEvents(t, ob)
		if err == nil && (len(got) != 1 || got[0].Kind != c.kind) || err != nil && len(got) != 0 {
			t.Fatalf("%s's write with a done context answered %v and recorded%s", c.kind.Command(), err, showEvents(got))
		}
		mustDeleteEvents(t, ob, eventIDs(got))
	}
}

// testOutboxReopen checks that events last: the reopened store's outbox
// holds the same events, with the same IDs, and its writes record events
// after them.
func testOutboxReopen(t *testing.T, b Backend) {
	if b.Reopen == nil {
		t.Skip("backend cannot reopen")
	}
	s := b.Open(t)
	ob := outboxOf(t, s)
	c := tally.WithOrigin(ctx, origin(tally.AllEvents))
	g, ms := build(t, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o"}, now)
	if err := s.CreateGroup(c, app, g, ms); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.UpdateCounters(c, app, "g", tally.ModeIncrease, counters("n", 1)); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate(t, s, tally.GroupPublic, "gone")
	if err := s.DestroyGroup(c, app, "gone"); err != nil {
		t.Fatal(err)
	}
	want := mustEvents(t, ob)
	mustDeleteEvents(t, ob, eventIDs(want[:1]))
	want = want[1:]

	s = b.Reopen(t, s)
	defer s.Close()
	ob = outboxOf(t, s)
	if got := mustEvents(t, ob); !slices.EqualFunc(got, want, sameEvent) {
		t.Fatalf("after reopen the outbox holds%s\nwant%s", showEvents(got), showEvents(want))
	}
	if _, err := s.UpdateCounters(c, app, "g", tally.ModeIncrease, counters("n", 1)); err != nil {
		t.Fatal(err)
	}
	got := mustEvents(t, ob)
	if len(got) != len(want)+1 || got[len(got)-1].ID <= want[len(want)-1].ID || bodyOf(t, got[len(got)-1]).Seq != 4 {
		t.Fatalf("a write after reopen recorded%s\nafter%s", showEvents(got[len(want):]), showEvents(want))
	}
}

// testClaimDelivery checks the lease of delivery: one holder at a time,
// who keeps it while it renews, until its span runs out. A backend whose
// stores serve one node each (Backend.OneNode) grants it to every holder.
func testClaimDelivery(t *testing.T, b Backend) {
	_, ob := openOutbox(t, b)
	const span = 200 * time.Millisecond
	claim := func(holder string) bool {
		t.Helper()
		ok, err := ob.ClaimDelivery(ctx, holder, span)
		if err != nil {
			t.Fatalf("ClaimDelivery(%q): %v", holder, err)
		}
		return ok
	}
	if b.OneNode {
		for _, h := range []string{"a", "b", "a"} {
			if !claim(h) {
				t.Fatalf("a store of one node refused the claim of %q", h)
			}
		}
		return
	}
	if !claim("a") {
		t.Fatal("the first claim was refused")
	}
	// a renews for several spans; b is refused throughout, for each of
	// its claims comes within a span of a's latest renewal.
	start := time.Now()
	for time.Since(start) < 3*span {
		if claim("b") {
			t.Fatal("b got the claim while a held it")
		}
		time.Sleep(span / 8)
		if !claim("a") {
			t.Fatal("a could not renew its claim")
		}
	}
	// a stops renewing: b gets the claim once a's span has run out, and
	// a is then refused.
	stopped := time.Now()
	deadline := stopped.Add(10 * time.Second)
	for !claim("b") {
		if time.Now().After(deadline) {
			t.Fatalf("b did not get the claim %v after a stopped renewing a span of %v", time.Since(stopped), span)
		}
		time.Sleep(span / 10)
	}
	if claim("a") {
		t.Fatal("a got the claim back while b held it")
	}
	if !claim("b") {
		t.Fatal("b could not renew its claim")
	}
}
