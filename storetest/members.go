package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/tallyserver/tally"
)

// testCreateWithMembers creates groups with an owner and a MemberList: the
// owner comes first, every member keeps its role and custom data byte for
// byte, and Seqs follow the list.
func testCreateWithMembers(t *testing.T, b Backend) {
	for _, c := range []struct {
		name  string
		typ   tally.GroupType
		id    string
		owner string
		list  []tally.Member
	}{
		{"owner and list", tally.GroupPublic, "room", "alice", []tally.Member{
			{Account: "bob", Role: tally.RoleAdmin, AppDefinedData: fields("k", "\x00\x01", "e", "é")},
			{Account: "carol", Role: tally.RoleMember},
			// Accounts are any UTF-8, a NUL included, and may share a
			// prefix with another.
			{Account: "car", Role: tally.RoleMember, AppDefinedData: fields("z", "\xff\xfe")},
			{Account: "用户\x00x", Role: tally.RoleAdmin},
		}},
		{"owner only", tally.GroupPrivate, "private", "alice", nil},
		{"list only", tally.GroupChatRoom, "chat", "", []tally.Member{{Account: "bob", Role: tally.RoleMember}}},
		{"nobody", tally.GroupPublic, "empty", "", nil},
		{"Community", tally.GroupCommunity, "@TGS#_c", "alice", []tally.Member{{Account: "bob", Role: tally.RoleAdmin}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := open(t, b)
			g := create(t, s, tally.NewGroup{ID: c.id, Type: c.typ, Owner: c.owner, Members: c.list}, now)
			var want []tally.Member
			if c.owner != "" {
				want = append(want, tally.Member{Account: c.owner, Role: tally.RoleOwner, JoinTime: now, Seq: 1})
			}
			for _, m := range c.list {
				m.JoinTime, m.Seq = now, uint64(len(want)+1)
				want = append(want, m)
			}
			got, ms := mustLookup(t, s, c.id)
			if int(got.MemberNum) != len(want) || !reflect.DeepEqual(got, g) {
				t.Fatalf("group = %+v, want %+v with MemberNum %d", got, g, len(want))
			}
			if len(ms) != 0 || len(want) != 0 {
				if !reflect.DeepEqual(ms, want) {
					t.Fatalf("Groups members =\n%+v\nwant\n%+v", ms, want)
				}
				if page := mustMembers(t, s, c.id, tally.MemberQuery{}); !reflect.DeepEqual(page.Members, want) {
					t.Fatalf("Members =\n%+v\nwant\n%+v", page.Members, want)
				}
			}
			for _, m := range want {
				if r := mustRoles(t, s, c.id, m.Account); r[0] != m.Role {
					t.Fatalf("role of %q = %v, want %v", m.Account, r[0], m.Role)
				}
			}
		})
	}
}

// testAddMembers adds members step by step: new ones are Added with the
// next Seqs, members already there (the owner, one named twice in a
// request) are AlreadyMember, and only a call that adds someone bumps
// InfoSeq and LastInfoTime.
func testAddMembers(t *testing.T, b Backend) {
	s := open(t, b)
	create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "owner"}, now)
	const (
		added   = tally.Added
		already = tally.AlreadyMember
	)
	members := []tally.Member{{Account: "owner", Role: tally.RoleOwner, JoinTime: now, Seq: 1}}
	infoSeq, infoTime := uint64(1), now
	for i, c := range []struct {
		accounts []string
		want     []tally.AddResult
	}{
		{[]string{"a", "b"}, []tally.AddResult{added, added}},
		{[]string{"a", "c", "c", "owner"}, []tally.AddResult{already, added, already, already}},
		{[]string{"owner", "b"}, []tally.AddResult{already, already}},
		{[]string{"d"}, []tally.AddResult{added}},
	} {
		at := now + int64(i+1)
		got := mustAdd(t, s, "g", at, c.accounts...)
		if !slices.Equal(got, c.want) {
			t.Fatalf("step %d: AddMembers(%q) = %v, want %v", i, c.accounts, got, c.want)
		}
		if slices.Contains(c.want, added) {
			infoSeq, infoTime = infoSeq+1, at
		}
		for j, a := range c.accounts {
			if c.want[j] == added {
				members = append(members, tally.Member{Account: a, Role: tally.RoleMember, JoinTime: at, Seq: uint64(len(members) + 1)})
			}
		}
		g, ms := mustLookup(t, s, "g")
		if !reflect.DeepEqual(ms, members) {
			t.Fatalf("step %d: members =\n%+v\nwant\n%+v", i, ms, members)
		}
		if int(g.MemberNum) != len(members) || g.InfoSeq != infoSeq || g.LastInfoTime != infoTime {
			t.Fatalf("step %d: MemberNum %d, InfoSeq %d, LastInfoTime %d; want %d, %d, %d",
				i, g.MemberNum, g.InfoSeq, g.LastInfoTime, len(members), infoSeq, infoTime)
		}
	}
	_, err := s.AddMembers(ctx, app, "nope", []string{"a"}, now)
	wantCode(t, "AddMembers to a missing group", err, tally.ErrGroupNotFound)
}

