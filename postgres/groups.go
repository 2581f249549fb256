package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// appCounts are the columns of tally_apps that count the groups of each
// type, in the order of tally.GroupTypes.
var appCounts = [...]string{"n_private", "n_public", "n_chatroom", "n_avchatroom", "n_community"}

// CreateGroup implements tally.Store.
//
// The creating transaction increments the app's row for the group's
// creation number before it inserts the group. The row stays locked until
// the commit, so the creates of one app commit in the order of their
// numbers, on every node: a ListGroups page that has shown number n has
// seen every smaller number that will ever commit. A sequence would not do:
// it hands out numbers that commit in any order, and a page could pass a
// number whose group commits after it.
func (s *Store) CreateGroup(ctx context.Context, app uint32, g *tally.Group, members []tally.Member) error {
	t := g.Type.Index()
	if t < 0 {
		return fmt.Errorf("postgres: group type %q is not one of tally.GroupTypes", g.Type)
	}
	if len(members) > 0 {
		if err := g.CheckMemberCall(tally.AddMembersCall); err != nil {
			return err
		}
	}
	stored := g.Clone()
	stored.MemberNum = uint32(len(members))
	values, err := groupValues(stored)
	if err != nil {
		return err
	}
	custom := g.ID != ""
	o, record := tally.OriginOf(ctx, tally.EventAfterCreateGroup)
	var id string
	err = s.write(ctx, func(ctx context.Context, q querier) error {
		var seq int64
		err := q.QueryRow(ctx, fmt.Sprintf(`INSERT INTO tally_apps (app, seq, %[1]s) VALUES ($1, 1, 1)
			ON CONFLICT (app) DO UPDATE SET seq = tally_apps.seq + 1, %[1]s = tally_apps.%[1]s + 1
			RETURNING seq`, appCounts[t]), int64(app)).Scan(&seq)
		if err != nil {
			return err
		}
		for {
			id = g.ID
			if !custom {
				id = tally.NewGroupID(g.Type)
			}
			// A conflict leaves the transaction usable, so that a
			// generated id that collided is drawn again in it. An id
			// held by a transaction still in flight waits for its
			// outcome.
			args := append([]any{int64(app), bs(id), seq, int16(t)}, values...)
			tag, err := q.Exec(ctx, `INSERT INTO tally_groups (app, id, seq, type, name, owner, create_time,
				introduction, notification, face_url, max_member_num, apply_join, invite_join, mute_all,
				support_topic, app_data, info_seq, last_info_time, member_num, member_seq)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)
				ON CONFLICT (app, id) DO NOTHING`, args...)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				break
			}
			if custom {
				return tally.Errorf(tally.ErrGroupIDInUse, "GroupId %q is already in use", id)
			}
		}
		ms := make([]tally.Member, len(members))
		for i, m := range members {
			m.Seq = uint64(i + 1)
			ms[i] = m
		}
		var evs []tally.Event
		if record {
			created := g.Clone()
			created.ID = id
			evs = append(evs, tally.CreateGroupEvent(app, o, created, members))
		}
		return insertMembers(ctx, q, app, id, ms, evs...)
	})
	if err != nil {
		return err
	}
	g.ID = id
	return nil
}

// insertMembers inserts members of a group, whose Seqs are set, in one
// statement, and records evs.
func insertMembers(ctx context.Context, q querier, app uint32, id string, ms []tally.Member, evs ...tally.Event) error {
	if len(ms) == 0 {
		return recordEvents(ctx, q, evs)
	}
	accounts := make([][]byte, len(ms))
	seqs := make([]int64, len(ms))
	roles := make([]int16, len(ms))
	joins := make([]int64, len(ms))
	data := make([][]byte, len(ms))
	for i, m := range ms {
		accounts[i], seqs[i], roles[i], joins[i], data[i] = bs(m.Account), int64(m.Seq), int16(m.Role), m.JoinTime, encodeFields(m.AppDefinedData)
	}
	return execRecording(ctx, q, evs, `INSERT INTO tally_members (app, group_id, account, seq, role, join_time, data)
		SELECT $1, $2, u.account, u.seq, u.role, u.join_time, u.data
		FROM unnest($3::bytea[], $4::bigint[], $5::smallint[], $6::bigint[], $7::bytea[]) AS u(account, seq, role, join_time, data)`,
		int64(app), bs(id), accounts, seqs, roles, joins, data)
}

