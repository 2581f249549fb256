package storetest

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/tallyserver/tally"
)

// testMemberPages pages through a Public group by Offset and Limit, with
// and without a filter of roles. Such a group has no cursor: After is
// ignored and Next is always 0.
func testMemberPages(t *testing.T, b Backend) {
	s := open(t, b)
	// o, then m00..m29 with every third an admin.
	var list []tally.Member
	var all, admins []string
	all = append(all, "o")
	for i := range 30 {
		m := tally.Member{Account: fmt.Sprintf("m%02d", i), Role: tally.RoleMember}
		if i%3 == 0 {
			m.Role = tally.RoleAdmin
			admins = append(admins, m.Account)
		}
		list = append(list, m)
		all = append(all, m.Account)
	}
	create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o", Members: list}, now)
	members := slices.DeleteFunc(slices.Clone(all[1:]), func(a string) bool { return slices.Contains(admins, a) })
	for _, c := range []struct {
		q    tally.MemberQuery
		want []string
	}{
		{tally.MemberQuery{}, all},
		{tally.MemberQuery{Limit: 10}, all[:10]},
		{tally.MemberQuery{Limit: 10, Offset: 10}, all[10:20]},
		{tally.MemberQuery{Offset: 30}, all[30:]},
		{tally.MemberQuery{Offset: 31}, nil},
		{tally.MemberQuery{Offset: 1000, Limit: 5}, nil},
		{tally.MemberQuery{Limit: 31}, all},
		{tally.MemberQuery{Limit: tally.MaxMemberPage}, all},
		{tally.MemberQuery{After: 5, Limit: 3}, all[:3]},
		{tally.MemberQuery{Roles: []tally.Role{tally.RoleAdmin}}, admins},
		{tally.MemberQuery{Roles: []tally.Role{tally.RoleAdmin}, Offset: 2, Limit: 3}, admins[2:5]},
		{tally.MemberQuery{Roles: []tally.Role{tally.RoleMember}, Offset: 19}, members[19:]},
		{tally.MemberQuery{Roles: []tally.Role{tally.RoleOwner, tally.RoleAdmin}, Limit: 2}, []string{"o", "m00"}},
		{tally.MemberQuery{Roles: []tally.Role{tally.RoleAdmin, tally.RoleOwner}, Offset: 1, Limit: 2}, []string{"m00", "m03"}},
		{tally.MemberQuery{Roles: []tally.Role{tally.RoleOwner}, Offset: 1}, nil},
	} {
		page := mustMembers(t, s, "g", c.q)
		if !slices.Equal(accounts(page.Members), c.want) {
			t.Fatalf("Members(%+v) = %v, want %v", c.q, accounts(page.Members), c.want)
		}
		if page.Next != 0 || page.Group == nil || page.Group.MemberNum != 31 {
			t.Fatalf("Members(%+v): Next %d, Group %+v; want 0 and 31 members", c.q, page.Next, page.Group)
		}
	}
	_, err := s.Members(ctx, app, "nope", tally.MemberQuery{})
	wantCode(t, "Members of a missing group", err, tally.ErrGroupNotFound)
}

