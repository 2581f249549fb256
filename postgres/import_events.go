package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/tallyserver/tally"
)

// ImportEvents stores after-events that another store's outbox held (tally
// migrate), under the IDs they had there, for delivery from this one; and
// makes every ID the outbox hands out afterwards greater than theirs and
// than after, the last ID the other store gave. A body is sent with its ID
// as EventId, and a handler drops an EventId it has handled: a copied
// event must keep its ID to be taken for what it is, and a new one must
// not be given an ID the handler saw before the move.
//
// As with Import, one call is one transaction, so that a failed call
// leaves nothing of itself, and callers send a few thousand events at a
// time. The sequence of IDs is only ever moved up: an ID the database
// handed out before the call is not handed out again either.
func (s *Store) ImportEvents(ctx context.Context, evs []tally.Event, after uint64) error {
	if len(evs) == 0 && after == 0 {
		return nil
	}
	b, err := newEventColumns(evs)
	if err != nil {
		return err
	}
	if after > math.MaxInt64 {
		return fmt.Errorf("postgres: %w: the last event id %d is past what a bigint holds", errImport, after)
	}
	floor := max(b.last, int64(after))
	return s.write(ctx, func(ctx context.Context, q querier) error {
		if len(b.id) > 0 {
			if _, err := q.Exec(ctx, `INSERT INTO tally_outbox (id, app, group_id, kind, client_ip, time, body)
				SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::smallint[], $5::bytea[], $6::bigint[], $7::bytea[])`,
				b.id, b.app, b.group, b.kind, b.ip, b.time, b.body); err != nil {
				return importError(err)
			}
		}
		// nextval rather than a read of the sequence, which the
		// databases Tally runs on do not all allow: it costs one ID,
		// and keeps whatever the sequence has handed out below the new
		// value.
		_, err := q.Exec(ctx, "SELECT setval('tally_outbox_ids', greatest(nextval('tally_outbox_ids'), $1::bigint))", floor)
		return err
	})
}

// eventColumns holds events as the columns of tally_outbox, for one
// INSERT of them all, and the greatest of their ids.
type eventColumns struct {
	id, app, time   []int64
	group, ip, body [][]byte
	kind            []int16
	last            int64
}

// newEventColumns checks evs and lays them out for ImportEvents.
func newEventColumns(evs []tally.Event) (*eventColumns, error) {
	b := &eventColumns{}
	for _, e := range evs {
		if e.ID == 0 || e.ID > math.MaxInt64 {
			return nil, fmt.Errorf("postgres: %w: event id %d is not one a bigint sequence gives", errImport, e.ID)
		}
		if e.Kind.Command() == "" {
			return nil, fmt.Errorf("postgres: %w: event %d is of no kind Tally knows (%d)", errImport, e.ID, e.Kind)
		}
		b.id = append(b.id, int64(e.ID))
		b.app = append(b.app, int64(e.App))
		b.group = append(b.group, bs(e.GroupID))
		b.kind = append(b.kind, int16(e.Kind))
		b.ip = append(b.ip, bs(e.ClientIP))
		b.time = append(b.time, e.Time)
		b.body = append(b.body, e.Body)
		b.last = max(b.last, int64(e.ID))
	}
	return b, nil
}

// exportPage is how many events one read of ExportEvents takes.
const exportPage = 1000

// ExportEvents calls fn with every event of the outbox, lowest ID first,
// for tally migrate to check its copy. It reads a page of events at a
// time, each page on its own, so it shows the outbox as of one moment
// only when nothing writes to the database, as while migrate runs. It
// stops at fn's first error and returns it.
func (s *Store) ExportEvents(ctx context.Context, fn func(tally.Event) error) error {
	var next int64
	for {
		var page []tally.Event
		err := s.read(ctx, func(ctx context.Context, q querier) error {
			rows, err := q.Query(ctx, `SELECT id, app, group_id, kind, client_ip, time, body FROM tally_outbox
				WHERE id > $1 ORDER BY id LIMIT $2`, next, exportPage)
			if err != nil {
				return err
			}
			page, err = scanEvents(rows, nil)
			return err
		})
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		next = int64(page[len(page)-1].ID)
	}
}
