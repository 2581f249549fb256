package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/tallyserver/tally"
)

// PopulatedApps are the apps that Populate fills.
var PopulatedApps = []uint32{1400000001, 1400000002}

// Populate fills s, through its tally.Store methods alone, with data of
// every kind a store keeps, for the tests of moving data from one store to
// another: two apps, groups of every type with custom and generated ids,
// every field set, custom values holding NUL and bytes that are not
// UTF-8, members with custom fields, admins, and Seqs with gaps where
// members were deleted, counters set, changed and deleted, a destroyed
// group, and an id destroyed and created again, which moves it to the end
// of the creation order. The second app reuses the first's custom ids. It
// fails t on any error.
func Populate(t testing.TB, s tally.Store) {
	t.Helper()
	p := populator{t: t, s: s}
	a, b := PopulatedApps[0], PopulatedApps[1]
	const at = 1700000000

	p.create(a, tally.NewGroup{ID: "again", Type: tally.GroupPrivate, Owner: "olga"}, at)
	p.create(a, tally.NewGroup{
		ID: "private-1", Type: tally.GroupPrivate, Owner: "alice",
		Fields: tally.GroupChange{
			Name: ptr("Private \x00 one"), Introduction: ptr("intro\x00\xff\xfe"), Notification: ptr("note"),
			FaceURL: ptr("https://example.com/f.png"), MaxMemberNum: ptr[int64](50),
			AppDefinedData: fields("k0", "\x00", "k1", "\xff\x00\x01bytes", "k2", "plain"),
		},
		Members: []tally.Member{
			{Account: "bob", Role: tally.RoleMember, AppDefinedData: fields("tag", "a\x00b", "level", "\x01")},
			{Account: "carol", Role: tally.RoleMember},
		},
	}, at+1)
	p.update(a, "private-1", tally.ModeSet, counters("likes", 5, "neg", -3, "zero", 0))
	public := p.create(a, tally.NewGroup{Type: tally.GroupPublic, Owner: "alice", Members: []tally.Member{
		{Account: "dave", Role: tally.RoleAdmin, AppDefinedData: fields("m", "\x00\x00")},
	}}, at+2)
	p.add(a, public, at+10, "erin", "frank", "gina", "hugo")
	p.remove(a, public, at+20, "frank", "hugo")
	p.add(a, public, at+30, "ivan")
	p.modify(a, public, tally.GroupChange{
		Name: ptr("renamed"), MuteAll: ptr(true), ApplyJoin: ptr(tally.FreeAccess),
		AppDefinedData: fields("x", "\x00y", "z", "1"),
	}, at+40)
	p.update(a, public, tally.ModeIncrease, counters("a", 7, "b", 1, "c", 2))
	p.update(a, public, tally.ModeDecrease, counters("a", 2))
	p.deleteCounters(a, public, "b")
	p.create(a, tally.NewGroup{ID: "gone", Type: tally.GroupPublic, Owner: "alice"}, at+3)
	p.create(a, tally.NewGroup{ID: "chat", Type: tally.GroupChatRoom}, at+4)
	p.add(a, "chat", at+50, "m1", "m2", "m3", "m4", "m5")
	p.remove(a, "chat", at+51, "m2", "m4")
	av := p.create(a, tally.NewGroup{Type: tally.GroupAVChatRoom, Owner: "anchor",
		Fields: tally.GroupChange{AppDefinedData: fields("live", "\x00on")}}, at+5)
	p.update(a, av, tally.ModeSet, counters("viewers", 1000, "gifts", 1<<40))
	p.create(a, tally.NewGroup{
		ID: "@TGS#_community", Type: tally.GroupCommunity, Owner: "zoe", SupportTopic: true,
		Fields:  tally.GroupChange{InviteJoin: ptr(tally.FreeAccess)},
		Members: []tally.Member{{Account: "yan", Role: tally.RoleAdmin}, {Account: "xia", Role: tally.RoleMember}},
	}, at+6)
	p.add(a, "@TGS#_community", at+60, names("c", 0, 40)...)
	p.remove(a, "@TGS#_community", at+61, "c0003", "c0017")
	p.create(a, tally.NewGroup{Type: tally.GroupChatRoom, Owner: "alice"}, at+7)
	p.destroy(a, "gone")
	p.destroy(a, "again")
	p.create(a, tally.NewGroup{ID: "again", Type: tally.GroupPublic, Owner: "olga",
		Fields: tally.GroupChange{Name: ptr("created again")}}, at+8)
	p.update(a, "again", tally.ModeSet, counters("k", 1))

	p.create(b, tally.NewGroup{ID: "private-1", Type: tally.GroupPublic, Owner: "bob"}, at+9)
	p.update(b, "private-1", tally.ModeSet, counters("only-in-b", 42))
	p.create(b, tally.NewGroup{Type: tally.GroupChatRoom, Owner: "carol",
		Members: []tally.Member{{Account: "alice", Role: tally.RoleMember}}}, at+10)
}

// populator makes Populate's calls, failing t on any error.
type populator struct {
	t testing.TB
	s tally.Store
}

var background = context.Background()

func (p populator) create(app uint32, r tally.NewGroup, at int64) string {
	p.t.Helper()
	if r.Fields.Name == nil {
		r.Fields.Name = ptr(fmt.Sprintf("%s %s", r.Type, r.ID))
	}
	g, ms, err := r.Build(at)
	if err == nil {
		err = p.s.CreateGroup(background, app, g, ms)
	}
	if err != nil {
		p.t.Fatalf("create %s %q in app %d: %v", r.Type, r.ID, app, err)
	}
	return g.ID
}

func (p populator) add(app uint32, id string, at int64, accounts ...string) {
	p.t.Helper()
	if _, err := p.s.AddMembers(background, app, id, accounts, at); err != nil {
		p.t.Fatalf("add %q to %q in app %d: %v", accounts, id, app, err)
	}
}

func (p populator) remove(app uint32, id string, at int64, accounts ...string) {
	p.t.Helper()
	if err := p.s.DeleteMembers(background, app, id, accounts, at); err != nil {
		p.t.Fatalf("delete %q from %q in app %d: %v", accounts, id, app, err)
	}
}

func (p populator) modify(app uint32, id string, ch tally.GroupChange, at int64) {
	p.t.Helper()
	if err := p.s.ModifyGroup(background, app, id, &ch, at); err != nil {
		p.t.Fatalf("modify %q in app %d: %v", id, app, err)
	}
}

func (p populator) update(app uint32, id string, mode tally.Mode, items []tally.Counter) {
	p.t.Helper()
	if _, err := p.s.UpdateCounters(background, app, id, mode, items); err != nil {
		p.t.Fatalf("update counters of %q in app %d: %v", id, app, err)
	}
}

func (p populator) deleteCounters(app uint32, id string, keys ...string) {
	p.t.Helper()
	if err := p.s.DeleteCounters(background, app, id, keys); err != nil {
		p.t.Fatalf("delete counters %q of %q in app %d: %v", keys, id, app, err)
	}
}

func (p populator) destroy(app uint32, id string) {
	p.t.Helper()
	if err := p.s.DestroyGroup(background, app, id); err != nil {
		p.t.Fatalf("destroy %q in app %d: %v", id, app, err)
	}
}
