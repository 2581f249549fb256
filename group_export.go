package tally

import (
	"fmt"
	"slices"
	"strings"
)

// GroupExport is everything a store keeps of one group that a client can
// see: the group, its place in its app's creation order, its members and
// its counters. One store exports its groups as these and another imports
// them, to move the data of a node to another backend (tally migrate) with
// nothing renumbered: ids, creation order, member Seqs and every field
// byte for byte.
type GroupExport struct {
	App uint32
	// Seq is the group's creation number in its app. An app's groups are
	// listed in the order of their Seqs, which are unique in the app but
	// need not follow one another: a destroyed group leaves a gap.
	Seq   uint64
	Group Group
	// Members are the group's members by Seq; none for an AVChatRoom.
	Members []Member
	// Counters are the group's counters sorted by key; none for a
	// Community.
	Counters []Counter
}

// Check reports whether e holds a group that a store could have made: a
// Seq, a well-formed id of a known type and join options, as many members
// as MemberNum says, in ascending Seqs, with valid and distinct accounts
// and roles, and counters with distinct keys in order. A store refuses to
// import one that fails, which no store could have exported intact.
func (e *GroupExport) Check() error {
	g := &e.Group
	// %v, not %w: the checks' *Error values are codes for clients, and
	// a store that refuses an import has nothing to tell a client.
	if err := e.check(g); err != nil {
		return fmt.Errorf("group %q of app %d: %v", g.ID, e.App, err)
	}
	return nil
}

func (e *GroupExport) check(g *Group) error {
	if e.Seq == 0 {
		return fmt.Errorf("no creation number (Seq 0)")
	}
	if err := CheckGroupID(g.ID); err != nil {
		return err
	}
	if g.Type.Index() < 0 {
		return fmt.Errorf("type %q is not one of GroupTypes", g.Type)
	}
	for _, o := range []JoinOption{g.ApplyJoin, g.InviteJoin} {
		if o != "" && !slices.Contains(JoinOptions, o) {
			return fmt.Errorf("join option %q is not one of JoinOptions", o)
		}
	}
	if int(g.MemberNum) != len(e.Members) {
		return fmt.Errorf("MemberNum is %d, and %d members are given", g.MemberNum, len(e.Members))
	}
	if len(e.Members) > 0 && !g.Type.KeepsMembers() {
		return fmt.Errorf("a %s keeps no members, and %d are given", g.Type, len(e.Members))
	}
	if len(e.Counters) > 0 && !g.Type.HasCounters() {
		return fmt.Errorf("a %s has no counters, and %d are given", g.Type, len(e.Counters))
	}
	accounts := make(map[string]bool, len(e.Members))
	var last uint64
	for _, m := range e.Members {
		if err := CheckUserID("account", m.Account); err != nil {
			return fmt.Errorf("member: %w", err)
		}
		if accounts[m.Account] {
			return fmt.Errorf("member %q is given twice", m.Account)
		}
		accounts[m.Account] = true
		if m.Seq <= last {
			return fmt.Errorf("member %q has Seq %d, after one of Seq %d", m.Account, m.Seq, last)
		}
		last = m.Seq
		if m.Role == RoleNone || int(m.Role) >= len(Roles) {
			return fmt.Errorf("member %q has role %d", m.Account, m.Role)
		}
	}
	for i, c := range e.Counters {
		if err := CheckCounterKey("counter", c.Key); err != nil {
			return err
		}
		if i > 0 && strings.Compare(e.Counters[i-1].Key, c.Key) >= 0 {
			return fmt.Errorf("counter %q follows %q: keys must be distinct and sorted", c.Key, e.Counters[i-1].Key)
		}
	}
	return nil
}
