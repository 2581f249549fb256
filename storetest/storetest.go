// Package storetest is the contract suite that every tally.Store backend
// must pass. A backend's own test calls Run with a way to open a fresh,
// empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// Backend opens stores for the suite.
type Backend struct {
	// Open returns a new, empty store; the suite closes it.
	Open func(t *testing.T) tally.Store
	// Reopen closes s and opens it again on the same data, to show that
	// what was acknowledged survives. Nil skips the durability cases.
	Reopen func(t *testing.T, s tally.Store) tally.Store
	// OneNode says that each store serves one node alone, so that its
	// tally.Outbox may grant ClaimDelivery to every holder; otherwise
	// the suite checks that it grants one holder at a time.
	OneNode bool
}

// Run runs the whole contract against b, the cases of tally.ChangeFeed
// and tally.Outbox too when b's stores implement them.
func Run(t *testing.T, b Backend) {
	cases := []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"CreateAndLookup", testCreateAndLookup},
		{"GroupIDs", testGroupIDs},
		{"Destroy", testDestroy},
		{"ResultsAreTheCallers", testResultsAreTheCallers},
		{"AppsAreSeparate", testAppsAreSeparate},
		{"List", testList},
		{"UpdateModes", testUpdateModes},
		{"UpdateIsAtomic", testUpdateIsAtomic},
		{"KeyLimit", testKeyLimit},
		{"Overflow", testOverflow},
		{"GetCounters", testGetCounters},
		{"DeleteCounters", testDeleteCounters},
		{"MissingAndCommunity", testMissingAndCommunity},
		{"FieldsRoundTrip", testFieldsRoundTrip},
		{"ModifyGroup", testModifyGroup},
		{"CreateWithMembers", testCreateWithMembers},
		{"AddMembers", testAddMembers},
		{"GroupFull", testGroupFull},
		{"DeleteMembers", testDeleteMembers},
		{"AVChatRoom", testAVChatRoom},
		{"Roles", testRoles},
		{"MemberPages", testMemberPages},
		{"CommunityPages", testCommunityPages},
		{"PagesWhileAdding", testPagesWhileAdding},
		{"JoinedGroups", testJoinedGroups},
		{"DestroyRemovesMembers", testDestroyRemovesMembers},
		{"ConcurrentAdds", testConcurrentAdds},
		{"DoneContextIsAllOrNothing", testDoneContextIsAllOrNothing},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"ConcurrentMultiKey", testConcurrentMultiKey},
		{"Reopen", testReopen},
		{"FeedSeq", testFeedSeq},
		{"FeedState", testFeedState},
		{"FeedReopen", testFeedReopen},
		{"FeedConcurrent", testFeedConcurrent},
		{"OutboxWrites", testOutboxWrites},
		{"OutboxAsked", testOutboxAsked},
		{"OutboxPages", testOutboxPages},
		{"OutboxConcurrent", testOutboxConcurrent},
		{"OutboxDoneContext", testOutboxDoneContext},
		{"OutboxReopen", testOutboxReopen},
		{"ClaimDelivery", testClaimDelivery},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, b) })
	}
}

const app = 1400000001

var ctx = context.Background()

