package tally

import (
	"reflect"
	"testing"
)

func TestPlanAdd(t *testing.T) {
	g := &Group{ID: "g", Type: GroupPublic, MaxMemberNum: 4, MemberNum: 2, InfoSeq: 3}
	for _, c := range []struct {
		name     string
		g        *Group
		accounts []string
		member   []bool
		results  []AddResult
		added    int
		code     Code
	}{
		{name: "new and old", g: g, accounts: []string{"a", "o", "a", "b"}, member: []bool{false, true, false, false},
			results: []AddResult{Added, AlreadyMember, AlreadyMember, Added}, added: 2},
		{name: "only members", g: g, accounts: []string{"o"}, member: []bool{true}, results: []AddResult{AlreadyMember}},
		{name: "one too many", g: g, accounts: []string{"a", "b", "c"}, member: make([]bool, 3), code: ErrGroupFull},
		{name: "AVChatRoom", g: &Group{Type: GroupAVChatRoom}, accounts: []string{"a"}, member: []bool{false}, code: ErrNoPermission},
	} {
		t.Run(c.name, func(t *testing.T) {
			results, added, next, err := PlanAdd(c.g, c.accounts, c.member, 9)
			if ErrorCode(err) != c.code {
				t.Fatalf("error %v, want code %d", err, c.code)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(results, c.results) || len(added) != c.added {
				t.Fatalf("results %v, added %v", results, added)
			}
			for _, m := range added {
				if m.Role != RoleMember || m.JoinTime != 9 {
					t.Fatalf("added %+v", m)
				}
			}
			bump := uint64(0)
			if c.added > 0 {
				bump = 1
			}
			if next.MemberNum != c.g.MemberNum+uint32(c.added) || next.InfoSeq != c.g.InfoSeq+bump {
				t.Fatalf("next %+v", next)
			}
		})
	}
}

func TestPlanDelete(t *testing.T) {
	g := &Group{ID: "g", Type: GroupPublic, MemberNum: 3, InfoSeq: 3}
	owner := &Member{Account: "o", Role: RoleOwner}
	a := &Member{Account: "a", Role: RoleMember}
	for _, c := range []struct {
		name    string
		g       *Group
		members []*Member
		removed int
		code    Code
	}{
		{name: "member, repeat and stranger", g: g, members: []*Member{a, a, nil}, removed: 1},
		{name: "strangers only", g: g, members: []*Member{nil}},
		{name: "the owner", g: g, members: []*Member{a, owner}, code: ErrNoPermission},
		{name: "AVChatRoom", g: &Group{Type: GroupAVChatRoom}, members: []*Member{nil}, code: ErrInvalidParameter},
	} {
		t.Run(c.name, func(t *testing.T) {
			removed, next, err := PlanDelete(c.g, c.members, 9)
			if ErrorCode(err) != c.code {
				t.Fatalf("error %v, want code %d", err, c.code)
			}
			if err != nil {
				return
			}
			if len(removed) != c.removed || next.MemberNum != c.g.MemberNum-uint32(c.removed) {
				t.Fatalf("removed %v, next %+v", removed, next)
			}
			if (next.InfoSeq != c.g.InfoSeq) != (c.removed > 0) {
				t.Fatalf("InfoSeq %d after removing %d", next.InfoSeq, c.removed)
			}
		})
	}
}

func TestCheckUserID(t *testing.T) {
	for id, ok := range map[string]bool{"a": true, "用户": true, "": false, string(make([]byte, 32)): true, string(make([]byte, 33)): false, "\xff": false} {
		if err := CheckUserID("f", id); (err == nil) != ok {
			t.Errorf("CheckUserID(%q) = %v", id, err)
		}
	}
}
