package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/tallyserver/tally"
)

// JoinedGroups implements tally.Store. The count and the page are read in
// one snapshot, so that Total agrees with the page.
func (s *Store) JoinedGroups(ctx context.Context, app uint32, account string, f tally.JoinedFilter) (tally.JoinedPage, error) {
	var page tally.JoinedPage
	want := int16(-1)
	if f.Type != "" {
		t := f.Type.Index()
		if t < 0 {
			return page, fmt.Errorf("postgres: group type %q is not one of tally.GroupTypes", f.Type)
		}
		want = int16(t)
	}
	// The filter on the group's type and topics, shared by both queries.
	const from = ` FROM tally_members m JOIN tally_groups g ON g.app = m.app AND g.id = m.group_id
		WHERE m.app = $1 AND m.account = $2 AND ($3::smallint < 0 OR g.type = $3) AND (NOT $4::boolean OR g.support_topic)`
	err := s.view(ctx, func(ctx context.Context, q querier) error {
		page = tally.JoinedPage{}
		args := []any{int64(app), bs(account), want, f.SupportTopic}
		if err := q.QueryRow(ctx, "SELECT count(*)"+from, args...).Scan(&page.Total); err != nil {
			return err
		}
		if f.Offset >= page.Total {
			return nil
		}
		limit := int64(math.MaxInt64)
		if f.Limit > 0 {
			limit = int64(f.Limit)
		}
		cols := "SELECT m.group_id, m.seq, m.role, m.join_time, m.data"
		if f.WithGroups {
			cols += ", " + prefixed("g.", groupColumns)
		}
		rows, err := q.Query(ctx, cols+from+" ORDER BY m.join_time, m.group_id OFFSET $5 LIMIT $6",
			append(args, int64(f.Offset), limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				gid, data []byte
				seq, join int64
				role      int16
				r         groupRow
			)
			dest := []any{&gid, &seq, &role, &join, &data}
			if f.WithGroups {
				dest = append(dest, r.dest()...)
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if role <= int16(tally.RoleNone) || int(role) >= len(tally.Roles) {
				return fmt.Errorf("%w: member %q of %q has role %d", errCorrupt, account, gid, role)
			}
			j := tally.JoinedGroup{ID: string(gid), Self: tally.Member{Account: account, Seq: uint64(seq), Role: tally.Role(role), JoinTime: join}}
			if j.Self.AppDefinedData, err = decodeFields(data); err != nil {
				return err
			}
			if f.WithGroups {
				if j.Group, err = r.group(); err != nil {
					return err
				}
			}
			page.Groups = append(page.Groups, j)
		}
		return rows.Err()
	})
	return page, err
}
