package tally

import (
	"strings"
	"testing"
)

func TestGroupExportCheck(t *testing.T) {
	good := func() GroupExport {
		return GroupExport{
			App: 1400000001, Seq: 3,
			Group: Group{ID: "g", Type: GroupPublic, Name: "n", Owner: "o", ApplyJoin: NeedPermission, InviteJoin: DisableInvite, InfoSeq: 1, MemberNum: 2},
			Members: []Member{
				{Account: "o", Role: RoleOwner, Seq: 1},
				{Account: "m", Role: RoleMember, Seq: 4, AppDefinedData: []CustomField{{Key: "k", Value: "\x00"}}},
			},
			Counters: []Counter{{Key: "a", Value: 1}, {Key: "b", Value: -1}},
		}
	}
	if g := good(); g.Check() != nil {
		t.Fatalf("Check of a good export: %v", g.Check())
	}
	tests := []struct {
		name   string
		change func(*GroupExport)
		want   string
	}{
		{"no Seq", func(e *GroupExport) { e.Seq = 0 }, "no creation number"},
		{"bad id", func(e *GroupExport) { e.Group.ID = "a\x00" }, "printable ASCII"},
		{"unknown type", func(e *GroupExport) { e.Group.Type = "Work" }, `type "Work"`},
		{"unknown join option", func(e *GroupExport) { e.Group.ApplyJoin = "Sometimes" }, `join option "Sometimes"`},
		{"MemberNum off", func(e *GroupExport) { e.Group.MemberNum = 3 }, "MemberNum is 3, and 2 members"},
		{"members of an AVChatRoom", func(e *GroupExport) { e.Group.Type = GroupAVChatRoom }, "keeps no members"},
		{"counters of a Community", func(e *GroupExport) {
			e.Group.Type, e.Group.ID = GroupCommunity, "@TGS#_c"
		}, "has no counters"},
		{"member twice", func(e *GroupExport) { e.Members[1].Account = "o" }, `member "o" is given twice`},
		{"Seqs out of order", func(e *GroupExport) { e.Members[1].Seq = 1 }, "has Seq 1, after one of Seq 1"},
		{"no role", func(e *GroupExport) { e.Members[1].Role = RoleNone }, "has role 0"},
		{"bad account", func(e *GroupExport) { e.Members[1].Account = "" }, "member:"},
		{"counters unsorted", func(e *GroupExport) { e.Counters[0].Key = "c" }, `counter "b" follows "c"`},
		{"counter twice", func(e *GroupExport) { e.Counters[1].Key = "a" }, "distinct and sorted"},
		{"empty counter key", func(e *GroupExport) { e.Counters[0].Key = "" }, "counter is 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good()
			tt.change(&e)
			err := e.Check()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "group ") {
				t.Fatalf("Check = %v, want an error naming the group and saying %q", err, tt.want)
			}
			if ErrorCode(err) != ErrInternal {
				t.Errorf("Check's error has code %d; a refused import is no client's fault", ErrorCode(err))
			}
		})
	}
}
