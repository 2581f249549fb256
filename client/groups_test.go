package client_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
)

// TestGroups walks a group through its life: created with a generated and
// a chosen id, read, listed, changed and destroyed.
func TestGroups(t *testing.T) {
	s := startServer(t)
	clk := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s.api.Now = clk.Now
	c := s.client(t, client.WithClock(clk.Now))
	ctx := context.Background()

	gen, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: "Work", Name: "w"})
	must(t, "create_group", err)
	if !strings.HasPrefix(gen.GroupID, "@TGS#") || gen.Type != tally.GroupPrivate || gen.HugeGroupFlag != 0 {
		t.Errorf("create_group answered %+v; want a generated id, type Private", gen)
	}
	av, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupAVChatRoom, Name: "av", GroupID: "av"})
	must(t, "create_group", err)
	if *av != (client.CreateGroupResponse{GroupID: "av", Type: tally.GroupAVChatRoom, HugeGroupFlag: 1}) {
		t.Errorf("create_group answered %+v", av)
	}
	_, err = c.CreateGroup(ctx, client.CreateGroupRequest{
		Type: tally.GroupPublic, Name: "g", GroupID: "g", OwnerAccount: "o", Introduction: "i",
		Notification: "n", FaceURL: "http://f", MaxMemberCount: 50, ApplyJoinOption: tally.FreeAccess,
		AppDefinedData: []tally.CustomField{{Key: "a", Value: "1"}},
		MemberList:     []client.NewMember{{MemberAccount: "m", Role: client.RoleAdmin, AppMemberDefinedData: []tally.CustomField{{Key: "x", Value: "y"}}}},
	})
	must(t, "create_group", err)

	info, err := c.GetGroupInfo(ctx, client.GetGroupInfoRequest{GroupIDList: []string{"g", "nope", "bad\tid", "av"}})
	must(t, "get_group_info", err)
	if len(info.GroupInfo) != 4 {
		t.Fatalf("get_group_info answered %d entries for 4 ids", len(info.GroupInfo))
	}
	created := clk.Now().Unix()
	want := client.GroupInfo{
		GroupID: "g",
		GroupBaseInfo: client.GroupBaseInfo{
			Type: tally.GroupPublic, Name: "g", AppID: appMain, Introduction: "i", Notification: "n",
			FaceURL: "http://f", OwnerAccount: "o", CreateTime: created, InfoSeq: 1, LastInfoTime: created,
			NextMsgSeq: 1, MemberNum: 2, MaxMemberNum: 50, ApplyJoinOption: tally.FreeAccess,
			InviteJoinOption: tally.DisableInvite, MuteAllMember: "Off", ShutUpAllMember: "Off",
		},
		AppDefinedData: []tally.CustomField{{Key: "a", Value: "1"}},
		MemberList: []client.MemberInfo{
			{MemberAccount: "o", Role: client.RoleOwner, JoinTime: created, MsgFlag: "AcceptAndNotify", AppMemberDefinedData: []tally.CustomField{}},
			{MemberAccount: "m", Role: client.RoleAdmin, JoinTime: created, MsgFlag: "AcceptAndNotify", AppMemberDefinedData: []tally.CustomField{{Key: "x", Value: "y"}}},
		},
	}
	if !reflect.DeepEqual(info.GroupInfo[0], want) {
		t.Errorf("group g:\n got %+v\nwant %+v", info.GroupInfo[0], want)
	}
	if err := info.GroupInfo[0].Err(); err != nil {
		t.Errorf("group g: Err() = %v", err)
	}
	// A missing or malformed id fails its entry, not the call.
	wantCode(t, info.GroupInfo[1].Err(), tally.ErrGroupNotFound)
	wantCode(t, info.GroupInfo[2].Err(), tally.ErrInvalidGroupID)
	if g := info.GroupInfo[1]; g.GroupID != "nope" || g.Name != "" {
		t.Errorf("the missing group's entry: %+v", g)
	}
	if g := info.GroupInfo[3]; g.Err() != nil || g.MemberList != nil || g.InviteJoinOption != "" {
		t.Errorf("the AVChatRoom's entry: %+v; want no members and no InviteJoinOption", g)
	}

	filtered, err := c.GetGroupInfo(ctx, client.GetGroupInfoRequest{GroupIDList: []string{"g"}, ResponseFilter: &client.GroupInfoFilter{
		GroupBaseInfoFilter: []string{"Name", "MemberNum"}, MemberInfoFilter: []string{"Role"},
	}})
	must(t, "get_group_info, filtered", err)
	f := filtered.GroupInfo[0]
	if f.Name != "g" || f.MemberNum != 2 || f.Type != "" || f.AppDefinedData != nil || len(f.MemberList) != 2 || f.MemberList[1].Role != client.RoleAdmin || f.MemberList[1].JoinTime != 0 {
		t.Errorf("filtered: %+v", f)
	}

	clk.Advance(time.Minute)
	must(t, "modify_group_base_info", c.ModifyGroupBaseInfo(ctx, client.ModifyGroupBaseInfoRequest{
		GroupID: "g", Name: new("renamed"), Introduction: new(""), MaxMemberNum: new(uint32(10)),
		MuteAllMember: new("On"), AppDefinedData: []tally.CustomField{{Key: "a", Value: ""}, {Key: "b", Value: "2"}},
	}))
	info, err = c.GetGroupInfo(ctx, client.GetGroupInfoRequest{GroupIDList: []string{"g"}})
	must(t, "get_group_info", err)
	g := info.GroupInfo[0]
	if g.Name != "renamed" || g.Introduction != "" || g.Notification != "n" || g.MaxMemberNum != 10 || g.MuteAllMember != "On" ||
		g.InfoSeq != 2 || g.LastInfoTime != created+60 || !reflect.DeepEqual(g.AppDefinedData, []tally.CustomField{{Key: "b", Value: "2"}}) {
		t.Errorf("after the change: %+v", g)
	}

	// Paging through the app's groups, in the order they were created.
	var ids []string
	req := client.GetAppIDGroupListRequest{Limit: 2}
	for {
		page, err := c.GetAppIDGroupList(ctx, req)
		must(t, "get_appid_group_list", err)
		if page.TotalCount != 3 {
			t.Errorf("TotalCount %d, want 3", page.TotalCount)
		}
		for _, e := range page.GroupIDList {
			ids = append(ids, e.GroupID)
		}
		if page.Next == 0 {
			break
		}
		req.Next = page.Next
	}
	if want := []string{gen.GroupID, "av", "g"}; !slices.Equal(ids, want) {
		t.Errorf("paged through %v, want %v", ids, want)
	}
	public, err := c.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{GroupType: tally.GroupPublic})
	must(t, "get_appid_group_list", err)
	if public.TotalCount != 1 || len(public.GroupIDList) != 1 || public.GroupIDList[0].GroupID != "g" {
		t.Errorf("the Public groups: %+v", public)
	}

	must(t, "destroy_group", c.DestroyGroup(ctx, client.DestroyGroupRequest{GroupID: "g"}))
	info, err = c.GetGroupInfo(ctx, client.GetGroupInfoRequest{GroupIDList: []string{"g"}})
	must(t, "get_group_info", err)
	wantCode(t, info.GroupInfo[0].Err(), tally.ErrGroupNotFound)
}