func open(t *testing.T, b Backend) tally.Store {
	t.Helper()
	s := b.Open(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func mustCreate(t *testing.T, s tally.Store, typ tally.GroupType, id string) string {
	t.Helper()
	return create(t, s, tally.NewGroup{ID: id, Type: typ}, now).ID
}

// now is the time of the suite's calls, unless a case names others.
const now int64 = 1700000000

// build returns the group and members that create_group stores for r at
// time at. A request without a Name gets one.
func build(t *testing.T, r tally.NewGroup, at int64) (*tally.Group, []tally.Member) {
	t.Helper()
	if r.Fields.Name == nil {
		r.Fields.Name = ptr("g " + r.ID)
	}
	g, ms, err := r.Build(at)
	if err != nil {
		t.Fatalf("Build(%+v): %v", r, err)
	}
	return g, ms
}

// create stores the group r at time at, and returns it as stored.
func create(t *testing.T, s tally.Store, r tally.NewGroup, at int64) *tally.Group {
	t.Helper()
	g, ms := build(t, r, at)
	if err := s.CreateGroup(ctx, app, g, ms); err != nil {
		t.Fatalf("CreateGroup(%q): %v", r.ID, err)
	}
	return g
}

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, what string, err error, want tally.Code) {
	t.Helper()
	if got := tally.ErrorCode(err); got != want {
		t.Fatalf("%s: code %d (%v), want %d", what, got, err, want)
	}
}

func counters(kv ...any) []tally.Counter {
	var cs []tally.Counter
	for i := 0; i < len(kv); i += 2 {
		cs = append(cs, tally.Counter{Key: kv[i].(string), Value: int64(kv[i+1].(int))})
	}
	return cs
}

func mustCounters(t *testing.T, s tally.Store, id string, keys ...string) []tally.Counter {
	t.Helper()
	cs, err := s.Counters(ctx, app, id, keys)
	if err != nil {
		t.Fatalf("Counters(%q, %q): %v", id, keys, err)
	}
	return cs
}

func equal(t *testing.T, what string, got, want []tally.Counter) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func testCreateAndLookup(t *testing.T, b Backend) {
	s := open(t, b)
	g, ms := build(t, tally.NewGroup{ID: "room", Type: tally.GroupPublic, Owner: "alice", Fields: tally.GroupChange{
		Name: ptr("Room"), Introduction: ptr("intro"), Notification: ptr("note"), FaceURL: ptr("http://x/y.png"), MaxMemberNum: ptr[int64](500),
	}}, now)
	want := g.Clone()
	if err := s.CreateGroup(ctx, app, g, ms); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("CreateGroup changed the group to %+v, want %+v", g, want)
	}
	res, err := s.Groups(ctx, app, []string{"room", "nope", "room"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Err != nil || res[2].Err != nil || res[0].ID != "room" || res[1].ID != "nope" {
		t.Fatalf("Groups = %+v", res)
	}
	wantCode(t, "missing group", res[1].Err, tally.ErrGroupNotFound)
	if !reflect.DeepEqual(res[0].Group, want) {
		t.Fatalf("Groups()[0] = %+v, want %+v", *res[0].Group, *want)
	}
	if res[0].Members != nil {
		t.Fatalf("Groups without members answered members %+v", res[0].Members)
	}
	other, _ := build(t, tally.NewGroup{ID: "room", Type: tally.GroupPrivate}, now)
	wantCode(t, "same id again", s.CreateGroup(ctx, app, other, nil), tally.ErrGroupIDInUse)
}

func testGroupIDs(t *testing.T, b Backend) {
	s := open(t, b)
	seen := map[string]bool{}
	for _, typ := range tally.GroupTypes {
		for range 20 {
			id := mustCreate(t, s, typ, "")
			prefix := "@TGS#"
			if typ == tally.GroupCommunity {
				prefix = "@TGS#_"
			}
			if !strings.HasPrefix(id, prefix) || tally.CheckGroupID(id) != nil || seen[id] {
				t.Fatalf("generated id %q for %s: want a fresh valid id starting %q", id, typ, prefix)
			}
			seen[id] = true
		}
	}
}

func testDestroy(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, counters("a", 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.DestroyGroup(ctx, app, "g"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "destroy twice", s.DestroyGroup(ctx, app, "g"), tally.ErrGroupNotFound)
	_, err := s.Counters(ctx, app, "g", nil)
	wantCode(t, "counters of destroyed group", err, tally.ErrGroupNotFound)
	mustCreate(t, s, tally.GroupPublic, "g")
	equal(t, "counters of re-created group", mustCounters(t, s, "g"), nil)
	// A backend that keeps a busy group's counters in memory must not
	// carry them over to a new group of the same id.
	got, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, counters("a", 1))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "increase in re-created group", got, counters("a", 1))
}

// testResultsAreTheCallers checks that a caller may change what it is
// given, and what it gave, without changing the store, which may keep busy
// counters in memory.
func testResultsAreTheCallers(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	got, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, counters("a", 1, "b", 2))
	if err != nil {
		t.Fatal(err)
	}
	got[0].Value = 100
	all := mustCounters(t, s, "g")
	all[1].Value = 200
	equal(t, "after changing the results", mustCounters(t, s, "g"), counters("a", 1, "b", 2))

	g, ms := build(t, tally.NewGroup{ID: "m", Type: tally.GroupPublic, Owner: "o", Fields: tally.GroupChange{AppDefinedData: fields("k", "v")},
		Members: []tally.Member{{Account: "a", Role: tally.RoleMember, AppDefinedData: fields("mk", "mv")}}}, now)
	if err := s.CreateGroup(ctx, app, g, ms); err != nil {
		t.Fatal(err)
	}
	wantGroup, wantMembers := g.Clone(), []tally.Member{
		{Account: "o", Role: tally.RoleOwner, JoinTime: now, Seq: 1},
		{Account: "a", Role: tally.RoleMember, JoinTime: now, Seq: 2, AppDefinedData: fields("mk", "mv")},
	}
	g.AppDefinedData[0].Value, g.Name = "changed", "changed"
	ms[1].AppDefinedData[0].Value, ms[1].Account = "changed", "changed"

	lg, lms := mustLookup(t, s, "m")
	lg.AppDefinedData[0].Value, lg.MemberNum = "changed", 99
	lms[1].AppDefinedData[0].Value, lms[0].Role = "changed", tally.RoleMember
	page := mustMembers(t, s, "m", tally.MemberQuery{})
	page.Members[1].AppDefinedData[0].Value, page.Group.AppDefinedData[0].Value = "changed", "changed"
	joined := mustJoined(t, s, "a", tally.JoinedFilter{WithGroups: true})
	joined.Groups[0].Self.AppDefinedData[0].Value, joined.Groups[0].Group.AppDefinedData[0].Value = "changed", "changed"

	lg, lms = mustLookup(t, s, "m")
	if !reflect.DeepEqual(lg, wantGroup) || !reflect.DeepEqual(lms, wantMembers) {
		t.Fatalf("after changing what went in and came out, the group is %+v with %+v,\nwant %+v with %+v", lg, lms, wantGroup, wantMembers)
	}
}

