package postgres

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tallyserver/tally"
)

var _ tally.Outbox = (*Store)(nil)

// The outbox of after-events (tally.Outbox), the table tally_outbox.
//
// A write whose context carries an Origin that asks for its events inserts
// them in its own transaction, after its change and with the group's row
// still locked: an event commits with its change or neither does, and the
// writers of one group, which that lock serialises, take their events'
// ids from the sequence in the order of their writes. Each write queues
// its events in the round trip of its last statement (execRecording), so
// that recording costs no round trip of its own, but for DestroyGroup,
// whose event names the members its last statement deleted, and a
// CreateGroup without members. A write whose Origin asks for nothing runs
// the statements it ran before the outbox.
//
// Events reads committed rows only, and a commit becomes visible to other
// sessions once the synchronous standby has it (see the package comment),
// so the events it answers are durable.

// insertEvent is the statement that records one event.
const insertEvent = `INSERT INTO tally_outbox (app, group_id, kind, client_ip, time, body) VALUES ($1, $2, $3, $4, $5, $6)`

// queueEvents queues on b one INSERT per event, in order. Separate
// statements, rather than one of several rows, give the events their ids
// in the order given on every database: the order in which one statement
// draws the ids of its rows is not promised.
func queueEvents(b *pgx.Batch, evs []tally.Event) {
	for _, e := range evs {
		b.Queue(insertEvent, int64(e.App), bs(e.GroupID), int16(e.Kind), bs(e.ClientIP), e.Time, e.Body)
	}
}

// execRecording runs a write's statement and records evs after it, in one
// round trip; without events it runs the statement alone.
func execRecording(ctx context.Context, q querier, evs []tally.Event, sql string, args ...any) error {
	if len(evs) == 0 {
		_, err := q.Exec(ctx, sql, args...)
		return err
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	queueEvents(b, evs)
	return q.SendBatch(ctx, b).Close()
}

// recordEvents records evs in a round trip of their own.
func recordEvents(ctx context.Context, q querier, evs []tally.Event) error {
	if len(evs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueEvents(b, evs)
	return q.SendBatch(ctx, b).Close()
}

// Events implements tally.Outbox.
func (s *Store) Events(ctx context.Context, limit int) ([]tally.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []tally.Event
	err := s.read(ctx, func(ctx context.Context, q querier) error {
		out = nil
		rows, err := q.Query(ctx, `SELECT id, app, group_id, kind, client_ip, time, body FROM tally_outbox ORDER BY id LIMIT $1`, int64(limit))
		if err != nil {
			return err
		}
		out, err = scanEvents(rows, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanEvents appends to out the events of rows, which select the columns
// id, app, group_id, kind, client_ip, time, body, and closes rows.
func scanEvents(rows pgx.Rows, out []tally.Event) ([]tally.Event, error) {
	defer rows.Close()
	for rows.Next() {
		var id, app, t int64
		var kind int16
		var group, ip, body []byte
		if err := rows.Scan(&id, &app, &group, &kind, &ip, &t, &body); err != nil {
			return out, err
		}
		if id <= 0 || app < 0 || app > math.MaxUint32 || kind <= 0 || tally.EventKind(kind).Command() == "" {
			return out, errCorrupt
		}
		out = append(out, tally.Event{
			ID: uint64(id), App: uint32(app), GroupID: string(group), Kind: tally.EventKind(kind),
			ClientIP: string(ip), Time: t, Body: body,
		})
	}
	return out, rows.Err()
}

// DeleteEvents implements tally.Outbox.
func (s *Store) DeleteEvents(ctx context.Context, ids []uint64) error {
	keep := make([]int64, 0, len(ids))
	for _, id := range ids {
		// No event has an id a bigint cannot hold.
		if id > 0 && id <= math.MaxInt64 {
			keep = append(keep, int64(id))
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context, q querier) error {
		_, err := q.Exec(ctx, "DELETE FROM tally_outbox WHERE id = ANY($1)", keep)
		return err
	})
}

// claimName is the row of tally_claims that the claim of delivery is.
const claimName = "outbox"

// ClaimDelivery implements tally.Outbox.
//
// One statement takes the claim when no one holds it, holder does, or its
// holder's span has run out, all by the database's clock, which it reads
// once it has the row's lock: claims of one row are ordered by that lock,
// and so are the clock readings that decide them. A holder that counts its
// span from before it asked, by its own clock, stops before the database
// would grant the claim to another.
func (s *Store) ClaimDelivery(ctx context.Context, holder string, span time.Duration) (bool, error) {
	micros := max(span.Microseconds(), 1)
	var granted bool
	err := s.write(ctx, func(ctx context.Context, q querier) error {
		var one int
		err := q.QueryRow(ctx, `INSERT INTO tally_claims (name, holder, until_us)
			VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint + $3)
			ON CONFLICT (name) DO UPDATE
			SET holder = excluded.holder, until_us = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint + $3
			WHERE tally_claims.holder = excluded.holder
				OR tally_claims.until_us <= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
			RETURNING 1`, claimName, holder, micros).Scan(&one)
		granted = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return false, err
	}
	return granted, nil
}
