package storetest

import (
	"reflect"
	"slices"
	"testing"

	"github.com/tallyserver/tally"
)

// testJoinedGroups lists the groups of a user who joined them at different
// times and in different ways: ordered by JoinTime, then GroupId bytewise,
// filtered by type and topics, with Total counting every match whatever
// the page, and with each group's fields when asked.
func testJoinedGroups(t *testing.T, b Backend) {
	s := open(t, b)
	const u = "u"
	other := []tally.Member{{Account: "x", Role: tally.RoleMember}}
	create(t, s, tally.NewGroup{ID: "pub-b", Type: tally.GroupPublic, Owner: "x", Members: []tally.Member{{Account: u, Role: tally.RoleAdmin}}}, 100)
	create(t, s, tally.NewGroup{ID: "pub-a", Type: tally.GroupPublic, Owner: "x"}, 90)
	mustAdd(t, s, "pub-a", 100, u)
	create(t, s, tally.NewGroup{ID: "priv", Type: tally.GroupPrivate, Owner: u, Members: other}, 50)
	create(t, s, tally.NewGroup{ID: "@TGS#_topic", Type: tally.GroupCommunity, SupportTopic: true}, 10)
	mustAdd(t, s, "@TGS#_topic", 200, u)
	create(t, s, tally.NewGroup{ID: "@TGS#_plain", Type: tally.GroupCommunity, Owner: "x"}, 10)
	mustAdd(t, s, "@TGS#_plain", 300, "x", u)
	create(t, s, tally.NewGroup{ID: "chat", Type: tally.GroupChatRoom, Members: other}, 10)
	mustAdd(t, s, "chat", 150, u)
	create(t, s, tally.NewGroup{ID: "live", Type: tally.GroupAVChatRoom, Owner: u}, 10)
	create(t, s, tally.NewGroup{ID: "elsewhere", Type: tally.GroupPublic, Owner: "x"}, 10)
	// A group of another app, and one the user left again.
	g, ms := build(t, tally.NewGroup{ID: "pub-a", Type: tally.GroupPublic, Owner: u}, 10)
	if err := s.CreateGroup(ctx, app+1, g, ms); err != nil {
		t.Fatal(err)
	}
	create(t, s, tally.NewGroup{ID: "left", Type: tally.GroupPublic, Owner: "x", Members: []tally.Member{{Account: u, Role: tally.RoleMember}}}, 120)
	mustDelete(t, s, "left", 130, u)

	all := []string{"priv", "pub-a", "pub-b", "chat", "@TGS#_topic", "@TGS#_plain"}
	for _, c := range []struct {
		f     tally.JoinedFilter
		want  []string
		total int
	}{
		{tally.JoinedFilter{}, all, 6},
		{tally.JoinedFilter{Limit: 2}, all[:2], 6},
		{tally.JoinedFilter{Offset: 2, Limit: 2}, all[2:4], 6},
		{tally.JoinedFilter{Offset: 5, Limit: 2}, all[5:], 6},
		{tally.JoinedFilter{Offset: 6}, nil, 6},
		{tally.JoinedFilter{Type: tally.GroupPublic}, []string{"pub-a", "pub-b"}, 2},
		{tally.JoinedFilter{Type: tally.GroupPublic, Offset: 1}, []string{"pub-b"}, 2},
		{tally.JoinedFilter{Type: tally.GroupCommunity}, []string{"@TGS#_topic", "@TGS#_plain"}, 2},
		{tally.JoinedFilter{SupportTopic: true}, []string{"@TGS#_topic"}, 1},
		{tally.JoinedFilter{Type: tally.GroupCommunity, SupportTopic: true, Limit: 1}, []string{"@TGS#_topic"}, 1},
		{tally.JoinedFilter{Type: tally.GroupPublic, SupportTopic: true}, nil, 0},
		{tally.JoinedFilter{Type: tally.GroupAVChatRoom}, nil, 0},
	} {
		for _, with := range []bool{false, true} {
			f := c.f
			f.WithGroups = with
			page := mustJoined(t, s, u, f)
			if !slices.Equal(joinedIDs(page), c.want) || page.Total != c.total {
				t.Fatalf("JoinedGroups(%+v) = %v, Total %d; want %v, Total %d", f, joinedIDs(page), page.Total, c.want, c.total)
			}
			// Each group comes with the user's membership, as the group's
			// members show it, and with the group only when asked.
			for _, j := range page.Groups {
				g, ms := mustLookup(t, s, j.ID)
				i := slices.IndexFunc(ms, func(m tally.Member) bool { return m.Account == u })
				if i < 0 || !reflect.DeepEqual(j.Self, ms[i]) {
					t.Fatalf("in %s, Self = %+v; the members hold %+v", j.ID, j.Self, ms)
				}
				if with && !reflect.DeepEqual(j.Group, g) || !with && j.Group != nil {
					t.Fatalf("in %s with groups %v, Group = %+v; the group is %+v", j.ID, with, j.Group, g)
				}
			}
		}
	}
	if page := mustJoined(t, s, "nobody", tally.JoinedFilter{WithGroups: true}); page.Total != 0 || len(page.Groups) != 0 {
		t.Fatalf("a user of no group joined %+v", page)
	}
	// Leaving and destroying take groups off the list.
	mustDelete(t, s, "pub-a", 400, u)
	if err := s.DestroyGroup(ctx, app, "priv"); err != nil {
		t.Fatal(err)
	}
	if page := mustJoined(t, s, u, tally.JoinedFilter{Limit: 1}); page.Total != 4 || !slices.Equal(joinedIDs(page), []string{"pub-b"}) {
		t.Fatalf("after leaving pub-a and destroying priv: %v, Total %d", joinedIDs(page), page.Total)
	}
}