func testAppsAreSeparate(t *testing.T, b Backend) {
	s := open(t, b)
	for _, a := range []uint32{1, app, math.MaxUint32} {
		g, ms := build(t, tally.NewGroup{ID: "same", Type: tally.GroupPublic, Owner: "u"}, now)
		if err := s.CreateGroup(ctx, a, g, ms); err != nil {
			t.Fatalf("app %d: %v", a, err)
		}
		if _, err := s.UpdateCounters(ctx, a, "same", tally.ModeSet, counters("k", int(a%1000))); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []uint32{1, app, math.MaxUint32} {
		cs, err := s.Counters(ctx, a, "same", nil)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, fmt.Sprintf("app %d", a), cs, counters("k", int(a%1000)))
		page, err := s.ListGroups(ctx, a, tally.GroupFilter{Limit: 10})
		if err != nil || page.Total != 1 || len(page.IDs) != 1 {
			t.Fatalf("app %d: ListGroups = %+v, %v", a, page, err)
		}
		joined, err := s.JoinedGroups(ctx, a, "u", tally.JoinedFilter{})
		if err != nil || joined.Total != 1 || len(joined.Groups) != 1 {
			t.Fatalf("app %d: JoinedGroups = %+v, %v", a, joined, err)
		}
	}
}

func testList(t *testing.T, b Backend) {
	s := open(t, b)
	var all, public []string
	for i := range 25 {
		typ := tally.GroupPrivate
		if i%3 == 0 {
			typ = tally.GroupPublic
		}
		id := mustCreate(t, s, typ, fmt.Sprintf("g%02d", i))
		all = append(all, id)
		if typ == tally.GroupPublic {
			public = append(public, id)
		}
	}
	// Destroying one in the middle removes it from the list and the totals.
	if err := s.DestroyGroup(ctx, app, "g03"); err != nil {
		t.Fatal(err)
	}
	all = slices.DeleteFunc(all, func(id string) bool { return id == "g03" })
	public = slices.DeleteFunc(public, func(id string) bool { return id == "g03" })

	for _, c := range []struct {
		typ   tally.GroupType
		limit int
		want  []string
	}{
		{"", 10000, all},
		{"", 7, all},
		{"", 1, all},
		{tally.GroupPublic, 2, public},
		{tally.GroupAVChatRoom, 5, nil},
	} {
		var got []string
		var next uint64
		for pages := 0; ; pages++ {
			page, err := s.ListGroups(ctx, app, tally.GroupFilter{Type: c.typ, Limit: c.limit, Next: next})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != len(c.want) {
				t.Fatalf("type %q: Total = %d, want %d", c.typ, page.Total, len(c.want))
			}
			if len(page.IDs) > c.limit || pages > len(all) {
				t.Fatalf("type %q limit %d: page of %d", c.typ, c.limit, len(page.IDs))
			}
			got = append(got, page.IDs...)
			if page.Next == 0 {
				break
			}
			next = page.Next
		}
		if !slices.Equal(got, c.want) {
			t.Fatalf("type %q limit %d: listed %v, want %v", c.typ, c.limit, got, c.want)
		}
	}
}

