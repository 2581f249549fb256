package postgres_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/tallyserver/tally"
)

// TestBytesKeptExactly stores NUL, bytes above 0x7f and strings that a
// collation would order differently in every field the schema keeps as
// bytea, and reads them back byte for byte, in bytewise order where the
// API promises one: counters by key, a user's groups by id after join
// time.
func TestBytesKeptExactly(t *testing.T) {
	s := open(t, shared(t).CreateDB(t))
	ctx := context.Background()
	const app = 4294967295
	nul := "a\x00b"
	r := tally.NewGroup{
		ID: "B-\x7eid", Type: tally.GroupPublic, Owner: "own\x00er",
		Fields: tally.GroupChange{
			Name: ptr("na\x00me é"), Introduction: ptr("\x00"), Notification: ptr("n\x00"), FaceURL: ptr("f\x00"),
			AppDefinedData: []tally.CustomField{{Key: "k\x00", Value: "\x00\xff"}, {Key: "z", Value: nul}},
		},
		Members: []tally.Member{{Account: "m\x00", Role: tally.RoleAdmin, AppDefinedData: []tally.CustomField{{Key: "x", Value: "\x00"}}}},
	}
	g, members, err := r.Build(1700000000)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, app, g, members); err != nil {
		t.Fatal(err)
	}
	// A second group the member joins at the same time, whose id sorts
	// before the first bytewise ("B" < "a") but after it in most
	// collations.
	r2 := tally.NewGroup{ID: "a-id", Type: tally.GroupPrivate, Fields: tally.GroupChange{Name: ptr("n")},
		Members: []tally.Member{{Account: "m\x00", Role: tally.RoleMember}}}
	g2, members2, err := r2.Build(1700000000)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, app, g2, members2); err != nil {
		t.Fatal(err)
	}

	res, err := s.Groups(ctx, app, []string{g.ID}, true)
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	if !reflect.DeepEqual(res[0].Group, g) {
		t.Fatalf("group = %+v, want %+v", res[0].Group, g)
	}
	for i := range members {
		members[i].Seq = uint64(i + 1)
	}
	if !reflect.DeepEqual(res[0].Members, members) {
		t.Fatalf("members = %+v, want %+v", res[0].Members, members)
	}

	keys := []tally.Counter{{Key: "b", Value: 1}, {Key: "a\x00", Value: 2}, {Key: "a", Value: 3}, {Key: "\xff", Value: 4}, {Key: "Z", Value: 5}}
	if _, err := s.UpdateCounters(ctx, app, g.ID, tally.ModeSet, keys); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Counters(ctx, app, g.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, func(a, b tally.Counter) int {
		return slices.Compare([]byte(a.Key), []byte(b.Key))
	})
	if !slices.Equal(cs, sorted) {
		t.Fatalf("counters = %v, want %v", cs, sorted)
	}

	page, err := s.JoinedGroups(ctx, app, "m\x00", tally.JoinedFilter{WithGroups: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range page.Groups {
		ids = append(ids, j.ID)
	}
	if page.Total != 2 || !slices.Equal(ids, []string{g.ID, g2.ID}) {
		t.Fatalf("joined = %d %q, want 2 [%q %q]", page.Total, ids, g.ID, g2.ID)
	}
	if !reflect.DeepEqual(page.Groups[0].Group, g) || !reflect.DeepEqual(page.Groups[0].Self, members[1]) {
		t.Fatalf("joined[0] = %+v, want %+v and %+v", page.Groups[0], g, members[1])
	}
	roles, err := s.Roles(ctx, app, g.ID, []string{"own\x00er", "m\x00", "m"})
	if err != nil || !slices.Equal(roles, []tally.Role{tally.RoleOwner, tally.RoleAdmin, tally.RoleNone}) {
		t.Fatalf("roles = %v, %v", roles, err)
	}
}

func ptr[T any](v T) *T { return &v }
