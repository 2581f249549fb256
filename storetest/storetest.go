// Package storetest is the contract suite that every tally.Store backend
// must pass. A backend's own test calls Run with a way to open a fresh,
// empty store.
package storetest

import (
	"context"
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

// Backend opens stores for the suite.
type Backend struct {
	// Open returns a new, empty store; the suite closes it.
	Open func(t *testing.T) tally.Store
	// Reopen closes s and opens it again on the same data, to show that
	// what was acknowledged survives. Nil skips the durability cases.
	Reopen func(t *testing.T, s tally.Store) tally.Store
}

// Run runs the whole contract against b.
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
		{"DoneContextIsAllOrNothing", testDoneContextIsAllOrNothing},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"ConcurrentMultiKey", testConcurrentMultiKey},
		{"Reopen", testReopen},
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
	g := &tally.Group{ID: id, Type: typ, Name: "g " + id}
	if err := s.CreateGroup(ctx, app, g); err != nil {
		t.Fatalf("CreateGroup(%q): %v", id, err)
	}
	return g.ID
}

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
	g := &tally.Group{ID: "room", Type: tally.GroupPublic, Name: "Room", Owner: "alice",
		Introduction: "intro", Notification: "note", FaceURL: "http://x/y.png", MaxMemberCount: 500}
	if err := s.CreateGroup(ctx, app, g); err != nil {
		t.Fatal(err)
	}
	if g.CreateTime == 0 {
		t.Fatal("CreateTime not set")
	}
	res, err := s.Groups(ctx, app, []string{"room", "nope", "room"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Err != nil || res[2].Err != nil || res[0].ID != "room" || res[1].ID != "nope" {
		t.Fatalf("Groups = %+v", res)
	}
	wantCode(t, "missing group", res[1].Err, tally.ErrGroupNotFound)
	if *res[0].Group != *g {
		t.Fatalf("Groups()[0] = %+v, want %+v", *res[0].Group, *g)
	}
	wantCode(t, "same id again", s.CreateGroup(ctx, app, &tally.Group{ID: "room", Type: tally.GroupPrivate, Name: "x"}), tally.ErrGroupIDInUse)
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
// given without changing the store, which may keep busy counters in memory.
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
}

func testAppsAreSeparate(t *testing.T, b Backend) {
	s := open(t, b)
	for _, a := range []uint32{1, app, math.MaxUint32} {
		if err := s.CreateGroup(ctx, a, &tally.Group{ID: "same", Type: tally.GroupPublic, Name: "n"}); err != nil {
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
		g := &tally.Group{Type: tally.GroupPublic, Name: "kept"}
		if err := s.CreateGroup(ctx, app, g); err != nil {
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
	s = b.Reopen(t, s)
	defer s.Close()
	equal(t, "after reopen", mustCounters(t, s, id), counters("a", 7, "b", -3))
	page, err := s.ListGroups(ctx, app, tally.GroupFilter{Limit: 10})
	if err != nil || page.Total != 1 || !slices.Equal(page.IDs, []string{id}) {
		t.Fatalf("ListGroups after reopen = %+v, %v", page, err)
	}
	// Sequence numbers continue after a restart instead of reusing old ones.
	mustCreate(t, s, tally.GroupPrivate, "after")
	page, err = s.ListGroups(ctx, app, tally.GroupFilter{Limit: 10})
	if err != nil || !slices.Equal(page.IDs, []string{id, "after"}) {
		t.Fatalf("ListGroups after create = %+v, %v", page, err)
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
	mustCreate(t, s, tally.GroupPublic, "g")
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
	if ran("CreateGroup", s.CreateGroup(done, app, &tally.Group{ID: "new", Type: tally.GroupPublic, Name: "n"})) {
		groups = append(groups, "new")
	}
	generated := &tally.Group{Type: tally.GroupPublic, Name: "n"}
	if ran("CreateGroup of a generated id", s.CreateGroup(done, app, generated)) {
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
	if res, err := s.Groups(done, app, []string{"g"}); ran("Groups", err) && (len(res) != 1 || res[0].Err != nil) {
		t.Fatalf("Groups with a done context = %+v", res)
	}
	if page, err := s.ListGroups(done, app, tally.GroupFilter{Limit: 10}); ran("ListGroups", err) && !slices.Equal(page.IDs, groups) {
		t.Fatalf("ListGroups with a done context listed %v, want %v", page.IDs, groups)
	}
	if ran("DestroyGroup", s.DestroyGroup(done, app, "g")) {
		groups = groups[1:]
		_, err := s.Counters(ctx, app, "g", nil)
		wantCode(t, "counters of the group destroyed with a done context", err, tally.ErrGroupNotFound)
	} else {
		equal(t, "counters after a destroy that gave up", mustCounters(t, s, "g"), want)
	}
	page, err := s.ListGroups(ctx, app, tally.GroupFilter{Limit: 10})
	if err != nil || page.Total != len(groups) || !slices.Equal(page.IDs, groups) {
		t.Fatalf("ListGroups after the calls = %+v, %v; want %v", page, err, groups)
	}
}