func testUpdateModes(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupAVChatRoom, "g")
	steps := []struct {
		mode  tally.Mode
		items []tally.Counter
		want  []tally.Counter // The response, in request order.
		state []tally.Counter // All counters afterwards, sorted.
	}{
		{tally.ModeSet, counters("like", 5, "unlike", 1), counters("like", 5, "unlike", 1), counters("like", 5, "unlike", 1)},
		{tally.ModeIncrease, counters("unlike", 2, "like", 10), counters("unlike", 3, "like", 15), counters("like", 15, "unlike", 3)},
		{tally.ModeDecrease, counters("like", 20, "new", 4), counters("like", -5, "new", -4), counters("like", -5, "new", -4, "unlike", 3)},
		{tally.ModeIncrease, counters("fresh", -7), counters("fresh", -7), counters("fresh", -7, "like", -5, "new", -4, "unlike", 3)},
		{tally.ModeSet, counters("like", math.MaxInt64), counters("like", math.MaxInt64), counters("fresh", -7, "like", math.MaxInt64, "new", -4, "unlike", 3)},
		{tally.ModeDecrease, counters("new", -4), counters("new", 0), counters("fresh", -7, "like", math.MaxInt64, "new", 0, "unlike", 3)},
	}
	for i, st := range steps {
		got, err := s.UpdateCounters(ctx, app, "g", st.mode, st.items)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		equal(t, fmt.Sprintf("step %d response", i), got, st.want)
		equal(t, fmt.Sprintf("step %d state", i), mustCounters(t, s, "g"), st.state)
	}
}

func testUpdateIsAtomic(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, counters("a", 1, "b", math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
	// The first item is fine, the second overflows: neither may stick.
	_, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, counters("a", 1, "b", 1, "c", 1))
	wantCode(t, "overflow", err, tally.ErrInvalidParameter)
	equal(t, "after failed update", mustCounters(t, s, "g"), counters("a", 1, "b", math.MaxInt64))
}

func testKeyLimit(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	var first []tally.Counter
	for i := range 18 {
		first = append(first, tally.Counter{Key: fmt.Sprintf("k%02d", i), Value: 1})
	}
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, first); err != nil {
		t.Fatal(err)
	}
	// 18 + 3 new keys is 21: refused, and nothing changes.
	_, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, counters("k00", 1, "x", 1, "y", 1, "z", 1))
	wantCode(t, "21 keys", err, tally.ErrTooManyCounters)
	equal(t, "after refused update", mustCounters(t, s, "g"), first)
	// Existing keys do not count twice: 18 + 2 new is exactly 20.
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, counters("k00", 1, "x", 1, "y", 1)); err != nil {
		t.Fatalf("20 keys: %v", err)
	}
	if n := len(mustCounters(t, s, "g")); n != 20 {
		t.Fatalf("%d keys, want 20", n)
	}
	// Deleting makes room again.
	if err := s.DeleteCounters(ctx, app, "g", []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, counters("z", 1)); err != nil {
		t.Fatalf("after delete: %v", err)
	}
}

func testOverflow(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	for _, c := range []struct {
		start int64
		mode  tally.Mode
		by    int64
		ok    bool
	}{
		{math.MaxInt64 - 1, tally.ModeIncrease, 1, true},
		{math.MaxInt64, tally.ModeIncrease, 1, false},
		{math.MinInt64, tally.ModeIncrease, -1, false},
		{math.MinInt64 + 1, tally.ModeDecrease, 1, true},
		{math.MinInt64, tally.ModeDecrease, 1, false},
		{0, tally.ModeDecrease, math.MinInt64, false},
		{-1, tally.ModeDecrease, math.MinInt64, true},
		{math.MaxInt64, tally.ModeDecrease, -1, false},
	} {
		if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, []tally.Counter{{Key: "k", Value: c.start}}); err != nil {
			t.Fatal(err)
		}
		_, err := s.UpdateCounters(ctx, app, "g", c.mode, []tally.Counter{{Key: "k", Value: c.by}})
		if (err == nil) != c.ok {
			t.Fatalf("%d %s %d: err %v, want ok=%v", c.start, c.mode, c.by, err, c.ok)
		}
		if !c.ok {
			wantCode(t, "overflow", err, tally.ErrInvalidParameter)
			equal(t, "after overflow", mustCounters(t, s, "g"), []tally.Counter{{Key: "k", Value: c.start}})
		}
	}
}

