package postgres_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
)

// exported returns a group as a store would export it, with members of
// the given Seqs (the first the owner) and counters.
func exported(app uint32, seq uint64, typ tally.GroupType, id string, memberSeqs []uint64, cs ...tally.Counter) tally.GroupExport {
	e := tally.GroupExport{App: app, Seq: seq, Counters: cs, Group: tally.Group{
		ID: id, Type: typ, Name: "n\x00" + id, Introduction: "\xff\xfe", CreateTime: 1700000000 + int64(seq),
		MaxMemberNum: typ.DefaultMaxMembers(), ApplyJoin: typ.DefaultApplyJoin(), InviteJoin: typ.DefaultInviteJoin(),
		AppDefinedData: []tally.CustomField{{Key: "k", Value: "\x00v\x01"}}, InfoSeq: seq + 1, LastInfoTime: 1700000100,
		SupportTopic: typ == tally.GroupCommunity, MuteAll: seq%2 == 0,
	}}
	for i, s := range memberSeqs {
		m := tally.Member{Account: "u" + string(rune('a'+i)), Role: tally.RoleMember, Seq: s, JoinTime: 1700000000 + int64(s),
			AppDefinedData: []tally.CustomField{{Key: "m", Value: "\x00"}}}
		if i == 0 {
			m.Role, e.Group.Owner = tally.RoleOwner, m.Account
		}
		e.Members = append(e.Members, m)
	}
	e.Group.MemberNum = uint32(len(e.Members))
	return e
}