// DestroyGroup implements tally.Store.
//
// The feed tells the group's end with its last Seq, which the deleted
// counters row held (0 without one). When the Origin asks for the
// group's event, the members' DELETE returns the members it removed, for
// the event's body.
func (s *Store) DestroyGroup(ctx context.Context, app uint32, id string) error {
	o, record := tally.OriginOf(ctx, tally.EventAfterGroupDestroyed)
	return s.writeTelling(ctx, func(ctx context.Context, q querier) ([]changefeed.Change, error) {
		// The app's row first, as CreateGroup takes it, so that the two
		// never wait for each other in opposite orders.
		if _, err := q.Exec(ctx, "SELECT 1 FROM tally_apps WHERE app = $1 FOR UPDATE", int64(app)); err != nil {
			return nil, err
		}
		var t int16
		var owner, name []byte
		err := q.QueryRow(ctx, "DELETE FROM tally_groups WHERE app = $1 AND id = $2 RETURNING type, owner, name",
			int64(app), bs(id)).Scan(&t, &owner, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errGroupNotFound(id)
		}
		if err != nil {
			return nil, err
		}
		typ, err := decodeType(t)
		if err != nil {
			return nil, err
		}
		b := &pgx.Batch{}
		b.Queue(fmt.Sprintf("UPDATE tally_apps SET %[1]s = %[1]s - 1 WHERE app = $1", appCounts[t]), int64(app))
		b.Queue("DELETE FROM tally_counters WHERE app = $1 AND group_id = $2 RETURNING seq", int64(app), bs(id))
		deleteMembers := "DELETE FROM tally_members WHERE app = $1 AND group_id = $2"
		if record {
			deleteMembers += " RETURNING account, seq"
		}
		b.Queue(deleteMembers, int64(app), bs(id))
		res := q.SendBatch(ctx, b)
		defer res.Close()
		if _, err := res.Exec(); err != nil {
			return nil, err
		}
		var stored *int64
		if err := res.QueryRow().Scan(&stored); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		var members []tally.Member
		if record {
			members, err = deletedMembers(res)
		} else {
			_, err = res.Exec()
		}
		if err != nil {
			return nil, err
		}
		if err := res.Close(); err != nil {
			return nil, err
		}
		seq, err := seqOf(stored)
		if err != nil {
			return nil, err
		}
		if record {
			g := &tally.Group{ID: id, Type: typ, Owner: string(owner), Name: string(name)}
			if err := recordEvents(ctx, q, []tally.Event{tally.GroupDestroyedEvent(app, o, g, members)}); err != nil {
				return nil, err
			}
		}
		return []changefeed.Change{{App: app, GroupID: id, Seq: seq, Destroyed: true}}, nil
	})
}

