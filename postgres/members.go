package postgres

import (
	"context"
	"math"

	"github.com/tallyserver/tally"
)

// AddMembers implements tally.Store.
func (s *Store) AddMembers(ctx context.Context, app uint32, id string, accounts []string, now int64) ([]tally.AddResult, error) {
	o, record := tally.OriginOf(ctx, tally.EventAfterNewMemberJoin)
	var results []tally.AddResult
	err := s.write(ctx, func(ctx context.Context, q querier) error {
		g, memberSeq, err := lockGroup(ctx, q, app, id)
		if err != nil {
			return err
		}
		// PlanAdd checks this too, but only after the read below, which an
		// AVChatRoom need not pay for.
		if err := g.CheckMemberCall(tally.AddMembersCall); err != nil {
			return err
		}
		current, err := memberSet(ctx, q, app, id, accounts)
		if err != nil {
			return err
		}
		member := make([]bool, len(accounts))
		for i, a := range accounts {
			member[i] = current[a] != nil
		}
		res, added, next, err := tally.PlanAdd(g, accounts, member, now)
		if err != nil {
			return err
		}
		results = res
		if len(added) == 0 {
			return nil
		}
		for i := range added {
			memberSeq++
			added[i].Seq = uint64(memberSeq)
		}
		if err := insertMembers(ctx, q, app, id, added); err != nil {
			return err
		}
		var evs []tally.Event
		if record {
			evs = append(evs, tally.NewMemberJoinEvent(app, o, next, accountsOf(added)))
		}
		return updateGroup(ctx, q, app, next, memberSeq, evs...)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// DeleteMembers implements tally.Store.
func (s *Store) DeleteMembers(ctx context.Context, app uint32, id string, accounts []string, now int64) error {
	o, record := tally.OriginOf(ctx, tally.EventAfterMemberExit)
	return s.write(ctx, func(ctx context.Context, q querier) error {
		g, _, err := lockGroup(ctx, q, app, id)
		if err != nil {
			return err
		}
		if err := g.CheckMemberCall(tally.DeleteMembersCall); err != nil {
			return err
		}
		current, err := memberSet(ctx, q, app, id, accounts)
		if err != nil {
			return err
		}
		members := make([]*tally.Member, len(accounts))
		for i, a := range accounts {
			members[i] = current[a]
		}
		removed, next, err := tally.PlanDelete(g, members, now)
		if err != nil || len(removed) == 0 {
			return err
		}
		gone := accountsOf(removed)
		if _, err := q.Exec(ctx, "DELETE FROM tally_members WHERE app = $1 AND group_id = $2 AND account = ANY($3)",
			int64(app), bs(id), bytesOf(gone)); err != nil {
			return err
		}
		var evs []tally.Event
		if record {
			evs = append(evs, tally.MemberExitEvent(app, o, next, gone))
		}
		return updateGroup(ctx, q, app, next, -1, evs...)
	})
}

// accountsOf returns the members' accounts, in order.
func accountsOf(ms []tally.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Account
	}
	return out
}

// memberSet returns the records of those of accounts that are members of
// the group, by account.
func memberSet(ctx context.Context, q querier, app uint32, id string, accounts []string) (map[string]*tally.Member, error) {
	rows, err := q.Query(ctx, "SELECT "+memberColumns+" FROM tally_members WHERE app = $1 AND group_id = $2 AND account = ANY($3)",
		int64(app), bs(id), bytesOf(accounts))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]*tally.Member, len(accounts))
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out[m.Account] = &m
	}
	return out, rows.Err()
}

// Members implements tally.Store.
//
// Members are listed by Seq, which puts the owner first: CreateGroup gives
// the owner Seq 1, and nothing makes another member owner. A Community's
// cursor is the Seq of a page's last member.
func (s *Store) Members(ctx context.Context, app uint32, id string, mq tally.MemberQuery) (tally.MemberPage, error) {
	var page tally.MemberPage
	err := s.view(ctx, func(ctx context.Context, q querier) error {
		page = tally.MemberPage{}
		g, err := scanGroup(q.QueryRow(ctx, "SELECT "+groupColumns+" FROM tally_groups WHERE app = $1 AND id = $2", int64(app), bs(id)))
		if err != nil {
			return notFound(err, id)
		}
		if err := g.CheckMemberCall(tally.ReadMembersCall); err != nil {
			return err
		}
		page.Group = g
		community := g.Type == tally.GroupCommunity
		var after uint64
		limit, offset := mq.Limit, mq.Offset
		if community {
			// A Community pages by cursor, and by a page of its own
			// when the query names none.
			after, offset = mq.After, 0
			if limit == 0 {
				limit = tally.DefaultCommunityPage
			}
			if after >= math.MaxInt64 {
				return nil // No member follows the last possible cursor.
			}
		}
		roles := make([]int16, len(mq.Roles))
		for i, r := range mq.Roles {
			roles[i] = int16(r)
		}
		// One more than the page shows, to tell whether another
		// follows.
		fetch := int64(math.MaxInt64)
		if limit > 0 {
			fetch = int64(limit) + 1
		}
		rows, err := q.Query(ctx, "SELECT "+memberColumns+` FROM tally_members
			WHERE app = $1 AND group_id = $2 AND seq > $3 AND (cardinality($4::smallint[]) = 0 OR role = ANY($4))
			ORDER BY seq OFFSET $5 LIMIT $6`,
			int64(app), bs(id), int64(after), roles, int64(offset), fetch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMember(rows)
			if err != nil {
				return err
			}
			if limit > 0 && len(page.Members) == limit {
				if community {
					page.Next = page.Members[len(page.Members)-1].Seq
				}
				break
			}
			page.Members = append(page.Members, m)
		}
		return rows.Err()
	})
	return page, err
}

// Roles implements tally.Store.
func (s *Store) Roles(ctx context.Context, app uint32, id string, accounts []string) ([]tally.Role, error) {
	var roles []tally.Role
	err := s.view(ctx, func(ctx context.Context, q querier) error {
		var t int16
		if err := q.QueryRow(ctx, "SELECT type FROM tally_groups WHERE app = $1 AND id = $2", int64(app), bs(id)).Scan(&t); err != nil {
			return notFound(err, id)
		}
		typ, err := decodeType(t)
		if err != nil {
			return err
		}
		g := &tally.Group{ID: id, Type: typ}
		if err := g.CheckMemberCall(tally.ReadMembersCall); err != nil {
			return err
		}
		current, err := memberSet(ctx, q, app, id, accounts)
		if err != nil {
			return err
		}
		roles = make([]tally.Role, len(accounts))
		for i, a := range accounts {
			if m := current[a]; m != nil {
				roles[i] = m.Role
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return roles, nil
}
