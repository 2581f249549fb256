package postgres

import (
	"context"
	"time"

	"github.com/tallyserver/tally"
)

var _ tally.RateLedger = (*Store)(nil)

// A lease may be used for leaseSpan from before it was asked for. The
// ledger counts each lease in the slot of rateSlot, by the database's
// clock, in which it was granted, and grants one only while the calls
// leased in the last rateSlots slots, the current one included, stay within
// the limit: those span more than a second and a lease's span, for the
// reason Lease gives.
const (
	leaseSpan = 50 * time.Millisecond
	rateSlot  = 10 * time.Millisecond
	rateSlots = int64((time.Second+leaseSpan)/rateSlot) + 1
)

// Lease implements tally.RateLedger.
//
// A lease locks its limit's row, then reads the database's clock: as the
// lock orders the leases of one limit, so the clock read after it does.
// A lease granted at t is used within [t, t+leaseSpan), since its span is
// counted by the caller from before it asked. The calls used in any one
// second W then come from leases granted within (start of W - leaseSpan,
// end of W), and the last of those to be granted, at g, counted every one
// of them: they were all granted within (g - 1 s - leaseSpan, g], which the
// slots it summed cover. So no second holds more than the limit, by any
// clock, and the nodes' clocks play no part.
func (s *Store) Lease(ctx context.Context, key tally.RateKey, want, limit int) (int, time.Duration, error) {
	var granted int64
	err := s.write(ctx, func(ctx context.Context, q querier) error {
		granted = 0
		if _, err := q.Exec(ctx, `INSERT INTO tally_rate_leases (app, scope, slot, calls) VALUES ($1, $2, -1, 0)
			ON CONFLICT (app, scope, slot) DO NOTHING`, int64(key.App), key.Command); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `SELECT calls FROM tally_rate_leases WHERE app = $1 AND scope = $2 AND slot = -1 FOR UPDATE`,
			int64(key.App), key.Command); err != nil {
			return err
		}
		var micros int64
		if err := q.QueryRow(ctx, `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint`).Scan(&micros); err != nil {
			return err
		}
		slot := micros / rateSlot.Microseconds()
		var leased int64
		if err := q.QueryRow(ctx, `SELECT coalesce(sum(calls), 0) FROM tally_rate_leases
			WHERE app = $1 AND scope = $2 AND slot > $3`, int64(key.App), key.Command, slot-rateSlots).Scan(&leased); err != nil {
			return err
		}
		granted = min(int64(want), int64(limit)-leased)
		if granted <= 0 {
			granted = 0
			return nil
		}
		if _, err := q.Exec(ctx, `INSERT INTO tally_rate_leases (app, scope, slot, calls) VALUES ($1, $2, $3, $4)
			ON CONFLICT (app, scope, slot) DO UPDATE SET calls = tally_rate_leases.calls + excluded.calls`,
			int64(key.App), key.Command, slot, granted); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM tally_rate_leases WHERE app = $1 AND scope = $2 AND slot >= 0 AND slot <= $3`,
			int64(key.App), key.Command, slot-rateSlots)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return int(granted), leaseSpan, nil
}
