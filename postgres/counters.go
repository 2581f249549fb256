package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// A group's counters are one row of tally_counters (the schema says why
// one row), with its Seq. The row exists from the group's first change of
// counters until the group is destroyed, and keeps the Seq once every
// counter is deleted. Writers lock the group's row first, as every writer
// of the group does.

// Counters implements tally.Store. One statement reads the group and its
// counters in one snapshot.
func (s *Store) Counters(ctx context.Context, app uint32, id string, keys []string) ([]tally.Counter, error) {
	var cur []tally.Counter
	err := s.read(ctx, func(ctx context.Context, q querier) error {
		var t int16
		var data []byte
		err := q.QueryRow(ctx, `SELECT g.type, c.data FROM tally_groups g
			LEFT JOIN tally_counters c ON c.app = g.app AND c.group_id = g.id
			WHERE g.app = $1 AND g.id = $2`, int64(app), bs(id)).Scan(&t, &data)
		if err != nil {
			return notFound(err, id)
		}
		if err := mayCount(t, id); err != nil {
			return err
		}
		cur, err = decodeCounters(data)
		return err
	})
	if err != nil {
		return nil, err
	}
	return tally.SelectCounters(cur, keys), nil
}

// DeleteCounters implements tally.Store.
func (s *Store) DeleteCounters(ctx context.Context, app uint32, id string, keys []string) error {
	o, record := tally.OriginOf(ctx, tally.EventAfterGroupCounterChanged)
	return s.writeTelling(ctx, func(ctx context.Context, q querier) ([]changefeed.Change, error) {
		typ, seq, cur, err := lockCounters(ctx, q, app, id)
		if err != nil {
			return nil, err
		}
		next := tally.RemoveCounters(cur, keys)
		if slices.Equal(cur, next) {
			return nil, nil
		}
		seq++
		change := changefeed.Change{App: app, GroupID: id, Seq: seq, Cur: cur, Next: next}
		var evs []tally.Event
		if record {
			evs = append(evs, counterEvent(app, o, id, typ, tally.CounterModeDelete, cur, next, seq))
		}
		return []changefeed.Change{change}, writeCounters(ctx, q, app, id, seq, next, evs)
	})
}

// counterEvent is the event of the change of group id's counters from cur
// to next, which left the group at Seq seq: the keys whose values it set,
// and those it removed, as the feed tells them.
func counterEvent(app uint32, o tally.Origin, id string, typ tally.GroupType, mode string, cur, next []tally.Counter, seq uint64) tally.Event {
	set, deleted := changefeed.Diff(cur, next)
	return tally.CounterChangedEvent(app, o, id, typ, mode, set, deleted, seq)
}

// lockCounters locks the group's row and reads its type, Seq and counters,
// failing for a missing group or a Community. The two statements go in
// one round trip; the second reads after the first has the lock, at READ
// COMMITTED in a snapshot of its own, so it sees the last writer's
// counters. (One
// statement joining the two would not: when the lock waits, PostgreSQL
// rechecks the locked row alone and keeps the joined row it read before.)
func lockCounters(ctx context.Context, q querier, app uint32, id string) (tally.GroupType, uint64, []tally.Counter, error) {
	b := &pgx.Batch{}
	b.Queue("SELECT type FROM tally_groups WHERE app = $1 AND id = $2 FOR UPDATE", int64(app), bs(id))
	b.Queue("SELECT data, seq FROM tally_counters WHERE app = $1 AND group_id = $2", int64(app), bs(id))
	res := q.SendBatch(ctx, b)
	defer res.Close()
	var t int16
	if err := res.QueryRow().Scan(&t); err != nil {
		return "", 0, nil, notFound(err, id)
	}
	if err := mayCount(t, id); err != nil {
		return "", 0, nil, err
	}
	var data []byte
	var stored *int64
	if err := res.QueryRow().Scan(&data, &stored); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", 0, nil, err
	}
	if err := res.Close(); err != nil {
		return "", 0, nil, err
	}
	seq, err := seqOf(stored)
	if err != nil {
		return "", 0, nil, err
	}
	typ, err := decodeType(t)
	if err != nil {
		return "", 0, nil, err
	}
	cs, err := decodeCounters(data)
	return typ, seq, cs, err
}

// mayCount fails for a group whose type t has no counters.
func mayCount(t int16, id string) error {
	typ, err := decodeType(t)
	if err != nil {
		return err
	}
	if !typ.HasCounters() {
		return tally.Errorf(tally.ErrNoPermission, "group %q is a %s, which has no group counters", id, typ)
	}
	return nil
}

// writeCounters stores next as the group's counters, at Seq seq, and
// records evs; the caller has locked the group's row. No counters keep
// the row, with its Seq, so that the group's next change goes on from it.
func writeCounters(ctx context.Context, q querier, app uint32, id string, seq uint64, next []tally.Counter, evs []tally.Event) error {
	return execRecording(ctx, q, evs, `INSERT INTO tally_counters (app, group_id, data, seq) VALUES ($1, $2, $3, $4)
		ON CONFLICT (app, group_id) DO UPDATE SET data = excluded.data, seq = excluded.seq`,
		int64(app), bs(id), encodeCounters(next), int64(seq))
}
