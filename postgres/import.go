package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tallyserver/tally"
)

// Import stores groups that another store exported (tally migrate), with
// nothing renumbered: ids, creation numbers, every field, members with
// their Seqs and join times, and counters. The apps' rows follow, so that
// their counts of each type are right and the next group created comes
// after every imported one, as does the next member added to a group.
// The numbers that destroyed groups and deleted members had are not
// carried over: one may be handed out again, which no call can tell,
// since it sorts after every number in use.
//
// It is for filling a database from another store, not for serving: the
// groups of one call go in one transaction, so that a failed call leaves
// nothing of itself, and callers send a few hundred at a time. Each group
// must pass GroupExport.Check and have an id free in its app, and an
// app's groups must come in ascending Seqs, each above that of every group
// the app already holds, which keeps creation order across calls and with
// what was there.
func (s *Store) Import(ctx context.Context, groups []tally.GroupExport) error {
	if len(groups) == 0 {
		return nil
	}
	b, err := newImportBatch(groups)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(ctx context.Context, q querier) error {
		// The apps' rows first, in order, as CreateGroup takes its
		// app's: the row lock keeps creates in the app out until the
		// commit, and the floor read after it stays true till then.
		for _, a := range b.apps {
			if _, err := q.Exec(ctx, `INSERT INTO tally_apps (app, seq, n_private, n_public, n_chatroom, n_avchatroom, n_community)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (app) DO UPDATE SET seq = greatest(tally_apps.seq, excluded.seq),
					n_private = tally_apps.n_private + excluded.n_private,
					n_public = tally_apps.n_public + excluded.n_public,
					n_chatroom = tally_apps.n_chatroom + excluded.n_chatroom,
					n_avchatroom = tally_apps.n_avchatroom + excluded.n_avchatroom,
					n_community = tally_apps.n_community + excluded.n_community`,
				int64(a.app), a.last, a.counts[0], a.counts[1], a.counts[2], a.counts[3], a.counts[4]); err != nil {
				return err
			}
			var floor int64
			if err := q.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM tally_groups WHERE app = $1", int64(a.app)).Scan(&floor); err != nil {
				return err
			}
			if a.first <= floor {
				return fmt.Errorf("%w: app %d holds a group numbered %d, and the import's first is %d: an import comes after what an app holds",
					errImport, a.app, floor, a.first)
			}
		}
		if _, err := q.Exec(ctx, `INSERT INTO tally_groups (app, id, seq, type, name, owner, create_time,
			introduction, notification, face_url, max_member_num, apply_join, invite_join, mute_all,
			support_topic, app_data, info_seq, last_info_time, member_num, member_seq)
			SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::smallint[], $5::bytea[], $6::bytea[],
				$7::bigint[], $8::bytea[], $9::bytea[], $10::bytea[], $11::bigint[], $12::smallint[], $13::smallint[],
				$14::boolean[], $15::boolean[], $16::bytea[], $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[])`,
			b.groups.args()...); err != nil {
			return importError(err)
		}
		if len(b.members.app) > 0 {
			if _, err := q.Exec(ctx, `INSERT INTO tally_members (app, group_id, account, seq, role, join_time, data)
				SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bigint[], $5::smallint[], $6::bigint[], $7::bytea[])`,
				b.members.app, b.members.group, b.members.account, b.members.seq, b.members.role, b.members.join, b.members.data); err != nil {
				return importError(err)
			}
		}
		if len(b.counters.app) > 0 {
			if _, err := q.Exec(ctx, `INSERT INTO tally_counters (app, group_id, data)
				SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])`,
				b.counters.app, b.counters.group, b.counters.data); err != nil {
				return importError(err)
			}
		}
		return nil
	})
	return err
}

// errImport starts the message of an import that broke a rule. It is not
// worth running again, as a lost connection would be (tx.go).
var errImport = errors.New("import")

// importBatch is one call of Import as the columns of its statements.
type importBatch struct {
	apps   []importApp
	groups groupColumnsOf
	// members and counters hold a row each per member, and per group with
	// counters.
	members struct {
		app            []int64
		group, account [][]byte
		seq, join      []int64
		role           []int16
		data           [][]byte
	}
	counters struct {
		app         []int64
		group, data [][]byte
	}
}

// importApp is what one Import does to an app's row: its lowest and
// highest creation numbers, and how many groups of each type it adds.
type importApp struct {
	app         uint32
	first, last int64
	counts      [len(appCounts)]int64
}

