package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// querier is what a call's statements run on: its transaction, or the pool
// for a read of one statement, which sees one snapshot on its own.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var (
	// Writers lock their group's row first, and at READ COMMITTED each
	// later statement reads what was committed before the lock was
	// granted. Named explicitly, since a database's default may differ.
	writeTx = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
	// A read of several statements sees one snapshot.
	viewTx = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
)

// maxAttempts bounds the runs of one transaction that keeps meeting
// serialization failures, deadlocks or dead connections.
const maxAttempts = 10

// write runs fn in a write transaction, view in a read-only snapshot, and
// read on the pool, for one statement.
func (s *Store) write(ctx context.Context, fn func(context.Context, querier) error) error {
	return s.run(ctx, &writeTx, fn, nil)
}

func (s *Store) view(ctx context.Context, fn func(context.Context, querier) error) error {
	return s.run(ctx, &viewTx, fn, nil)
}

func (s *Store) read(ctx context.Context, fn func(context.Context, querier) error) error {
	return s.run(ctx, nil, fn, nil)
}

// writeTelling runs fn as write does, and hands the changes of counters
// that fn's run returns, in Seq order, to the feed once its transaction
// has committed (feed.go). fn has locked the group's row.
func (s *Store) writeTelling(ctx context.Context, fn func(context.Context, querier) ([]changefeed.Change, error)) error {
	var changes []changefeed.Change
	return s.run(ctx, &writeTx, func(ctx context.Context, q querier) error {
		var err error
		changes, err = fn(ctx, q)
		return err
	}, &changes)
}

// run runs fn in a transaction with opts (none when nil), again while it
// fails in a way that left nothing applied and may pass next time. fn
// must set its results afresh on every run, told among them: the changes
// of its run, if told is not nil, for the feed.
//
// ctx is looked at only before the first run: nothing has changed then, so
// the call can give up with ctx's error. After that the runs ignore its
// cancellation, for pgx would cancel the statement in progress, and a
// COMMIT cancelled while it waits for the synchronous standby is kept
// locally and shown to other sessions without the standby's copy.
func (s *Store) run(ctx context.Context, opts *pgx.TxOptions, fn func(context.Context, querier) error, told *[]changefeed.Change) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: call given up before it began: %w", err)
	}
	if s.closed.Load() {
		return errClosed
	}
	ctx = context.WithoutCancel(ctx)
	wait := time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.once(ctx, opts, fn, told)
		if err == nil || attempt == maxAttempts || !retryable(err) || s.closed.Load() {
			return err
		}
		// Jitter, so that the transactions that collided do not meet
		// again at the same moment.
		time.Sleep(wait/2 + rand.N(wait))
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// once runs fn once. Its errors are fn's *tally.Error, or internal errors
// that say whether the transaction may have committed (outcomeUnknown).
func (s *Store) once(ctx context.Context, opts *pgx.TxOptions, fn func(context.Context, querier) error, told *[]changefeed.Change) error {
	if opts == nil {
		return internal(fn(ctx, s.pool))
	}
	tx, err := s.pool.BeginTx(ctx, *opts)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	if err := fn(ctx, tx); err != nil {
		// A failed rollback leaves the connection broken, and the pool
		// drops it; the transaction ends with it, uncommitted.
		tx.Rollback(ctx)
		return internal(err)
	}
	// The changes are queued before the COMMIT, while the group's row
	// is still locked, so that the changes of a group made through this
	// node are queued in Seq order; the feed tells them only if the
	// COMMIT succeeds.
	var c *commit
	var f *changefeed.Feed
	if told != nil && len(*told) > 0 {
		if f = s.feed.Load(); f != nil {
			c = &commit{}
			f.AddAll(c, *told)
		}
	}
	err = tx.Commit(ctx)
	if c != nil {
		c.end(err == nil)
		f.Ended()
	}
	if err != nil {
		// The server refuses a COMMIT with a serialization failure
		// (CockroachDB does) only by rolling the transaction back.
		if code := sqlState(err); code == serializationFailure || code == deadlockDetected {
			return fmt.Errorf("postgres: commit: %w", err)
		}
		return &outcomeUnknown{err}
	}
	return nil
}

// internal marks an error that is not the client's as the store's.
func internal(err error) error {
	if err == nil || errors.As(err, new(*tally.Error)) {
		return err
	}
	return fmt.Errorf("postgres: %w", err)
}

// outcomeUnknown is a COMMIT that failed without saying it rolled back:
// the connection may have been lost after the server committed. Such a
// call answers an internal error, never OK, and is not run again, which
// could apply it twice.
type outcomeUnknown struct{ err error }

func (e *outcomeUnknown) Error() string {
	return "postgres: commit failed, and the call may or may not have been applied: " + e.err.Error()
}

func (e *outcomeUnknown) Unwrap() error { return e.err }

const (
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
)

// sqlState returns the SQLSTATE of a server's error, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports whether a transaction that failed with err applied
// nothing and may pass if run again. Anything but a COMMIT that failed
// (outcomeUnknown) applied nothing: the server rolls back a transaction
// whose connection it loses. Of those, the ones worth another run are a
// serialization failure or deadlock, which the server answers by rolling
// back, and a lost or refused connection, such as one the server dropped
// while it sat in the pool: the next run takes a fresh one.
func retryable(err error) bool {
	if errors.As(err, new(*outcomeUnknown)) || errors.As(err, new(*tally.Error)) {
		return false
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		// Not the server's answer: the connection failed, unless the
		// store found a stored value it cannot read, or an import broke
		// a rule, which no run will mend.
		return !errors.Is(err, errCorrupt) && !errors.Is(err, errImport)
	}
	switch {
	case pe.Code == serializationFailure, pe.Code == deadlockDetected:
		return true
	case strings.HasPrefix(pe.Code, "08"): // connection_exception
		return true
	case strings.HasPrefix(pe.Code, "57P"): // admin_shutdown, cannot_connect_now…
		return true
	}
	return false
}