// testCommunityPages pages through a Community by its cursor: Next is the
// Seq of a page's last member, or 0 on the last page, and Offset is
// ignored. A query without a Limit gets tally.DefaultCommunityPage.
func testCommunityPages(t *testing.T, b Backend) {
	s := open(t, b)
	const id = "@TGS#_c"
	// o, then 49 from the MemberList with every seventh an admin, then 200
	// added: 250 members, Seqs 1..250.
	var list []tally.Member
	var admins []string
	for i := range 49 {
		m := tally.Member{Account: fmt.Sprintf("c%03d", i), Role: tally.RoleMember}
		if i%7 == 0 {
			m.Role = tally.RoleAdmin
			admins = append(admins, m.Account)
		}
		list = append(list, m)
	}
	create(t, s, tally.NewGroup{ID: id, Type: tally.GroupCommunity, Owner: "o", Members: list}, now)
	addAll(t, s, id, now+1, names("a", 0, 200))
	all := accounts(mustMembers(t, s, id, tally.MemberQuery{Limit: tally.MaxMemberPage}).Members)
	if len(all) != 250 || all[0] != "o" || all[249] != "a0199" {
		t.Fatalf("the Community holds %d members %v..., want 250", len(all), all[:min(3, len(all))])
	}

	for _, c := range []struct {
		q    tally.MemberQuery
		want []string
		next uint64
	}{
		{tally.MemberQuery{}, all[:100], 100},
		{tally.MemberQuery{After: 100}, all[100:200], 200},
		{tally.MemberQuery{After: 200}, all[200:], 0},
		{tally.MemberQuery{Limit: 250}, all, 0},
		{tally.MemberQuery{Limit: 249}, all[:249], 249},
		{tally.MemberQuery{Limit: 5, Offset: 10}, all[:5], 5},
		{tally.MemberQuery{After: 249, Limit: 5}, all[249:], 0},
		{tally.MemberQuery{After: 250}, nil, 0},
		{tally.MemberQuery{After: math.MaxUint64}, nil, 0},
		{tally.MemberQuery{Roles: []tally.Role{tally.RoleAdmin}, Limit: len(admins)}, admins, 0},
		{tally.MemberQuery{Roles: []tally.Role{tally.RoleOwner}, Limit: 1}, []string{"o"}, 0},
		{tally.MemberQuery{Roles: []tally.Role{tally.RoleMember}, After: 249}, []string{"a0199"}, 0},
	} {
		page := mustMembers(t, s, id, c.q)
		if !slices.Equal(accounts(page.Members), c.want) || page.Next != c.next {
			t.Fatalf("Members(%+v) = %v, Next %d; want %v, Next %d", c.q, accounts(page.Members), page.Next, c.want, c.next)
		}
	}
	// Paging the admins three at a time follows the cursor to the end.
	var got []string
	q := tally.MemberQuery{Roles: []tally.Role{tally.RoleAdmin}, Limit: 3}
	for pages := 0; ; pages++ {
		page := mustMembers(t, s, id, q)
		got = append(got, accounts(page.Members)...)
		if page.Next == 0 || pages > len(admins) {
			break
		}
		q.After = page.Next
	}
	if !slices.Equal(got, admins) {
		t.Fatalf("admins paged by cursor: %v, want %v", got, admins)
	}
}

// testPagesWhileAdding pages through groups while other calls add members:
// every member there when paging began is seen exactly once, whether
// pages follow an Offset or a Community's cursor.
func testPagesWhileAdding(t *testing.T, b Backend) {
	for _, c := range []struct {
		name string
		typ  tally.GroupType
		id   string
	}{{"offset", tally.GroupPublic, "g"}, {"cursor", tally.GroupCommunity, "@TGS#_c"}} {
		t.Run(c.name, func(t *testing.T) {
			s := open(t, b)
			create(t, s, tally.NewGroup{ID: c.id, Type: c.typ, Owner: "o", Fields: tally.GroupChange{MaxMemberNum: ptr[int64](6000)}}, now)
			addAll(t, s, c.id, now, names("first", 0, 400))
			start := append([]string{"o"}, names("first", 0, 400)...)

			const writers, calls, each = 4, 12, 25
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range calls {
						if _, err := s.AddMembers(ctx, app, c.id, names(fmt.Sprintf("late%d-%02d-", w, i), 0, each), now+1); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			seen := map[string]int{}
			q := tally.MemberQuery{Limit: 37}
			for pages := 0; ; pages++ {
				page := mustMembers(t, s, c.id, q)
				for _, m := range page.Members {
					seen[m.Account]++
				}
				if pages > 1000 {
					t.Fatal("paging does not end")
				}
				if c.typ == tally.GroupCommunity {
					if page.Next == 0 {
						break
					}
					q.After = page.Next
				} else {
					if len(page.Members) < q.Limit {
						break
					}
					q.Offset += len(page.Members)
				}
			}
			wg.Wait()
			for _, a := range start {
				if seen[a] != 1 {
					t.Fatalf("%s, a member from the start, was seen %d times", a, seen[a])
				}
			}
			for a, n := range seen {
				if n != 1 {
					t.Fatalf("%s was seen %d times", a, n)
				}
			}
		})
	}
}