// newImportBatch checks groups and lays them out for Import's statements.
func newImportBatch(groups []tally.GroupExport) (*importBatch, error) {
	b := &importBatch{}
	byApp := map[uint32]*importApp{}
	for i := range groups {
		e := &groups[i]
		if err := e.Check(); err != nil {
			return nil, fmt.Errorf("postgres: %w: %v", errImport, err)
		}
		if e.Seq > 1<<63-1 {
			return nil, fmt.Errorf("postgres: %w: group %q of app %d has Seq %d, past what a bigint holds", errImport, e.Group.ID, e.App, e.Seq)
		}
		a := byApp[e.App]
		if a == nil {
			a = &importApp{app: e.App, first: int64(e.Seq)}
			byApp[e.App] = a
		} else if int64(e.Seq) <= a.last {
			return nil, fmt.Errorf("postgres: %w: group %q of app %d has Seq %d, after one of Seq %d: an app's groups come in creation order",
				errImport, e.Group.ID, e.App, e.Seq, a.last)
		}
		a.last = int64(e.Seq)
		a.counts[e.Group.Type.Index()]++

		var memberSeq int64
		if n := len(e.Members); n > 0 {
			memberSeq = int64(e.Members[n-1].Seq)
		}
		if err := b.groups.add(e, memberSeq); err != nil {
			return nil, err
		}
		m := &b.members
		for _, x := range e.Members {
			m.app = append(m.app, int64(e.App))
			m.group = append(m.group, bs(e.Group.ID))
			m.account = append(m.account, bs(x.Account))
			m.seq = append(m.seq, int64(x.Seq))
			m.role = append(m.role, int16(x.Role))
			m.join = append(m.join, x.JoinTime)
			m.data = append(m.data, encodeFields(x.AppDefinedData))
		}
		if len(e.Counters) > 0 {
			c := &b.counters
			c.app = append(c.app, int64(e.App))
			c.group = append(c.group, bs(e.Group.ID))
			c.data = append(c.data, encodeCounters(e.Counters))
		}
	}
	for _, a := range byApp {
		b.apps = append(b.apps, *a)
	}
	slices.SortFunc(b.apps, func(x, y importApp) int { return cmp.Compare(x.app, y.app) })
	return b, nil
}

// groupColumnsOf holds groups as the columns of tally_groups, in the
// table's order, for one INSERT of them all.
type groupColumnsOf struct {
	app, seq, createTime, maxMembers, infoSeq, lastInfo, memberNum, memberSeq []int64
	id, name, owner, intro, note, face, data                                  [][]byte
	typ, apply, invite                                                        []int16
	muteAll, topic                                                            []bool
}

func (c *groupColumnsOf) add(e *tally.GroupExport, memberSeq int64) error {
	g := &e.Group
	apply, err := joinOption(g.ApplyJoin)
	if err != nil {
		return err
	}
	invite, err := joinOption(g.InviteJoin)
	if err != nil {
		return err
	}
	c.app = append(c.app, int64(e.App))
	c.id = append(c.id, bs(g.ID))
	c.seq = append(c.seq, int64(e.Seq))
	c.typ = append(c.typ, int16(g.Type.Index()))
	c.name = append(c.name, bs(g.Name))
	c.owner = append(c.owner, bs(g.Owner))
	c.createTime = append(c.createTime, g.CreateTime)
	c.intro = append(c.intro, bs(g.Introduction))
	c.note = append(c.note, bs(g.Notification))
	c.face = append(c.face, bs(g.FaceURL))
	c.maxMembers = append(c.maxMembers, int64(g.MaxMemberNum))
	c.apply = append(c.apply, apply)
	c.invite = append(c.invite, invite)
	c.muteAll = append(c.muteAll, g.MuteAll)
	c.topic = append(c.topic, g.SupportTopic)
	c.data = append(c.data, encodeFields(g.AppDefinedData))
	c.infoSeq = append(c.infoSeq, int64(g.InfoSeq))
	c.lastInfo = append(c.lastInfo, g.LastInfoTime)
	c.memberNum = append(c.memberNum, int64(g.MemberNum))
	c.memberSeq = append(c.memberSeq, memberSeq)
	return nil
}

// args returns the columns in the order of Import's INSERT.
func (c *groupColumnsOf) args() []any {
	return []any{c.app, c.id, c.seq, c.typ, c.name, c.owner, c.createTime, c.intro, c.note, c.face,
		c.maxMembers, c.apply, c.invite, c.muteAll, c.topic, c.data, c.infoSeq, c.lastInfo, c.memberNum, c.memberSeq}
}

// importError says which rule an import broke when the database refused a
// row as a duplicate: a group id or creation number in use in its app, or
// an event id in use in the outbox.
func importError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return err
	}
	switch pe.ConstraintName {
	case "tally_groups_pkey":
		return fmt.Errorf("%w: a group id is in use in its app already: %w", errImport, err)
	case "tally_groups_by_seq":
		return fmt.Errorf("%w: a group's creation number is in use in its app already: %w", errImport, err)
	case "tally_outbox_pkey":
		return fmt.Errorf("%w: an event id is in the outbox already: %w", errImport, err)
	}
	return err
}

// Apps returns the sdkappids of the apps that hold groups, ascending.
func (s *Store) Apps(ctx context.Context) ([]uint32, error) {
	var apps []uint32
	err := s.read(ctx, func(ctx context.Context, q querier) error {
		apps = nil
		rows, err := q.Query(ctx, `SELECT app FROM tally_apps
			WHERE n_private + n_public + n_chatroom + n_avchatroom + n_community > 0 ORDER BY app`)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		for _, id := range ids {
			apps = append(apps, uint32(id))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return apps, nil
}