// testGroupFull fills a group to its MaxMemberNum: a call that would go
// beyond it adds nobody, even those who would fit, and changes nothing.
func testGroupFull(t *testing.T, b Backend) {
	s := open(t, b)
	create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPrivate, Owner: "o", Fields: tally.GroupChange{MaxMemberNum: ptr[int64](4)}}, now)
	for i, c := range []struct {
		accounts []string
		code     tally.Code
		num      uint32 // MemberNum afterwards.
	}{
		{[]string{"a", "b"}, tally.OK, 3},
		{[]string{"c", "d"}, tally.ErrGroupFull, 3},
		{[]string{"a", "c", "c"}, tally.OK, 4}, // Only c is new.
		{[]string{"a", "o"}, tally.OK, 4},      // Nobody is new, so a full group is no matter.
		{[]string{"x"}, tally.ErrGroupFull, 4},
	} {
		before, _ := mustLookup(t, s, "g")
		_, err := s.AddMembers(ctx, app, "g", c.accounts, now+int64(i+1))
		wantCode(t, fmt.Sprintf("step %d: AddMembers(%q)", i, c.accounts), err, c.code)
		g, ms := mustLookup(t, s, "g")
		if g.MemberNum != c.num || len(ms) != int(c.num) {
			t.Fatalf("step %d: MemberNum %d with %d members, want %d", i, g.MemberNum, len(ms), c.num)
		}
		if c.code != tally.OK && !reflect.DeepEqual(g, before) {
			t.Fatalf("step %d: a refused add changed the group from %+v to %+v", i, before, g)
		}
	}
	if r := mustRoles(t, s, "g", "d", "x"); !slices.Equal(r, []tally.Role{tally.RoleNone, tally.RoleNone}) {
		t.Fatalf("refused accounts have roles %v", r)
	}
}

