package client_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
)

// TestMembers adds, reads, pages and removes members, and reads a user's
// groups and roles.
func TestMembers(t *testing.T) {
	s := startServer(t)
	clk := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s.api.Now = clk.Now
	c := s.client(t, client.WithClock(clk.Now))
	ctx := context.Background()
	t0 := clk.Now().Unix()

	_, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupPublic, Name: "g", GroupID: "g", OwnerAccount: "o"})
	must(t, "create_group", err)
	_, err = c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupCommunity, Name: "c", GroupID: "@TGS#_c", SupportTopic: true,
		MemberList: []client.NewMember{{MemberAccount: "u", Role: client.RoleAdmin}, {MemberAccount: "v"}, {MemberAccount: "w"}}})
	must(t, "create_group", err)

	clk.Advance(time.Minute)
	added, err := c.AddGroupMember(ctx, client.AddGroupMemberRequest{GroupID: "g", Silence: true,
		MemberList: []client.MemberToAdd{{MemberAccount: "u"}, {MemberAccount: "o"}, {MemberAccount: "u"}, {MemberAccount: "v"}}})
	must(t, "add_group_member", err)
	want := []client.AddMemberResult{{MemberAccount: "u", Result: tally.Added}, {MemberAccount: "o", Result: tally.AlreadyMember},
		{MemberAccount: "u", Result: tally.AlreadyMember}, {MemberAccount: "v", Result: tally.Added}}
	if !reflect.DeepEqual(added.MemberList, want) {
		t.Errorf("add_group_member:\n got %+v\nwant %+v", added.MemberList, want)
	}

	page, err := c.GetGroupMemberInfo(ctx, client.GetGroupMemberInfoRequest{GroupID: "g", Limit: 2, Offset: 1})
	must(t, "get_group_member_info", err)
	wantPage := &client.GetGroupMemberInfoResponse{MemberNum: 3, MemberList: []client.MemberInfo{
		{MemberAccount: "u", Role: client.RoleMember, JoinTime: t0 + 60, MsgFlag: "AcceptAndNotify", AppMemberDefinedData: []tally.CustomField{}},
		{MemberAccount: "v", Role: client.RoleMember, JoinTime: t0 + 60, MsgFlag: "AcceptAndNotify", AppMemberDefinedData: []tally.CustomField{}},
	}}
	if !reflect.DeepEqual(page, wantPage) {
		t.Errorf("get_group_member_info:\n got %+v\nwant %+v", page, wantPage)
	}

	// A Community pages with Next, "" on the last page.
	var accounts []string
	req := client.GetGroupMemberInfoRequest{GroupID: "@TGS#_c", Limit: 1, MemberInfoFilter: []string{"Role"}}
	for range 10 {
		page, err := c.GetGroupMemberInfo(ctx, req)
		must(t, "get_group_member_info", err)
		for _, m := range page.MemberList {
			accounts = append(accounts, m.MemberAccount+":"+string(m.Role))
		}
		if page.Next == "" {
			break
		}
		req.Next = page.Next
	}
	if want := []string{"u:Admin", "v:Member", "w:Member"}; !reflect.DeepEqual(accounts, want) {
		t.Errorf("the Community's members, paged: %v, want %v", accounts, want)
	}

	joined, err := c.GetJoinedGroupList(ctx, client.GetJoinedGroupListRequest{MemberAccount: "u", ResponseFilter: &client.JoinedGroupFilter{
		GroupBaseInfoFilter: []string{"Type", "SupportTopic"}, SelfInfoFilter: []string{"Role", "JoinTime"},
	}})
	must(t, "get_joined_group_list", err)
	wantJoined := &client.GetJoinedGroupListResponse{TotalCount: 2, GroupIDList: []client.JoinedGroup{
		{GroupID: "@TGS#_c", GroupBaseInfo: client.GroupBaseInfo{Type: tally.GroupCommunity, SupportTopic: true}, SelfInfo: &client.SelfInfo{Role: client.RoleAdmin, JoinTime: t0}},
		{GroupID: "g", GroupBaseInfo: client.GroupBaseInfo{Type: tally.GroupPublic}, SelfInfo: &client.SelfInfo{Role: client.RoleMember, JoinTime: t0 + 60}},
	}}
	if !reflect.DeepEqual(joined, wantJoined) {
		t.Errorf("get_joined_group_list:\n got %+v\nwant %+v", joined, wantJoined)
	}
	bare, err := c.GetJoinedGroupList(ctx, client.GetJoinedGroupListRequest{MemberAccount: "u", Limit: 1, Offset: 1})
	must(t, "get_joined_group_list", err)
	if bare.TotalCount != 2 || len(bare.GroupIDList) != 1 || bare.GroupIDList[0].GroupID != "g" || bare.GroupIDList[0].SelfInfo != nil {
		t.Errorf("get_joined_group_list, unfiltered page 2: %+v", bare)
	}

	must(t, "delete_group_member", c.DeleteGroupMember(ctx, client.DeleteGroupMemberRequest{GroupID: "g", MemberToDelAccount: []string{"u", "nobody"}, Reason: "test"}))
	roles, err := c.GetRoleInGroup(ctx, client.GetRoleInGroupRequest{GroupID: "g", UserAccount: []string{"o", "u", "v"}})
	must(t, "get_role_in_group", err)
	wantRoles := []client.MemberRole{{MemberAccount: "o", Role: client.RoleOwner}, {MemberAccount: "u", Role: client.RoleNotMember}, {MemberAccount: "v", Role: client.RoleMember}}
	if !reflect.DeepEqual(roles.UserIDList, wantRoles) {
		t.Errorf("get_role_in_group:\n got %+v\nwant %+v", roles.UserIDList, wantRoles)
	}
}