func testGetCounters(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	equal(t, "empty group", mustCounters(t, s, "g"), nil)
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, counters("b", 2, "a", 1, "B", 3, "ab", 4)); err != nil {
		t.Fatal(err)
	}
	equal(t, "all, bytewise order", mustCounters(t, s, "g"), counters("B", 3, "a", 1, "ab", 4, "b", 2))
	equal(t, "some, request order", mustCounters(t, s, "g", "b", "missing", "B"), counters("b", 2, "B", 3))
	equal(t, "only missing", mustCounters(t, s, "g", "zzz"), nil)
}

func testDeleteCounters(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, counters("a", 1, "b", 2, "c", 3)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCounters(ctx, app, "g", []string{"b", "missing"}); err != nil {
		t.Fatal(err)
	}
	equal(t, "after deleting b", mustCounters(t, s, "g"), counters("a", 1, "c", 3))
	if err := s.DeleteCounters(ctx, app, "g", nil); err != nil {
		t.Fatal(err)
	}
	equal(t, "after deleting all", mustCounters(t, s, "g"), nil)
	if err := s.DeleteCounters(ctx, app, "g", nil); err != nil {
		t.Fatalf("deleting from an empty group: %v", err)
	}
	// A deleted key starts again from 0.
	got, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, counters("a", 1))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "increase after delete", got, counters("a", 1))
}

func testMissingAndCommunity(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupCommunity, "@TGS#_c")
	for _, c := range []struct {
		id   string
		want tally.Code
	}{{"nope", tally.ErrGroupNotFound}, {"@TGS#_c", tally.ErrNoPermission}} {
		_, err := s.UpdateCounters(ctx, app, c.id, tally.ModeSet, counters("a", 1))
		wantCode(t, "update "+c.id, err, c.want)
		_, err = s.Counters(ctx, app, c.id, nil)
		wantCode(t, "get "+c.id, err, c.want)
		wantCode(t, "delete "+c.id, s.DeleteCounters(ctx, app, c.id, nil), c.want)
	}
}

// testConcurrentIncrements hammers one key from many goroutines: no update
// may be lost, and every answer must be a distinct value.
func testConcurrentIncrements(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupAVChatRoom, "live")
	const workers, each = 32, 50
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				got, err := s.UpdateCounters(ctx, app, "live", tally.ModeIncrease, counters("like", 1))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[got[0].Value] {
					t.Errorf("value %d answered twice", got[0].Value)
				}
				seen[got[0].Value] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	equal(t, "after concurrent increments", mustCounters(t, s, "live"), counters("like", workers*each))
}

