package tally

import (
	"reflect"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestApplyGroupChange(t *testing.T) {
	base := &Group{ID: "g", Type: GroupPublic, Name: "n", MaxMemberNum: 10, MemberNum: 3,
		ApplyJoin: NeedPermission, InviteJoin: DisableInvite, InfoSeq: 4, LastInfoTime: 100,
		AppDefinedData: []CustomField{{"a", "1"}, {"b", "2"}}}
	av := &Group{ID: "av", Type: GroupAVChatRoom, Name: "n", ApplyJoin: NeedPermission, InfoSeq: 1}
	for _, c := range []struct {
		name    string
		g       *Group
		ch      GroupChange
		want    func(g *Group) // Edits a copy of the input into the expected result.
		changed bool
		code    Code
	}{
		{name: "nothing", g: base},
		{name: "same values", g: base, ch: GroupChange{Name: ptr("n"), MaxMemberNum: ptr[int64](10), AppDefinedData: []CustomField{{"a", "1"}}}},
		{name: "every field", g: base, changed: true,
			ch: GroupChange{Name: ptr("m"), Introduction: ptr("i"), Notification: ptr("x"), FaceURL: ptr("f"),
				MaxMemberNum: ptr[int64](3), ApplyJoin: ptr(FreeAccess), InviteJoin: ptr(NeedPermission), MuteAll: ptr(true),
				AppDefinedData: []CustomField{{"a", ""}, {"b", "3"}, {"c", "4"}}},
			want: func(g *Group) {
				g.Name, g.Introduction, g.Notification, g.FaceURL = "m", "i", "x", "f"
				g.MaxMemberNum, g.ApplyJoin, g.InviteJoin, g.MuteAll = 3, FreeAccess, NeedPermission, true
				g.AppDefinedData = []CustomField{{"b", "3"}, {"c", "4"}}
			}},
		{name: "removing the last custom key", g: &Group{Type: GroupPublic, AppDefinedData: []CustomField{{"a", "1"}}}, changed: true,
			ch: GroupChange{AppDefinedData: []CustomField{{"a", ""}}}, want: func(g *Group) { g.AppDefinedData = nil }},
		{name: "AVChatRoom ignores MaxMemberNum", g: av, ch: GroupChange{MaxMemberNum: ptr[int64](-5)}},
		{name: "AVChatRoom has no invitations", g: av, ch: GroupChange{InviteJoin: ptr(FreeAccess)}, code: ErrInvalidParameter},
		{name: "empty name", g: base, ch: GroupChange{Name: ptr("")}, code: ErrInvalidParameter},
		{name: "long face url", g: base, ch: GroupChange{FaceURL: ptr(string(make([]byte, 501)))}, code: ErrInvalidParameter},
		{name: "cap below members", g: base, ch: GroupChange{MaxMemberNum: ptr[int64](2)}, code: ErrInvalidParameter},
		{name: "cap over the type's", g: base, ch: GroupChange{MaxMemberNum: ptr[int64](6001)}, code: ErrInvalidParameter},
		{name: "a Community's cap", g: &Group{Type: GroupCommunity}, ch: GroupChange{MaxMemberNum: ptr[int64](100000)}, changed: true,
			want: func(g *Group) { g.MaxMemberNum = 100000 }},
		{name: "apply option of invitations", g: base, ch: GroupChange{ApplyJoin: ptr(DisableInvite)}, code: ErrInvalidParameter},
		{name: "invite option of applications", g: base, ch: GroupChange{InviteJoin: ptr(DisableApply)}, code: ErrInvalidParameter},
		{name: "repeated key", g: base, ch: GroupChange{AppDefinedData: []CustomField{{"k", "1"}, {"k", "2"}}}, code: ErrInvalidParameter},
		{name: "eleventh key", g: &Group{Type: GroupPublic, AppDefinedData: make10()}, ch: GroupChange{AppDefinedData: []CustomField{{"new", "v"}}}, code: ErrInvalidParameter},
		{name: "replacing at ten keys", g: &Group{Type: GroupPublic, AppDefinedData: make10()}, changed: true,
			ch: GroupChange{AppDefinedData: []CustomField{{"k0", "new"}}}, want: func(g *Group) { g.AppDefinedData[0].Value = "new" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := c.g.Clone()
			got, changed, err := ApplyGroupChange(c.g, &c.ch, 200)
			if ErrorCode(err) != c.code {
				t.Fatalf("error %v, want code %d", err, c.code)
			}
			if !reflect.DeepEqual(c.g, before) {
				t.Fatalf("the input changed: %+v", c.g)
			}
			if err != nil {
				return
			}
			want := c.g.Clone()
			if c.want != nil {
				c.want(want)
			}
			if c.changed {
				want.InfoSeq, want.LastInfoTime = c.g.InfoSeq+1, 200
			}
			if changed != c.changed || !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, %v; want %+v, %v", got, changed, want, c.changed)
			}
		})
	}
}

