package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
	"github.com/tallyserver/tally/usersig"
)

// TestFailures makes calls the server refuses, one of each kind of cause,
// and checks that each returns a *client.Error with the server's code.
func TestFailures(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	c := s.client(t)
	_, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupPublic, Name: "g", GroupID: "g", OwnerAccount: "o", MaxMemberCount: 2})
	must(t, "create_group", err)
	_, err = c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupCommunity, Name: "c", GroupID: "@TGS#_c"})
	must(t, "create_group", err)

	standard := s.clientAs(t, appStandard, admin, client.WithSecretKey(keyStandard))
	notAdmin := s.clientAs(t, appMain, "bob", client.WithSecretKey(keyMain))
	wrongKey := s.clientAs(t, appMain, admin, client.WithSecretKey("not-the-key"))
	othersSig := s.clientAs(t, appMain, admin, client.WithUserSig(usersig.Sign(appMain, keyMain, "ops", 600, time.Now())))
	badSig := s.clientAs(t, appMain, admin, client.WithUserSig("not a sig"))
	noApp := s.clientAs(t, 1400009999, admin, client.WithSecretKey(keyMain))
	tests := []struct {
		name string
		call func() error
		want tally.Code
	}{
		{"destroy a missing group", func() error {
			return c.DestroyGroup(ctx, client.DestroyGroupRequest{GroupID: "nope"})
		}, tally.ErrGroupNotFound},
		{"read the counters of a missing group", func() error {
			_, err := c.GetGroupCounter(ctx, client.GetGroupCounterRequest{GroupID: "nope"})
			return err
		}, tally.ErrGroupNotFound},
		{"update no counter", func() error {
			_, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{GroupID: "g"})
			return err
		}, tally.ErrInvalidParameter},
		{"update 21 counters", func() error {
			items := make([]tally.Counter, 21)
			for i := range items {
				items[i] = tally.Counter{Key: string(rune('a' + i)), Value: 1}
			}
			_, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{GroupID: "g", GroupCounter: items})
			return err
		}, tally.ErrTooManyCounters},
		{"counters of a Community", func() error {
			_, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{GroupID: "@TGS#_c", GroupCounter: []tally.Counter{{Key: "k", Value: 1}}})
			return err
		}, tally.ErrNoPermission},
		{"create a group with a taken id", func() error {
			_, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupPublic, Name: "g", GroupID: "g"})
			return err
		}, tally.ErrGroupIDInUse},
		{"create a group with a malformed id", func() error {
			_, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupPublic, Name: "g", GroupID: "@TGS#mine"})
			return err
		}, tally.ErrInvalidGroupID},
		{"create a group with no name", func() error {
			_, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupPublic})
			return err
		}, tally.ErrInvalidParameter},
		{"fill a group past its MaxMemberNum", func() error {
			_, err := c.AddGroupMember(ctx, client.AddGroupMemberRequest{GroupID: "g", MemberList: []client.MemberToAdd{{MemberAccount: "a"}, {MemberAccount: "b"}}})
			return err
		}, tally.ErrGroupFull},
		{"remove the owner", func() error {
			return c.DeleteGroupMember(ctx, client.DeleteGroupMemberRequest{GroupID: "g", MemberToDelAccount: []string{"o"}})
		}, tally.ErrNoPermission},
		{"a role filter that names no role", func() error {
			_, err := c.GetGroupMemberInfo(ctx, client.GetGroupMemberInfoRequest{GroupID: "g", MemberRoleFilter: []client.Role{client.RoleNotMember}})
			return err
		}, tally.ErrInvalidParameter},
		{"an empty MuteAllMember", func() error {
			return c.ModifyGroupBaseInfo(ctx, client.ModifyGroupBaseInfoRequest{GroupID: "g", MuteAllMember: new("")})
		}, tally.ErrInvalidParameter},
		{"an identifier that is no admin", func() error {
			_, err := notAdmin.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{})
			return err
		}, tally.ErrNotAdmin},
		{"an edition without counters", func() error {
			_, err := standard.GetGroupCounter(ctx, client.GetGroupCounterRequest{GroupID: "g"})
			return err
		}, tally.ErrEditionRequired},
		{"a sig made with another key", func() error {
			_, err := wrongKey.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{})
			return err
		}, tally.ErrUserSigBadHMAC},
		{"a fixed sig made for another identifier", func() error {
			_, err := othersSig.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{})
			return err
		}, tally.ErrUserSigIdentifier},
		{"a fixed sig that is no sig", func() error {
			_, err := badSig.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{})
			return err
		}, tally.ErrUserSigMalformed},
		{"an app the server does not have", func() error {
			_, err := noApp.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{})
			return err
		}, tally.ErrNoSuchApp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := wantCode(t, tt.call(), tt.want)
			if e.Info == "" {
				t.Error("the error has no Info")
			}
		})
	}
}
