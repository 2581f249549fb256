package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/tallyserver/tally"
)

// TestMembers runs the member calls through their rules on PostgreSQL:
// results and Seqs of an add, an owner that cannot be removed, pages by
// offset and role, a Community's cursor, and an AVChatRoom that keeps no
// members.
func TestMembers(t *testing.T) {
	s := open(t, shared(t).CreateDB(t))
	ctx := context.Background()
	const app = 1400000001
	create := func(id string, typ tally.GroupType) *tally.Group {
		t.Helper()
		r := tally.NewGroup{ID: id, Type: typ, Fields: tally.GroupChange{Name: ptr("n")}}
		if typ != tally.GroupAVChatRoom {
			r.Owner = "owner"
		}
		g, ms, err := r.Build(100)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateGroup(ctx, app, g, ms); err != nil {
			t.Fatal(err)
		}
		return g
	}
	accounts := func(ms []tally.Member) (out []string) {
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s/%d", m.Account, m.Seq))
		}
		return out
	}

	create("pub", tally.GroupPublic)
	res, err := s.AddMembers(ctx, app, "pub", []string{"a", "owner", "b", "a", "c"}, 200)
	if err != nil || !slices.Equal(res, []tally.AddResult{tally.Added, tally.AlreadyMember, tally.Added, tally.AlreadyMember, tally.Added}) {
		t.Fatalf("AddMembers = %v, %v", res, err)
	}
	wantCode(t, "remove the owner", s.DeleteMembers(ctx, app, "pub", []string{"a", "owner"}, 300), tally.ErrNoPermission)
	if err := s.DeleteMembers(ctx, app, "pub", []string{"b", "nobody", "b"}, 300); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMembers(ctx, app, "pub", []string{"b"}, 400); err != nil {
		t.Fatal(err)
	}
	page, err := s.Members(ctx, app, "pub", tally.MemberQuery{})
	if err != nil {
		t.Fatal(err)
	}
	// b came back with a new Seq, after c.
	if got, want := accounts(page.Members), []string{"owner/1", "a/2", "c/4", "b/5"}; !slices.Equal(got, want) {
		t.Fatalf("members = %v, want %v", got, want)
	}
	if g := page.Group; g.MemberNum != 4 || g.InfoSeq != 4 || g.LastInfoTime != 400 {
		t.Fatalf("group after the calls: MemberNum %d InfoSeq %d LastInfoTime %d, want 4, 4, 400", g.MemberNum, g.InfoSeq, g.LastInfoTime)
	}
	page, err = s.Members(ctx, app, "pub", tally.MemberQuery{Roles: []tally.Role{tally.RoleMember}, Offset: 1, Limit: 1})
	if err != nil || !slices.Equal(accounts(page.Members), []string{"c/4"}) || page.Next != 0 {
		t.Fatalf("members of role Member, offset 1, limit 1 = %v next %d, %v", accounts(page.Members), page.Next, err)
	}

	create("@TGS#_c", tally.GroupCommunity)
	var all []string
	for i := range 5 {
		all = append(all, fmt.Sprintf("u%d", i))
	}
	if _, err := s.AddMembers(ctx, app, "@TGS#_c", all, 200); err != nil {
		t.Fatal(err)
	}
	var got []string
	var after uint64
	for pages := 0; ; pages++ {
		// Offset is ignored by a Community.
		page, err := s.Members(ctx, app, "@TGS#_c", tally.MemberQuery{Limit: 2, After: after, Offset: 5})
		if err != nil || pages > 5 {
			t.Fatal(err, pages)
		}
		got = append(got, accounts(page.Members)...)
		if page.Next == 0 {
			break
		}
		after = page.Next
	}
	if want := []string{"owner/1", "u0/2", "u1/3", "u2/4", "u3/5", "u4/6"}; !slices.Equal(got, want) {
		t.Fatalf("community pages = %v, want %v", got, want)
	}

	create("av", tally.GroupAVChatRoom)
	_, err = s.AddMembers(ctx, app, "av", []string{"a"}, 1)
	wantCode(t, "add to an AVChatRoom", err, tally.ErrNoPermission)
	wantCode(t, "delete from an AVChatRoom", s.DeleteMembers(ctx, app, "av", []string{"a"}, 1), tally.ErrInvalidParameter)
	_, err = s.Members(ctx, app, "av", tally.MemberQuery{})
	wantCode(t, "members of an AVChatRoom", err, tally.ErrNoPermission)
	_, err = s.Roles(ctx, app, "nope", []string{"a"})
	wantCode(t, "roles in a missing group", err, tally.ErrGroupNotFound)

	// Destroying a group takes its members off their joined lists.
	if err := s.DestroyGroup(ctx, app, "pub"); err != nil {
		t.Fatal(err)
	}
	joined, err := s.JoinedGroups(ctx, app, "owner", tally.JoinedFilter{})
	if err != nil || joined.Total != 1 || joined.Groups[0].ID != "@TGS#_c" {
		t.Fatalf("owner's groups after a destroy = %+v, %v", joined, err)
	}
	joined, err = s.JoinedGroups(ctx, app, "owner", tally.JoinedFilter{Type: tally.GroupCommunity, SupportTopic: true})
	if err != nil || joined.Total != 0 {
		t.Fatalf("owner's Communities with topics = %+v, %v", joined, err)
	}
}

func wantCode(t *testing.T, what string, err error, want tally.Code) {
	t.Helper()
	if got := tally.ErrorCode(err); got != want {
		t.Fatalf("%s: code %d (%v), want %d", what, got, err, want)
	}
}