func make10() []CustomField {
	fs := make([]CustomField, 10)
	for i := range fs {
		fs[i] = CustomField{Key: "k" + string(rune('0'+i)), Value: "v"}
	}
	return fs
}

func TestNewGroupBuild(t *testing.T) {
	for _, c := range []struct {
		name    string
		r       NewGroup
		members []Member
		max     uint32
		code    Code
	}{
		{name: "defaults", r: NewGroup{Type: GroupPrivate, Fields: GroupChange{Name: ptr("n")}}, max: 200},
		{name: "owner and members", max: 2000,
			r: NewGroup{Type: GroupPublic, Owner: "o", Fields: GroupChange{Name: ptr("n")},
				Members: []Member{{Account: "a", Role: RoleAdmin, AppDefinedData: []CustomField{{"k", "v"}, {"e", ""}}}, {Account: "b", Role: RoleMember}}},
			members: []Member{{Account: "o", Role: RoleOwner, JoinTime: 50}, {Account: "a", Role: RoleAdmin, JoinTime: 50, AppDefinedData: []CustomField{{"k", "v"}}},
				{Account: "b", Role: RoleMember, JoinTime: 50}}},
		{name: "AVChatRoom owner is no member", r: NewGroup{Type: GroupAVChatRoom, Owner: "o", Fields: GroupChange{Name: ptr("n"), MaxMemberNum: ptr[int64](9)}}},
		{name: "AVChatRoom members", r: NewGroup{Type: GroupAVChatRoom, Fields: GroupChange{Name: ptr("n")}, Members: []Member{{Account: "a", Role: RoleMember}}}, code: ErrNoPermission},
		{name: "no name", r: NewGroup{Type: GroupPublic}, code: ErrInvalidParameter},
		{name: "cap zero", r: NewGroup{Type: GroupPublic, Fields: GroupChange{Name: ptr("n"), MaxMemberNum: ptr[int64](0)}}, code: ErrInvalidParameter},
		{name: "full", r: NewGroup{Type: GroupPublic, Owner: "o", Fields: GroupChange{Name: ptr("n"), MaxMemberNum: ptr[int64](1)}, Members: []Member{{Account: "a", Role: RoleMember}}}, code: ErrGroupFull},
		{name: "owner in the list", r: NewGroup{Type: GroupPublic, Owner: "o", Fields: GroupChange{Name: ptr("n")}, Members: []Member{{Account: "o", Role: RoleMember}}}, code: ErrInvalidParameter},
		{name: "repeated member", r: NewGroup{Type: GroupPublic, Fields: GroupChange{Name: ptr("n")}, Members: []Member{{Account: "a", Role: RoleMember}, {Account: "a", Role: RoleMember}}}, code: ErrInvalidParameter},
		{name: "owner role", r: NewGroup{Type: GroupPublic, Fields: GroupChange{Name: ptr("n")}, Members: []Member{{Account: "a", Role: RoleOwner}}}, code: ErrInvalidParameter},
		{name: "admin of a Private group", r: NewGroup{Type: GroupPrivate, Fields: GroupChange{Name: ptr("n")}, Members: []Member{{Account: "a", Role: RoleAdmin}}}, code: ErrInvalidParameter},
		{name: "custom id of a Community", r: NewGroup{ID: "c", Type: GroupCommunity, Fields: GroupChange{Name: ptr("n")}}, code: ErrInvalidGroupID},
		{name: "long owner", r: NewGroup{Type: GroupPublic, Owner: string(make([]byte, 33)), Fields: GroupChange{Name: ptr("n")}}, code: ErrInvalidParameter},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, members, err := c.r.Build(50)
			if ErrorCode(err) != c.code {
				t.Fatalf("error %v, want code %d", err, c.code)
			}
			if err != nil {
				return
			}
			if g.CreateTime != 50 || g.LastInfoTime != 50 || g.InfoSeq != 1 || g.MemberNum != uint32(len(members)) || g.MaxMemberNum != c.max {
				t.Fatalf("group %+v with %d members; want MaxMemberNum %d", g, len(members), c.max)
			}
			if !reflect.DeepEqual(members, c.members) {
				t.Fatalf("members %+v, want %+v", members, c.members)
			}
		})
	}
}
