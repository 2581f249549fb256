package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
)

// testFieldsRoundTrip creates a group of every type with every field a
// request can set, and reads each back as it was stored.
func testFieldsRoundTrip(t *testing.T, b Backend) {
	s := open(t, b)
	for i, typ := range tally.GroupTypes {
		for _, c := range []struct {
			name string
			r    tally.NewGroup
		}{
			{"defaults", tally.NewGroup{}},
			{"every field", tally.NewGroup{Owner: "o", SupportTopic: true, Fields: tally.GroupChange{
				Name:         ptr(strings.Repeat("n", tally.MaxGroupNameLen)),
				Introduction: ptr("intro\x00\n"),
				Notification: ptr(strings.Repeat("é", tally.MaxNotificationLen/2)),
				FaceURL:      ptr("https://x/y.png"),
				MaxMemberNum: ptr[int64](1),
				ApplyJoin:    ptr(tally.FreeAccess),
				MuteAll:      ptr(true),
				AppDefinedData: fields("k0", "\x00\x01", "k1", strings.Repeat("v", tally.MaxGroupFieldValLen),
					"k2", "2", "k3", "3", "k4", "4", "k5", "5", "k6", "6", "k7", "7", "k8", "8", strings.Repeat("k", tally.MaxGroupFieldKeyLen), "9"),
			}}},
			{"other options", tally.NewGroup{Fields: tally.GroupChange{ApplyJoin: ptr(tally.DisableApply), MuteAll: ptr(false), Introduction: ptr("")}}},
		} {
			r := c.r
			r.Type = typ
			r.ID = fmt.Sprintf("@TGS#_%d %s", i, c.name)
			if typ != tally.GroupAVChatRoom {
				r.Fields.InviteJoin = ptr(tally.NeedPermission)
			}
			if typ != tally.GroupCommunity {
				r.ID = r.ID[len("@TGS#_"):]
			}
			g := create(t, s, r, now-int64(i))
			want := g.Clone()
			got, _ := mustLookup(t, s, r.ID)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, %s:\ngot  %+v\nwant %+v", typ, c.name, got, want)
			}
		}
	}
}

// testModifyGroup changes a group's fields step by step. A change bumps
// InfoSeq and sets LastInfoTime; a request that changes nothing, or fails,
// leaves the group as it was.
func testModifyGroup(t *testing.T, b Backend) {
	s := open(t, b)
	want := create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o", Members: []tally.Member{
		{Account: "a", Role: tally.RoleMember}, {Account: "b", Role: tally.RoleMember},
	}}, now)
	// keys returns fields d, e, ... for n keys, set to value.
	keys := func(n int, value string) []tally.CustomField {
		var fs []tally.CustomField
		for i := range n {
			fs = append(fs, tally.CustomField{Key: string(rune('d' + i)), Value: value})
		}
		return fs
	}
	for i, c := range []struct {
		name string
		ch   tally.GroupChange
		code tally.Code
		edit func(g *tally.Group) // Nil when nothing changes.
	}{
		{"name", tally.GroupChange{Name: ptr("new")}, tally.OK, func(g *tally.Group) { g.Name = "new" }},
		{"same name", tally.GroupChange{Name: ptr("new")}, tally.OK, nil},
		{"nothing", tally.GroupChange{}, tally.OK, nil},
		{"empty name", tally.GroupChange{Name: ptr("")}, tally.ErrInvalidParameter, nil},
		{"MaxMemberNum below MemberNum", tally.GroupChange{MaxMemberNum: ptr[int64](2)}, tally.ErrInvalidParameter, nil},
		{"MaxMemberNum at MemberNum", tally.GroupChange{MaxMemberNum: ptr[int64](3)}, tally.OK, func(g *tally.Group) { g.MaxMemberNum = 3 }},
		{"MaxMemberNum above the cap", tally.GroupChange{MaxMemberNum: ptr[int64](6001)}, tally.ErrInvalidParameter, nil},
		{"options", tally.GroupChange{ApplyJoin: ptr(tally.FreeAccess), InviteJoin: ptr(tally.NeedPermission), MuteAll: ptr(true)}, tally.OK,
			func(g *tally.Group) {
				g.ApplyJoin, g.InviteJoin, g.MuteAll = tally.FreeAccess, tally.NeedPermission, true
			}},
		{"a bad option, with a good change", tally.GroupChange{Name: ptr("x"), ApplyJoin: ptr(tally.DisableInvite)}, tally.ErrInvalidParameter, nil},
		{"set fields", tally.GroupChange{AppDefinedData: fields("a", "1", "b", "2")}, tally.OK,
			func(g *tally.Group) { g.AppDefinedData = fields("a", "1", "b", "2") }},
		{"upsert fields", tally.GroupChange{AppDefinedData: fields("b", "\x00x", "c", "3")}, tally.OK,
			func(g *tally.Group) { g.AppDefinedData = fields("a", "1", "b", "\x00x", "c", "3") }},
		{"same field values", tally.GroupChange{AppDefinedData: fields("c", "3")}, tally.OK, nil},
		{"delete a field", tally.GroupChange{AppDefinedData: fields("a", "")}, tally.OK,
			func(g *tally.Group) { g.AppDefinedData = fields("b", "\x00x", "c", "3") }},
		{"delete a missing field", tally.GroupChange{AppDefinedData: fields("zz", "")}, tally.OK, nil},
		{"eleven keys", tally.GroupChange{AppDefinedData: keys(9, "v")}, tally.ErrInvalidParameter, nil},
		{"ten keys", tally.GroupChange{AppDefinedData: keys(8, "v")}, tally.OK,
			func(g *tally.Group) { g.AppDefinedData = append(fields("b", "\x00x", "c", "3"), keys(8, "v")...) }},
		{"delete every field", tally.GroupChange{AppDefinedData: append(fields("b", "", "c", ""), keys(8, "")...)}, tally.OK,
			func(g *tally.Group) { g.AppDefinedData = nil }},
	} {
		at := now + int64(i+1)
		err := s.ModifyGroup(ctx, app, "g", &c.ch, at)
		wantCode(t, c.name, err, c.code)
		if c.edit != nil {
			c.edit(want)
			want.InfoSeq++
			want.LastInfoTime = at
		}
		if got, _ := mustLookup(t, s, "g"); !reflect.DeepEqual(got, want) {
			t.Fatalf("after %q:\ngot  %+v\nwant %+v", c.name, got, want)
		}
	}
	wantCode(t, "ModifyGroup of a missing group", s.ModifyGroup(ctx, app, "nope", &tally.GroupChange{Name: ptr("x")}, now), tally.ErrGroupNotFound)
}
