package storetest

import (
	"fmt"
	"testing"

	"github.com/tallyserver/tally"
)

// The helpers of the cases on members and fields.

func mustAdd(t *testing.T, s tally.Store, id string, at int64, accounts ...string) []tally.AddResult {
	t.Helper()
	res, err := s.AddMembers(ctx, app, id, accounts, at)
	if err != nil {
		t.Fatalf("AddMembers(%q, %q): %v", id, accounts, err)
	}
	return res
}

func mustDelete(t *testing.T, s tally.Store, id string, at int64, accounts ...string) {
	t.Helper()
	if err := s.DeleteMembers(ctx, app, id, accounts, at); err != nil {
		t.Fatalf("DeleteMembers(%q, %q): %v", id, accounts, err)
	}
}

// mustLookup returns the group with all its members, as get_group_info
// reads them.
func mustLookup(t *testing.T, s tally.Store, id string) (*tally.Group, []tally.Member) {
	t.Helper()
	res, err := s.Groups(ctx, app, []string{id}, true)
	if err != nil {
		t.Fatalf("Groups(%q): %v", id, err)
	}
	if len(res) != 1 || res[0].ID != id || res[0].Err != nil || res[0].Group == nil {
		t.Fatalf("Groups(%q) = %+v", id, res)
	}
	return res[0].Group, res[0].Members
}

func mustMembers(t *testing.T, s tally.Store, id string, q tally.MemberQuery) tally.MemberPage {
	t.Helper()
	page, err := s.Members(ctx, app, id, q)
	if err != nil {
		t.Fatalf("Members(%q, %+v): %v", id, q, err)
	}
	return page
}

func mustRoles(t *testing.T, s tally.Store, id string, accounts ...string) []tally.Role {
	t.Helper()
	roles, err := s.Roles(ctx, app, id, accounts)
	if err != nil {
		t.Fatalf("Roles(%q, %q): %v", id, accounts, err)
	}
	return roles
}

func mustJoined(t *testing.T, s tally.Store, account string, f tally.JoinedFilter) tally.JoinedPage {
	t.Helper()
	page, err := s.JoinedGroups(ctx, app, account, f)
	if err != nil {
		t.Fatalf("JoinedGroups(%q, %+v): %v", account, f, err)
	}
	return page
}

// fields returns custom fields from key, value pairs.
func fields(kv ...string) []tally.CustomField {
	var fs []tally.CustomField
	for i := 0; i < len(kv); i += 2 {
		fs = append(fs, tally.CustomField{Key: kv[i], Value: kv[i+1]})
	}
	return fs
}

func accounts(ms []tally.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Account
	}
	return out
}

func seqs(ms []tally.Member) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func joinedIDs(p tally.JoinedPage) []string {
	out := make([]string, len(p.Groups))
	for i, g := range p.Groups {
		out[i] = g.ID
	}
	return out
}

// names returns n accounts: prefix and a number, in order.
func names(prefix string, from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, from+i)
	}
	return out
}

// addAll adds accounts to a group in calls of at most tally.MaxAddMembers,
// as a client must.
func addAll(t *testing.T, s tally.Store, id string, at int64, accounts []string) {
	t.Helper()
	for len(accounts) > 0 {
		n := min(len(accounts), tally.MaxAddMembers)
		for i, r := range mustAdd(t, s, id, at, accounts[:n]...) {
			if r != tally.Added {
				t.Fatalf("adding %q to %q: result %d", accounts[i], id, r)
			}
		}
		accounts = accounts[n:]
	}
}