// testConcurrentMultiKey checks that readers never see half of a request:
// every update moves both keys together.
func testConcurrentMultiKey(t *testing.T, b Backend) {
	s := open(t, b)
	mustCreate(t, s, tally.GroupPublic, "g")
	const writers, each = 8, 40
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, counters("x", 1, "y", 2)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			cs, err := s.Counters(ctx, app, "g", []string{"x", "y"})
			if err != nil {
				t.Error(err)
				return
			}
			if len(cs) == 2 && cs[1].Value != 2*cs[0].Value {
				t.Errorf("torn read: %v", cs)
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	readers.Wait()
	equal(t, "final", mustCounters(t, s, "g"), counters("x", writers*each, "y", 2*writers*each))
}

func testReopen(t *testing.T, b Backend) {
	if b.Reopen == nil {
		t.Skip("backend cannot reopen")
	}
	s := b.Open(t)
	id := ""
	{
		g, ms := build(t, tally.NewGroup{Type: tally.GroupPublic, Owner: "o"}, now)
		if err := s.CreateGroup(ctx, app, g, ms); err != nil {
			t.Fatal(err)
		}
		id = g.ID
	}
	mustCreate(t, s, tally.GroupPrivate, "gone")
	if _, err := s.UpdateCounters(ctx, app, id, tally.ModeSet, counters("a", 7, "b", -3)); err != nil {
		t.Fatal(err)
	}
	if err := s.DestroyGroup(ctx, app, "gone"); err != nil {
		t.Fatal(err)
	}
	// Members, with one gone again, and fields changed after the create.
	mustAdd(t, s, id, now+1, "a", "b", "c")
	mustDelete(t, s, id, now+2, "b")
	if err := s.ModifyGroup(ctx, app, id, &tally.GroupChange{MuteAll: ptr(true), AppDefinedData: fields("k", "v")}, now+3); err != nil {
		t.Fatal(err)
	}
	community := create(t, s, tally.NewGroup{ID: "@TGS#_c", Type: tally.GroupCommunity, Owner: "o", SupportTopic: true}, now+4).ID
	wantGroup, wantMembers := mustLookup(t, s, id)
	wantJoined := mustJoined(t, s, "o", tally.JoinedFilter{WithGroups: true})

	s = b.Reopen(t, s)
	defer s.Close()
	equal(t, "after reopen", mustCounters(t, s, id), counters("a", 7, "b", -3))
	page, err := s.ListGroups(ctx, app, tally.GroupFilter{Limit: 10})
	if err != nil || page.Total != 2 || !slices.Equal(page.IDs, []string{id, community}) {
		t.Fatalf("ListGroups after reopen = %+v, %v", page, err)
	}
	g, ms := mustLookup(t, s, id)
	if !reflect.DeepEqual(g, wantGroup) || !reflect.DeepEqual(ms, wantMembers) {
		t.Fatalf("after reopen the group is %+v with %+v,\nwant %+v with %+v", g, ms, wantGroup, wantMembers)
	}
	if got := mustJoined(t, s, "o", tally.JoinedFilter{WithGroups: true}); !reflect.DeepEqual(got, wantJoined) {
		t.Fatalf("after reopen o joined %+v, want %+v", got, wantJoined)
	}
	// Sequence numbers continue after a restart instead of reusing old
	// ones: of groups, and of members.
	mustCreate(t, s, tally.GroupPrivate, "after")
	page, err = s.ListGroups(ctx, app, tally.GroupFilter{Limit: 10})
	if err != nil || !slices.Equal(page.IDs, []string{id, community, "after"}) {
		t.Fatalf("ListGroups after create = %+v, %v", page, err)
	}
	mustAdd(t, s, id, now+5, "d")
	if _, ms := mustLookup(t, s, id); !slices.Equal(seqs(ms), []uint64{1, 2, 4, 5}) {
		t.Fatalf("after reopen and an add, members have Seqs %v, want [1 2 4 5]", seqs(ms))
	}
}

// testDoneContextIsAllOrNothing makes every call with a context that is
// already done, canceled or past its deadline, as the HTTP layer's is once
// its client has half-closed the connection. A store may go on regardless
// or give up, but each call must do all that it does with a live context
// or, failing with the context's error, nothing.
func testDoneContextIsAllOrNothing(t *testing.T, b Backend) {
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	expired, cancelExpired := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancelExpired()
	for _, done := range []struct {
		name string
		ctx  context.Context
	}{{"canceled", canceled}, {"expired", expired}} {
		t.Run(done.name, func(t *testing.T) { callsWithDoneContext(t, b, done.ctx) })
	}
}

func callsWithDoneContext(t *testing.T, b Backend, done context.Context) {
	s := open(t, b)
	first := create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o"}, now)
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, counters("a", 1, "b", 2)); err != nil {
		t.Fatal(err)
	}
	// ran reports whether a call went on despite its done context; one
	// that gave up must say why, as an internal error.
	ran := func(call string, err error) bool {
		t.Helper()
		if err == nil {
			return true
		}
		if !errors.Is(err, done.Err()) {
			t.Fatalf("%s with a done context: %v, want nil or an error wrapping %v", call, err, done.Err())
		}
		wantCode(t, call+" with a done context", err, tally.ErrInternal)
		return false
	}

	groups := []string{"g"} // The app's groups, in creation order.
	owned := []string{"g"}  // The groups o owns, in the order o joined them.
	g, ms := build(t, tally.NewGroup{ID: "new", Type: tally.GroupPublic, Owner: "o"}, now)
	if ran("CreateGroup", s.CreateGroup(done, app, g, ms)) {
		groups = append(groups, "new")
		owned = append(owned, "new")
	}
	generated, _ := build(t, tally.NewGroup{Type: tally.GroupPublic}, now)
	if ran("CreateGroup of a generated id", s.CreateGroup(done, app, generated, nil)) {
		groups = append(groups, generated.ID)
	}
	want := counters("a", 1, "b", 2)
	if got, err := s.UpdateCounters(done, app, "g", tally.ModeIncrease, counters("a", 1)); ran("UpdateCounters", err) {
		equal(t, "UpdateCounters with a done context", got, counters("a", 2))
		want = counters("a", 2, "b", 2)
	}
	if ran("DeleteCounters", s.DeleteCounters(done, app, "g", []string{"b"})) {
		want = want[:1]
	}
	if got, err := s.Counters(done, app, "g", nil); ran("Counters", err) {
		equal(t, "Counters with a done context", got, want)
	}
	equal(t, "counters after the calls", mustCounters(t, s, "g"), want)

	// The calls on members and fields, each checked against what it did.
	members := []string{"o"}
	if res, err := s.AddMembers(done, app, "g", []string{"a", "b"}, now+1); ran("AddMembers", err) {
		if !slices.Equal(res, []tally.AddResult{tally.Added, tally.Added}) {
			t.Fatalf("AddMembers with a done context = %v", res)
		}
		members = append(members, "a", "b")
	}
	if ran("DeleteMembers", s.DeleteMembers(done, app, "g", []string{"a"}, now+2)) {
		members = slices.DeleteFunc(members, func(a string) bool { return a == "a" })
	}
	name := first.Name
	if ran("ModifyGroup", s.ModifyGroup(done, app, "g", &tally.GroupChange{Name: ptr("renamed")}, now+3)) {
		name = "renamed"
	}
	if page, err := s.Members(done, app, "g", tally.MemberQuery{}); ran("Members", err) && !slices.Equal(accounts(page.Members), members) {
		t.Fatalf("Members with a done context = %v, want %v", accounts(page.Members), members)
	}
	if roles, err := s.Roles(done, app, "g", []string{"o"}); ran("Roles", err) && !slices.Equal(roles, []tally.Role{tally.RoleOwner}) {
		t.Fatalf("Roles with a done context = %v", roles)
	}
	if page, err := s.JoinedGroups(done, app, "o", tally.JoinedFilter{}); ran("JoinedGroups", err) && !slices.Equal(joinedIDs(page), owned) {
		t.Fatalf("JoinedGroups with a done context = %+v, want %v", page, owned)
	}
	if res, err := s.Groups(done, app, []string{"g"}, true); ran("Groups", err) &&
		(len(res) != 1 || res[0].Err != nil || res[0].Group.Name != name || !slices.Equal(accounts(res[0].Members), members)) {
		t.Fatalf("Groups with a done context = %+v", res)
	}
	lg, lms := mustLookup(t, s, "g")
	if lg.Name != name || !slices.Equal(accounts(lms), members) || int(lg.MemberNum) != len(members) {
		t.Fatalf("after the calls g is %+v with %v; want name %q and members %v", lg, accounts(lms), name, members)
	}
	if page, err := s.ListGroups(done, app, tally.GroupFilter{Limit: 10}); ran("ListGroups", err) && !slices.Equal(page.IDs, groups) {
		t.Fatalf("ListGroups with a done context listed %v, want %v", page.IDs, groups)
	}
	if ran("DestroyGroup", s.DestroyGroup(done, app, "g")) {
		groups = groups[1:]
		_, err := s.Counters(ctx, app, "g", nil)
		wantCode(t, "counters of the group destroyed with a done context", err, tally.ErrGroupNotFound)
		for _, m := range members {
			if page := mustJoined(t, s, m, tally.JoinedFilter{}); slices.ContainsFunc(page.Groups, func(j tally.JoinedGroup) bool { return j.ID == "g" }) {
				t.Fatalf("%s is still in g, destroyed with a done context", m)
			}
		}
	} else {
		equal(t, "counters after a destroy that gave up", mustCounters(t, s, "g"), want)
	}
	page, err := s.ListGroups(ctx, app, tally.GroupFilter{Limit: 10})
	if err != nil || page.Total != len(groups) || !slices.Equal(page.IDs, groups) {
		t.Fatalf("ListGroups after the calls = %+v, %v; want %v", page, err, groups)
	}
}