// TestImport imports groups of two apps in two calls and reads them back
// through the store's calls: everything as exported, in creation order,
// with cursors that are the exported numbers; the groups and members
// created afterwards come after the imported ones. Imports that break a
// rule are refused whole.
func TestImport(t *testing.T) {
	ctx := context.Background()
	s := open(t, shared(t).CreateDB(t))
	const a, b = 1400000001, 1400000002
	first := []tally.GroupExport{
		exported(a, 2, tally.GroupPrivate, "p", []uint64{1, 3}, tally.Counter{Key: "a", Value: -1}, tally.Counter{Key: "b", Value: 1 << 40}),
		exported(a, 5, tally.GroupAVChatRoom, "@TGS#2av", nil, tally.Counter{Key: "viewers", Value: 9}),
		exported(b, 1, tally.GroupChatRoom, "p", []uint64{2}),
	}
	second := []tally.GroupExport{
		exported(a, 9, tally.GroupCommunity, "@TGS#_c", []uint64{1, 2, 7}),
		exported(a, 10, tally.GroupPublic, "pub", nil),
	}
	for _, batch := range [][]tally.GroupExport{first, second} {
		if err := s.Import(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	all := append(slices.Clone(first), second...)

	if apps, err := s.Apps(ctx); err != nil || !slices.Equal(apps, []uint32{a, b}) {
		t.Fatalf("Apps = %v, %v; want [%d %d]", apps, err, a, b)
	}
	wantOrder := map[uint32][]string{a: {"p", "@TGS#2av", "@TGS#_c", "pub"}, b: {"p"}}
	for app, want := range wantOrder {
		page, err := s.ListGroups(ctx, app, tally.GroupFilter{Limit: 100})
		if err != nil || !slices.Equal(page.IDs, want) || page.Total != len(want) {
			t.Errorf("app %d: ListGroups = %+v, %v; want %q", app, page, err, want)
		}
	}
	// A cursor is a creation number, as it was where the groups came from.
	if page, err := s.ListGroups(ctx, a, tally.GroupFilter{Limit: 1, Next: 5}); err != nil || !slices.Equal(page.IDs, []string{"@TGS#_c"}) || page.Next != 9 {
		t.Errorf("ListGroups after 5 = %+v, %v; want @TGS#_c and the cursor 9", page, err)
	}
	if page, err := s.ListGroups(ctx, a, tally.GroupFilter{Type: tally.GroupCommunity}); err != nil || page.Total != 1 {
		t.Errorf("Communities of app %d: %+v, %v; want a total of 1", a, page, err)
	}
	for _, e := range all {
		res, err := s.Groups(ctx, e.App, []string{e.Group.ID}, true)
		if err != nil || res[0].Err != nil {
			t.Fatalf("Groups(%q) = %+v, %v", e.Group.ID, res, err)
		}
		if !reflect.DeepEqual(res[0].Group, &e.Group) || !reflect.DeepEqual(res[0].Members, e.Members) {
			t.Errorf("app %d, group %q:\ngot  %+v %+v\nwant %+v %+v", e.App, e.Group.ID, *res[0].Group, res[0].Members, e.Group, e.Members)
		}
		if e.Group.Type.HasCounters() {
			if cs, err := s.Counters(ctx, e.App, e.Group.ID, nil); err != nil || !reflect.DeepEqual(cs, e.Counters) {
				t.Errorf("app %d, group %q: counters %v, %v; want %v", e.App, e.Group.ID, cs, err, e.Counters)
			}
		}
	}
	joined, err := s.JoinedGroups(ctx, a, "ua", tally.JoinedFilter{})
	if err != nil || joined.Total != 2 {
		t.Errorf("JoinedGroups(ua) = %+v, %v; want the two groups ua owns", joined, err)
	}

	// What is created next comes after what was imported.
	g := &tally.Group{ID: "new", Type: tally.GroupPublic, Name: "new", InfoSeq: 1}
	if err := s.CreateGroup(ctx, a, g, nil); err != nil {
		t.Fatal(err)
	}
	if page, err := s.ListGroups(ctx, a, tally.GroupFilter{Limit: 1, Next: 10}); err != nil || !slices.Equal(page.IDs, []string{"new"}) {
		t.Errorf("ListGroups after the imported ones = %+v, %v; want the new group", page, err)
	}
	if _, err := s.AddMembers(ctx, a, "@TGS#_c", []string{"late"}, 1700001000); err != nil {
		t.Fatal(err)
	}
	mp, err := s.Members(ctx, a, "@TGS#_c", tally.MemberQuery{})
	if err != nil || len(mp.Members) != 4 || mp.Members[3].Account != "late" || mp.Members[3].Seq != 8 {
		t.Errorf("members after an add: %+v, %v; want late with Seq 8, after the imported 7", mp.Members, err)
	}

	refused := []struct {
		name  string
		batch []tally.GroupExport
		want  string
	}{
		{"numbered below what the app holds", []tally.GroupExport{exported(a, 3, tally.GroupPublic, "late", nil)}, "holds a group numbered 11"},
		{"an id in use", []tally.GroupExport{exported(a, 40, tally.GroupPublic, "ok", nil), exported(a, 41, tally.GroupPublic, "pub", nil)}, "group id is in use"},
		{"out of order", []tally.GroupExport{exported(b, 30, tally.GroupPublic, "x", nil), exported(b, 25, tally.GroupPublic, "y", nil)}, "creation order"},
		{"failing Check", []tally.GroupExport{func() tally.GroupExport {
			e := exported(b, 50, tally.GroupPublic, "z", []uint64{1})
			e.Group.MemberNum = 2
			return e
		}()}, "MemberNum is 2"},
	}
	for _, r := range refused {
		err := s.Import(ctx, r.batch)
		if err == nil || !strings.Contains(err.Error(), r.want) || !strings.HasPrefix(err.Error(), "postgres: import: ") {
			t.Errorf("%s: Import = %v, want an error saying %q", r.name, err, r.want)
		}
		for _, e := range r.batch {
			res, err := s.Groups(ctx, e.App, []string{e.Group.ID}, false)
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Err == nil && !slices.ContainsFunc(all, func(x tally.GroupExport) bool { return x.App == e.App && x.Group.ID == e.Group.ID }) {
				t.Errorf("%s: group %q of app %d was imported", r.name, e.Group.ID, e.App)
			}
		}
	}
	for app, n := range map[uint32]int{a: 5, b: 1} {
		if page, err := s.ListGroups(ctx, app, tally.GroupFilter{}); err != nil || page.Total != n {
			t.Errorf("app %d after the refusals: %+v, %v; want a total of %d", app, page, err, n)
		}
	}
}