// testDeleteMembers removes members: non-members are no error, the owner
// cannot be removed (and then nobody is), and a member removed and added
// again comes back last, with a new Seq.
func testDeleteMembers(t *testing.T, b Backend) {
	s := open(t, b)
	create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o", Members: []tally.Member{
		{Account: "a", Role: tally.RoleMember}, {Account: "b", Role: tally.RoleAdmin}, {Account: "c", Role: tally.RoleMember},
	}}, now)
	infoSeq := uint64(1)
	for i, c := range []struct {
		accounts []string
		code     tally.Code
		left     []string
		bumped   bool // Whether InfoSeq grows.
	}{
		{[]string{"nobody"}, tally.OK, []string{"o", "a", "b", "c"}, false},
		{[]string{"a", "a", "nobody"}, tally.OK, []string{"o", "b", "c"}, true},
		{[]string{"b", "o"}, tally.ErrNoPermission, []string{"o", "b", "c"}, false},
		{[]string{"b", "c"}, tally.OK, []string{"o"}, true},
	} {
		at := now + int64(i+1)
		err := s.DeleteMembers(ctx, app, "g", c.accounts, at)
		wantCode(t, fmt.Sprintf("step %d: DeleteMembers(%q)", i, c.accounts), err, c.code)
		g, ms := mustLookup(t, s, "g")
		if !slices.Equal(accounts(ms), c.left) || int(g.MemberNum) != len(c.left) {
			t.Fatalf("step %d: members %v, MemberNum %d; want %v", i, accounts(ms), g.MemberNum, c.left)
		}
		if c.bumped {
			infoSeq++
		}
		if g.InfoSeq != infoSeq || c.bumped && g.LastInfoTime != at {
			t.Fatalf("step %d: InfoSeq %d, LastInfoTime %d; want %d and a change at %d: %v", i, g.InfoSeq, g.LastInfoTime, infoSeq, at, c.bumped)
		}
	}
	for _, a := range []string{"a", "b", "c"} {
		if page := mustJoined(t, s, a, tally.JoinedFilter{}); page.Total != 0 {
			t.Fatalf("%s, removed, still joined %+v", a, page)
		}
	}
	mustAdd(t, s, "g", now+10, "b", "a")
	_, ms := mustLookup(t, s, "g")
	if !slices.Equal(accounts(ms), []string{"o", "b", "a"}) || !slices.Equal(seqs(ms), []uint64{1, 5, 6}) {
		t.Fatalf("after adding again: %v with Seqs %v, want [o b a] with [1 5 6]", accounts(ms), seqs(ms))
	}
	wantCode(t, "DeleteMembers of a missing group", s.DeleteMembers(ctx, app, "nope", []string{"a"}, now), tally.ErrGroupNotFound)
}

// testAVChatRoom checks that an AVChatRoom keeps no members, not even its
// owner, and refuses the calls on them as Tencent does.
func testAVChatRoom(t *testing.T, b Backend) {
	s := open(t, b)
	create(t, s, tally.NewGroup{ID: "live", Type: tally.GroupAVChatRoom, Owner: "o"}, now)
	g, ms := mustLookup(t, s, "live")
	if g.MemberNum != 0 || len(ms) != 0 || g.Owner != "o" {
		t.Fatalf("AVChatRoom = %+v with members %+v", g, ms)
	}
	_, err := s.AddMembers(ctx, app, "live", []string{"a"}, now)
	wantCode(t, "AddMembers", err, tally.ErrNoPermission)
	_, err = s.Members(ctx, app, "live", tally.MemberQuery{})
	wantCode(t, "Members", err, tally.ErrNoPermission)
	_, err = s.Roles(ctx, app, "live", []string{"o"})
	wantCode(t, "Roles", err, tally.ErrNoPermission)
	wantCode(t, "DeleteMembers", s.DeleteMembers(ctx, app, "live", []string{"o"}, now), tally.ErrInvalidParameter)
	if page := mustJoined(t, s, "o", tally.JoinedFilter{}); page.Total != 0 || len(page.Groups) != 0 {
		t.Fatalf("the AVChatRoom's owner joined %+v", page)
	}
	if after, _ := mustLookup(t, s, "live"); !reflect.DeepEqual(after, g) {
		t.Fatalf("refused calls changed the group to %+v", after)
	}
}

func testRoles(t *testing.T, b Backend) {
	s := open(t, b)
	create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o", Members: []tally.Member{
		{Account: "adm", Role: tally.RoleAdmin}, {Account: "mem", Role: tally.RoleMember},
	}}, now)
	mustAdd(t, s, "g", now, "late")
	got := mustRoles(t, s, "g", "mem", "nobody", "o", "adm", "late", "mem")
	want := []tally.Role{tally.RoleMember, tally.RoleNone, tally.RoleOwner, tally.RoleAdmin, tally.RoleMember, tally.RoleMember}
	if !slices.Equal(got, want) {
		t.Fatalf("Roles = %v, want %v", got, want)
	}
	_, err := s.Roles(ctx, app, "nope", []string{"o"})
	wantCode(t, "Roles of a missing group", err, tally.ErrGroupNotFound)
}