// deletedMembers reads the accounts and Seqs that a DELETE of a group's
// members returned, and returns the members as Members orders them: by
// Seq, which puts the owner first.
func deletedMembers(res pgx.BatchResults) ([]tally.Member, error) {
	rows, err := res.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tally.Member
	for rows.Next() {
		var account []byte
		var seq int64
		if err := rows.Scan(&account, &seq); err != nil {
			return nil, err
		}
		out = append(out, tally.Member{Account: string(account), Seq: uint64(seq)})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b tally.Member) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// Groups implements tally.Store.
func (s *Store) Groups(ctx context.Context, app uint32, ids []string, members bool) ([]tally.GroupLookup, error) {
	var out []tally.GroupLookup
	err := s.view(ctx, func(ctx context.Context, q querier) error {
		found := make(map[string]*tally.Group, len(ids))
		rows, err := q.Query(ctx, "SELECT "+groupColumns+" FROM tally_groups WHERE app = $1 AND id = ANY($2)", int64(app), bytesOf(ids))
		if err != nil {
			return err
		}
		for rows.Next() {
			g, err := scanGroup(rows)
			if err != nil {
				rows.Close()
				return err
			}
			found[g.ID] = g
		}
		if err := rows.Err(); err != nil {
			return err
		}
		lists := map[string][]tally.Member{}
		if members {
			var keep []string
			for id, g := range found {
				if g.Type.KeepsMembers() {
					keep = append(keep, id)
				}
			}
			if lists, err = groupMembers(ctx, q, app, keep); err != nil {
				return err
			}
		}
		out = make([]tally.GroupLookup, len(ids))
		for i, id := range ids {
			out[i].ID = id
			g := found[id]
			if g == nil {
				out[i].Err = errGroupNotFound(id)
				continue
			}
			// An id asked twice gets two copies, each the caller's.
			out[i].Group = g.Clone()
			if members && g.Type.KeepsMembers() {
				out[i].Members = cloneMembers(lists[id])
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// groupMembers returns every member of each of the groups, by Seq.
func groupMembers(ctx context.Context, q querier, app uint32, ids []string) (map[string][]tally.Member, error) {
	out := map[string][]tally.Member{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, "SELECT "+memberColumns+", group_id FROM tally_members WHERE app = $1 AND group_id = ANY($2) ORDER BY group_id, seq",
		int64(app), bytesOf(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var gid []byte
		m, err := scanMember(rows, &gid)
		if err != nil {
			return nil, err
		}
		out[string(gid)] = append(out[string(gid)], m)
	}
	return out, rows.Err()
}

func cloneMembers(ms []tally.Member) []tally.Member {
	if ms == nil {
		return nil
	}
	out := make([]tally.Member, len(ms))
	for i, m := range ms {
		m.AppDefinedData = append([]tally.CustomField(nil), m.AppDefinedData...)
		out[i] = m
	}
	return out
}

// ListGroups implements tally.Store.
//
// The cursor is the creation number of the last group of a page; the next
// page starts after it. CreateGroup makes numbers commit in order, so no
// group can appear behind a cursor once a page has passed it.
func (s *Store) ListGroups(ctx context.Context, app uint32, f tally.GroupFilter) (tally.GroupPage, error) {
	var page tally.GroupPage
	want := -1
	if f.Type != "" {
		if want = f.Type.Index(); want < 0 {
			return page, fmt.Errorf("postgres: group type %q is not one of tally.GroupTypes", f.Type)
		}
	}
	err := s.view(ctx, func(ctx context.Context, q querier) error {
		page = tally.GroupPage{}
		var counts [len(appCounts)]int64
		err := q.QueryRow(ctx, "SELECT n_private, n_public, n_chatroom, n_avchatroom, n_community FROM tally_apps WHERE app = $1",
			int64(app)).Scan(&counts[0], &counts[1], &counts[2], &counts[3], &counts[4])
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if want >= 0 {
			page.Total = int(counts[want])
		} else {
			for _, n := range counts {
				page.Total += int(n)
			}
		}
		// No group follows the largest number a bigint holds, and a
		// page of no groups has no next one.
		if f.Next >= math.MaxInt64 || f.Limit <= 0 {
			return nil
		}
		sql := "SELECT id, seq FROM tally_groups WHERE app = $1 AND seq > $2 ORDER BY seq LIMIT $3"
		args := []any{int64(app), int64(f.Next), f.Limit + 1}
		if want >= 0 {
			sql = "SELECT id, seq FROM tally_groups WHERE app = $1 AND type = $4 AND seq > $2 ORDER BY seq LIMIT $3"
			args = append(args, int16(want))
		}
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var last int64
		for rows.Next() {
			var id []byte
			var seq int64
			if err := rows.Scan(&id, &seq); err != nil {
				return err
			}
			if len(page.IDs) == f.Limit {
				page.Next = uint64(last)
				break
			}
			page.IDs = append(page.IDs, string(id))
			last = seq
		}
		return rows.Err()
	})
	return page, err
}

// ModifyGroup implements tally.Store.
func (s *Store) ModifyGroup(ctx context.Context, app uint32, id string, ch *tally.GroupChange, now int64) error {
	o, record := tally.OriginOf(ctx, tally.EventAfterGroupInfoChanged)
	return s.write(ctx, func(ctx context.Context, q querier) error {
		g, _, err := lockGroup(ctx, q, app, id)
		if err != nil {
			return err
		}
		next, changed, err := tally.ApplyGroupChange(g, ch, now)
		if err != nil || !changed {
			return err
		}
		var evs []tally.Event
		if record {
			if ev, ok := tally.GroupInfoChangedEvent(app, o, g, next); ok {
				evs = append(evs, ev)
			}
		}
		return updateGroup(ctx, q, app, next, -1, evs...)
	})
}

// lockGroup reads a group and locks its row for the rest of the
// transaction, which serialises the writers of one group. It returns the
// group and the last Seq handed to a member.
func lockGroup(ctx context.Context, q querier, app uint32, id string) (*tally.Group, int64, error) {
	var memberSeq int64
	g, err := scanGroup(q.QueryRow(ctx, "SELECT "+groupColumns+", member_seq FROM tally_groups WHERE app = $1 AND id = $2 FOR UPDATE",
		int64(app), bs(id)), &memberSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, errGroupNotFound(id)
	}
	return g, memberSeq, err
}

// updateGroup writes g's fields to its row, and memberSeq unless it is
// negative, and records evs. The caller has locked the row.
func updateGroup(ctx context.Context, q querier, app uint32, g *tally.Group, memberSeq int64, evs ...tally.Event) error {
	values, err := groupValues(g)
	if err != nil {
		return err
	}
	args := append([]any{int64(app), bs(g.ID), memberSeq}, values...)
	return execRecording(ctx, q, evs, `UPDATE tally_groups SET name = $4, owner = $5, create_time = $6, introduction = $7,
		notification = $8, face_url = $9, max_member_num = $10, apply_join = $11, invite_join = $12,
		mute_all = $13, support_topic = $14, app_data = $15, info_seq = $16, last_info_time = $17,
		member_num = $18, member_seq = CASE WHEN $3::bigint < 0 THEN member_seq ELSE $3::bigint END
		WHERE app = $1 AND id = $2`, args...)
}

// notFound turns the ErrNoRows of reading group id into ErrGroupNotFound.
func notFound(err error, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errGroupNotFound(id)
	}
	return err
}

func errGroupNotFound(id string) error {
	return tally.Errorf(tally.ErrGroupNotFound, "group %q does not exist or has been destroyed", id)
}
