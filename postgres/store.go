// Package postgres is Tally's networked store: tally.Store on PostgreSQL,
// so that any number of stateless Tally nodes can serve the same data.
//
// Durability and visibility come from the database. It is meant to run
// with synchronous_commit on and a synchronous standby: a commit returns
// only once the standby has flushed it, and until then other sessions do
// not see it, so no answer shows a value that a failover could take back.
//
// Each call is one transaction that applies the root package's rules
// (ApplyCounters, ApplyGroupChange, PlanAdd, PlanDelete, CheckMemberCall)
// to what it read. A write first locks its group's row (SELECT ... FOR
// UPDATE), which serialises the writers of one group across every node;
// it runs at READ COMMITTED, so each statement after the lock reads the
// newest committed state. A read runs in one snapshot (REPEATABLE READ,
// read only, or a single statement). The SQL stays within what
// CockroachDB and YugabyteDB also accept, and a transaction that fails
// with a serialization failure (40001) or a deadlock (40P01), which they
// answer where PostgreSQL would wait, is run again (tx.go).
//
// A call's context is honoured only until its transaction begins: once a
// call may have changed something it runs to its end with the context's
// cancellation removed. Cancelling a query makes pgx cancel it on the
// server, and a COMMIT cancelled while it waits for the synchronous standby
// is committed locally and shown to everyone without the standby's copy.
//
// A call that fails with an internal error may or may not have been
// applied: a connection lost during COMMIT leaves the outcome unknown, and
// the call answers an error, never OK.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// Store is a tally.Store on PostgreSQL.
type Store struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
	// folds gathers concurrent UpdateCounters calls on one group into
	// one transaction (fold.go), unless noFold, which the URL's
	// tally_fold=off sets, makes each call a transaction of its own.
	folds  folds
	noFold bool
	// feed tells the changes of counters once they have committed; nil
	// until OnChange sets a function (feed.go). feedMu orders OnChange
	// against Close.
	feed   atomic.Pointer[changefeed.Feed]
	feedMu sync.Mutex
	// where names the database for messages, without the password.
	where string
	// health is the outcome of the latest ping, which Health answers for
	// healthTTL.
	health struct {
		sync.Mutex
		at  time.Time
		err error
	}
}

var (
	_ tally.Store      = (*Store)(nil)
	_ tally.ChangeFeed = (*Store)(nil)
)

var errClosed = errors.New("postgres: store is closed")

// Open connects to the database at url, a pgx connection string such as
// postgres://user:password@host1,host2/db?target_session_attrs=read-write,
// and brings its schema up to date. Its errors never hold the password.
//
// The URL's pool_max_conns (pgx's default: 4, or the CPU count if more)
// bounds the transactions a node has in flight. Each commit waits a round
// trip to the synchronous standby, so a node serving many groups at once
// wants more, within the server's max_connections over all nodes.
//
// The URL's tally_fold=off is a diagnostic knob, for measuring what
// folding gains: each UpdateCounters call then runs a transaction of its
// own rather than sharing one with the calls on its group that queue
// behind it (fold.go), so a hot group tops out at one update per commit.
// Open takes it out of the settings it passes on, as pgxpool does its
// pool_ settings, for PostgreSQL refuses a connection that names a
// setting it does not know. tally_fold=on, the default, folds.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, parseError(url, err)
	}
	fold, err := takeFoldSetting(cfg)
	if err != nil {
		return nil, err
	}
	secret := cfg.ConnConfig.Password
	where := describe(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, redact(fmt.Errorf("postgres: open %s: %w", where, err), secret)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, redact(fmt.Errorf("postgres: open %s: %w", where, err), secret)
	}
	return &Store{pool: pool, where: where, noFold: !fold}, nil
}

// String names the database the store is on, as user, database and hosts,
// without the password, for banners and messages.
func (s *Store) String() string { return s.where }

// describe names the database of cfg for an error message, without the
// password: user, hosts and database.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	hosts := []string{fmt.Sprintf("%s:%d", c.Host, c.Port)}
	// The fallbacks repeat each host once per TLS mode to try.
	for _, f := range c.Fallbacks {
		if h := fmt.Sprintf("%s:%d", f.Host, f.Port); !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return fmt.Sprintf("database %q as user %q on %s", c.Database, c.User, strings.Join(hosts, ","))
}

// Close waits for the calls in progress and closes the connections. Calls
// after Close fail.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
	// The pool's Close has waited for every connection to come back, so
	// every transaction that queued changes on the feed has ended, and no
	// other can begin: the feed tells what is left and ends.
	s.feedMu.Lock()
	f := s.feed.Load()
	s.feedMu.Unlock()
	if f != nil {
		f.Close()
	}
	return nil
}

// healthTTL is how long Health answers the outcome of its latest ping.
const healthTTL = time.Second

// Health reports whether the store can serve: nil, or why not (closed, or
// the database unreachable), so that a health check can tell a load
// balancer to send calls elsewhere.
//
// It pings the database at most once per healthTTL, and answers the
// latest outcome meanwhile, so that load balancers polling every node
// cost the database a round trip a second each, not one per poll; a
// change of the database's state shows within healthTTL of it. One ping
// runs at a time: callers that come while it runs wait for its outcome
// rather than each take a connection of their own, which a database
// that has stopped answering would otherwise make them all wait on.
func (s *Store) Health() error {
	if s.closed.Load() {
		return errClosed
	}
	h := &s.health
	h.Lock()
	defer h.Unlock()
	if !h.at.IsZero() && time.Since(h.at) < healthTTL {
		return h.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.err = nil
	if err := s.pool.Ping(ctx); err != nil {
		h.err = fmt.Errorf("postgres: %w", err)
	}
	h.at = time.Now()
	return h.err
}