// testDestroyRemovesMembers destroys groups with members: they leave the
// members' lists of groups, and a group re-created under the same id
// starts with none of them.
func testDestroyRemovesMembers(t *testing.T, b Backend) {
	s := open(t, b)
	create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o", Members: []tally.Member{{Account: "a", Role: tally.RoleAdmin}}}, now)
	mustAdd(t, s, "g", now, "b")
	create(t, s, tally.NewGroup{ID: "kept", Type: tally.GroupPublic, Owner: "a"}, now)
	big := create(t, s, tally.NewGroup{ID: "@TGS#_big", Type: tally.GroupCommunity, Owner: "o"}, now).ID
	addAll(t, s, big, now, names("m", 0, 700))

	for _, id := range []string{"g", big} {
		if err := s.DestroyGroup(ctx, app, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		account string
		want    []string
	}{{"o", nil}, {"a", []string{"kept"}}, {"b", nil}, {"m0000", nil}, {"m0699", nil}} {
		if page := mustJoined(t, s, c.account, tally.JoinedFilter{}); page.Total != len(c.want) || !slices.Equal(joinedIDs(page), c.want) {
			t.Fatalf("after the destroy %s joined %+v, want %v", c.account, page, c.want)
		}
	}
	_, err := s.Members(ctx, app, "g", tally.MemberQuery{})
	wantCode(t, "Members of a destroyed group", err, tally.ErrGroupNotFound)

	create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "p"}, now+1)
	create(t, s, tally.NewGroup{ID: big, Type: tally.GroupCommunity}, now+1)
	for _, c := range []struct {
		id   string
		want []string
	}{{"g", []string{"p"}}, {big, nil}} {
		g, ms := mustLookup(t, s, c.id)
		if !slices.Equal(accounts(ms), c.want) || int(g.MemberNum) != len(c.want) {
			t.Fatalf("re-created %s has members %v (MemberNum %d), want %v", c.id, accounts(ms), g.MemberNum, c.want)
		}
	}
	if r := mustRoles(t, s, "g", "o", "a", "b", "p"); !slices.Equal(r, []tally.Role{tally.RoleNone, tally.RoleNone, tally.RoleNone, tally.RoleOwner}) {
		t.Fatalf("roles in the re-created group: %v", r)
	}
	// The old members can join again, with the Seqs of the new group.
	if res := mustAdd(t, s, "g", now+2, "a", "b"); !slices.Equal(res, []tally.AddResult{tally.Added, tally.Added}) {
		t.Fatalf("adding the old members again = %v", res)
	}
	if _, ms := mustLookup(t, s, "g"); !slices.Equal(seqs(ms), []uint64{1, 2, 3}) {
		t.Fatalf("Seqs in the re-created group: %v, want [1 2 3]", seqs(ms))
	}
}

// testConcurrentAdds adds members from many goroutines at once: the group
// never exceeds its MaxMemberNum, every add answered Added is kept, and
// Seqs stay distinct.
func testConcurrentAdds(t *testing.T, b Backend) {
	s := open(t, b)
	const limit, workers, calls, each = 100, 16, 10, 3
	create(t, s, tally.NewGroup{ID: "g", Type: tally.GroupPublic, Owner: "o", Fields: tally.GroupChange{MaxMemberNum: ptr[int64](limit)}}, now)
	var mu sync.Mutex
	var added []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				accounts := names(fmt.Sprintf("w%02d-%02d-", w, c), 0, each)
				res, err := s.AddMembers(ctx, app, "g", accounts, now)
				if tally.ErrorCode(err) == tally.ErrGroupFull {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for i, r := range res {
					if r == tally.Added {
						added = append(added, accounts[i])
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	g, ms := mustLookup(t, s, "g")
	// 99 places after the owner, three at a time: the group fills up.
	if g.MemberNum != limit || len(ms) != limit || len(added) != limit-1 {
		t.Fatalf("MemberNum %d with %d members, %d answered Added; want %d, %d, %d", g.MemberNum, len(ms), len(added), limit, limit, limit-1)
	}
	slices.Sort(added)
	got := accounts(ms[1:])
	slices.Sort(got)
	if !slices.Equal(got, added) {
		t.Fatalf("members %v, but Added were %v", got, added)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Seq <= ms[i-1].Seq {
			t.Fatalf("Seqs are not distinct and in order: %v", seqs(ms))
		}
	}
}
