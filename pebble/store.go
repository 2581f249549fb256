// Package pebble is Tally's embedded store: tally.Store on a Pebble database
// in one directory.
//
// Writes are group-committed. A call takes its group's latch, reads, applies
// its batch to the memtable with ApplyNoSyncWait (which orders it in the WAL),
// releases the latch and only then waits for the fsync, so that every call
// that arrived during one fsync shares the next.
//
// No answer shows a value that a crash could take back. Pebble shows an
// applied batch to readers before it is synced, so each latch remembers the
// newest write applied under it until that write is durable, and every
// write to a key happens under the same latch: a group's keys under its
// group latch, an app's record and group list under its app latch. A call
// that wrote waits for its own batch; a call that read under a latch and
// wrote nothing waits for the latch's newest write, whatever it answers
// (counters, ErrGroupNotFound, ErrGroupIDInUse, ErrNoPermission, or
// counters that a Set left unchanged). The WAL is synced in order, so once
// that write is durable, so is everything the call could have read. A
// write whose sync failed stays pending, so that whoever read it fails too.
//
// A group's keys include its members' three keys each (encoding.go), the
// one in the member's list of groups too, so that a member's every key is
// written under its group's latch. That list is therefore written under
// many latches, and JoinedGroups, which reads it, holds none: it reads a
// snapshot and then waits for a barrier, a batch of nothing but a LogData
// record synced like a write, which is durable only once everything the
// snapshot showed is (joined.go).
//
// Each group's counters record holds its Seq, the number of changes its
// counters have had, and the store tells each change once it is durable
// to the function given to OnChange: a write queues its commit and its
// change on the store's feed under its group's latch, and the feed tells
// changes in that order once their syncs succeed (feed.go).
//
// A call's context is not looked at. net/http cancels a request's context
// when the client half-closes its connection, though the client still
// reads the answer, so a call that gave up on a done context would fail a
// client that is still there. Nor could a call give up once it has applied
// its batch, which cannot be taken back: it must wait for the sync and
// answer its outcome. What is left to save, the wait for a latch, is short,
// since a latch is held only while a batch is ordered, never during an
// fsync.
//
// On a storage fault the store answers errors, never OK, until it has
// reopened. Pebble panics or exits on a failed write or sync of its WAL or
// MANIFEST (package faultvfs tells where), so the store opens it on a
// faultvfs.FS, which treats the first failed write, sync or create as a
// fault. From then on nothing that incarnation of the database does
// reaches the disk, as if it had crashed at the fault, while Pebble is
// told its writes succeed. A batch is therefore durable only if no fault
// had been recorded when its sync returned, and the fault is recorded
// before the failed sync returns.
// Once faulted, every call fails with an internal error (10002), reads too,
// for the memtable may hold writes that never became durable; the store
// closes the incarnation and opens the directory again, with backoff,
// until that succeeds, and then serves again. Opening replays the WAL,
// which holds every acknowledged write, and flushes what it replayed to
// synced tables, so what the store serves afterwards is durable as well. A
// write answered with an error may or may not have survived.
package pebble

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
	"github.com/tallyserver/tally/pebble/internal/faultvfs"
)

// Store is a tally.Store on Pebble.
type Store struct {
	dir  string
	opts options

	// closeMu is held shared by every call, and exclusively by whoever
	// replaces db: Close, and the recovery from a storage fault (fault.go).
	// Pebble panics on use after close.
	closeMu sync.RWMutex
	closed  bool
	// db is the current incarnation of the database and fs its file
	// system; both are nil while the store reopens after a fault.
	db *pebble.DB
	fs *faultvfs.FS
	// stop is closed by Close, to end a reopening; reopened is closed once
	// the latest reopening has ended. Both are guarded by closeMu.
	stop     chan struct{}
	reopened chan struct{}
	// reopenWait and reopenedAt pace the reopenings (fault.go); only the
	// one running reopening uses them.
	reopenWait time.Duration
	reopenedAt time.Time
	// faults counts the incarnations taken out of service after a fault.
	faults atomic.Int64

	// groups serialises calls on one group; apps serialises the creation and
	// destruction of groups in one app, which share the app record. A call
	// that takes both takes the app latch first.
	groups [4096]latch
	apps   [64]latch
	seed   maphash.Seed

	// metrics and census feed the store's Prometheus metrics (metrics.go,
	// census.go).
	metrics storeMetrics
	census  census

	// feed tells the changes of counters once they are durable; nil
	// until OnChange sets a function (feed.go).
	feed atomic.Pointer[changefeed.Feed]

	// lastEvent is the ID of the last event put in the outbox (outbox.go).
	lastEvent atomic.Uint64
	// deleteMu orders the deletions of events, whose batches mark
	// lastEvent as it was (outbox.go).
	deleteMu sync.Mutex

	// cacheShare is how many bytes of counters each group latch's cache
	// may hold (cache.go).
	cacheShare int
}

var (
	_ tally.Store      = (*Store)(nil)
	_ tally.ChangeFeed = (*Store)(nil)
)

// options are what tests may change; Open uses the defaults.
type options struct {
	// fs is the file system under the store; vfs.Default if nil.
	fs vfs.FS
	// retryMin and retryMax bound the wait between two attempts to reopen
	// the database after a storage fault.
	retryMin, retryMax time.Duration
	// closeWait is how long a faulted database may take to close before
	// it is abandoned.
	closeWait time.Duration
	// budget is the memory budget (budget.go); DefaultMemoryBudget if 0.
	budget int64
	// logger receives Pebble's errors and the store's news of faults;
	// pebble.DefaultLogger if nil.
	logger pebble.Logger
}

func (o *options) setDefaults() {
	if o.fs == nil {
		o.fs = vfs.Default
	}
	if o.retryMin == 0 {
		o.retryMin = 10 * time.Millisecond
	}
	if o.retryMax == 0 {
		o.retryMax = 2 * time.Second
	}
	if o.closeWait == 0 {
		o.closeWait = 10 * time.Second
	}
	if o.logger == nil {
		o.logger = pebble.DefaultLogger
	}
	if o.budget <= 0 {
		o.budget = DefaultMemoryBudget
	}
}

// Open opens or creates the store in dir, replaying its WAL, with the
// default Config.
func Open(dir string) (*Store, error) {
	return open(dir, options{})
}

// Config holds the settings of a store that its user may choose; a zero
// field takes its default.
type Config struct {
	// MemoryBudget is the memory the store may use for its caches and
	// memtables; DefaultMemoryBudget if 0. budget.go says how it is
	// shared out.
	MemoryBudget int64
}

// OpenWith is Open with the settings of c.
func OpenWith(dir string, c Config) (*Store, error) {
	return open(dir, options{budget: c.MemoryBudget})
}

func open(dir string, o options) (*Store, error) {
	o.setDefaults()
	s := &Store{dir: dir, opts: o, seed: maphash.MakeSeed(), stop: make(chan struct{}), metrics: newStoreMetrics()}
	s.cacheShare = latchCacheLimit(shareOf(o.budget).counters, len(s.groups))
	db, fs, err := s.openDB()
	if errors.Is(err, syscall.EAGAIN) {
		// The lock file's lock is held: fcntl answers EAGAIN.
		return nil, fmt.Errorf("open store %s: %w: %w", dir, ErrInUse, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	// A reopening after a fault need not upgrade: this open did.
	if err := migrate(db, fs, migrateChunk); err != nil {
		if fs.Faulted() {
			s.closeFaulted(db, fs)
		} else if cerr := db.Close(); cerr != nil {
			s.opts.logger.Errorf("pebble: closing %s: %v", dir, cerr)
		}
		return nil, fmt.Errorf("open store %s: upgrading the first release's records: %w", dir, err)
	}
	last, err := lastEventID(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: reading the outbox: %w", dir, err)
	}
	s.lastEvent.Store(last)
	s.db, s.fs = db, fs
	s.census.start(db, s.opts.logger.Errorf)
	return s, nil
}

// Dir returns the directory the store was opened on.
func (s *Store) Dir() string { return s.dir }

// Close waits for calls in progress and for a reopening in progress, and
// closes the database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.census.end()
	db, fs, reopened := s.db, s.fs, s.reopened
	s.db, s.fs = nil, nil
	s.closeMu.Unlock()

	// No call is in the store now, and every batch queued on the feed
	// has been synced by the call that wrote it: the feed tells what is
	// left and ends.
	if f := s.feed.Load(); f != nil {
		f.Close()
	}

	if reopened != nil {
		<-reopened
	}
	if db == nil {
		return nil
	}
	if fs.Faulted() {
		s.closeFaulted(db, fs)
		return nil
	}
	err := db.Close()
	if err == nil {
		err = faultErr(fs) // The last sync of the WAL may have failed.
	}
	return err
}

// ErrInUse is the error of opening a store that another process has
// open, such as a running server: Pebble locks the directory.
var ErrInUse = errors.New("another process has the store open")

var (
	errClosed    = errors.New("pebble: store is closed")
	errReopening = errors.New("pebble: store is reopening after a storage fault")
)

// enter guards a call against a concurrent Close or reopening, and refuses
// it once the database has faulted: the memtable may hold writes that never
// became durable. The caller must call s.closeMu.RUnlock when done.
func (s *Store) enter() error {
	s.closeMu.RLock()
	var err error
	switch {
	case s.closed:
		err = errClosed
	case s.db == nil:
		err = errReopening
	case s.fs.Faulted():
		err = faultErr(s.fs)
	default:
		return nil
	}
	s.closeMu.RUnlock()
	return err
}

// Health reports whether the store can serve: nil, or why not (closed, or
// faulted and reopening). A health check can then tell a load balancer to
// send calls elsewhere until a storage fault clears.
func (s *Store) Health() error {
	if err := s.enter(); err != nil {
		return err
	}
	s.closeMu.RUnlock()
	return nil
}

func (s *Store) groupLatch(app uint32, id string) *latch {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(id)
	return &s.groups[(h.Sum64()^uint64(app)*0x9e3779b97f4a7c15)%uint64(len(s.groups))]
}

func (s *Store) appLatch(app uint32) *latch {
	return &s.apps[app%uint32(len(s.apps))]
}

// latch serialises writers of some part of the keyspace and remembers the
// newest write applied under it, which may not be durable yet.
type latch struct {
	mu   sync.Mutex
	last *commit
	// cache holds the counters of the latch's groups that calls used
	// last, so that a call on a group need not read them from Pebble
	// (cache.go).
	cache counterCache
}

// pending returns what a reader holding l must wait for before it answers.
// A write that failed stays pending, so that whoever read it answers its
// error: it may not be durable. The caller holds l.mu.
func (l *latch) pending() *commit {
	c := l.last
	if c != nil && c.isDone() && c.err == nil {
		l.last = nil
		return nil
	}
	return c
}

// commit is one batch applied to the memtable, on its way to stable storage.
type commit struct {
	b    *pebble.Batch
	fs   *faultvfs.FS
	done chan struct{}
	err  error
}

// Ended reports, without waiting, whether the batch's sync has ended and
// whether the batch is durable, for the feed (changefeed.Outcome).
func (c *commit) Ended() (ended, durable bool) {
	if !c.isDone() {
		return false, false
	}
	return true, c.err == nil
}

func (c *commit) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait blocks until the batch is durable and returns the sync's error.
func (c *commit) wait() error {
	if c == nil {
		return nil
	}
	<-c.done
	return c.err
}

// sync is called once, by the writer, after it has released its latches: it
// waits for the fsync that covers the batch, which other writers share, and
// tells any readers that saw the batch. After a storage fault Pebble
// reports syncs done that did not reach the disk (faultvfs), so a batch is
// durable only if its database had not faulted when its sync returned: the
// fault is recorded before the failed sync returns.
func (c *commit) sync() error {
	err := c.b.SyncWait()
	if err != nil {
		c.fs.Fault(err)
	} else {
		err = faultErr(c.fs)
	}
	c.err = err
	c.b.Close()
	close(c.done)
	return err
}

// under runs fn holding the latches (one or two, the app latch first),
// and applies the batch fn returns, if any. It returns once the outcome is
// durable: the batch, or, when fn wrote nothing, every write that fn may
// have read, for an answer (even ErrGroupNotFound) must not rest on a write
// that a crash could take back. The caller has entered the store.
func (s *Store) under(fn func() (*pebble.Batch, error), latches ...*latch) error {
	return s.underTelling(func() (*pebble.Batch, changefeed.Change, error) {
		b, err := fn()
		return b, changefeed.Change{}, err
	}, latches...)
}

// underTelling is under for a write that changes a group's counters: fn
// also returns the change its batch makes, none (no GroupID) if the feed
// is off, and the change goes to the feed, to be told once the batch is
// durable (feed.go).
func (s *Store) underTelling(fn func() (*pebble.Batch, changefeed.Change, error), latches ...*latch) error {
	for _, l := range latches {
		l.mu.Lock()
	}
	b, change, err := fn()
	var c *commit
	var start time.Time
	var feed *changefeed.Feed
	if err == nil && b != nil {
		start = time.Now()
		c, err = s.apply(b)
		if err == nil && change.GroupID != "" {
			// Still under the latch, so that a group's changes are
			// queued in the order of their Seqs.
			feed = s.feed.Load()
			feed.Add(c, change)
		}
	}
	var pending [2]*commit
	for i, l := range latches {
		if c != nil {
			l.last = c
		} else {
			pending[i] = l.pending()
		}
	}
	for i := len(latches) - 1; i >= 0; i-- {
		latches[i].mu.Unlock()
	}
	if c != nil {
		err := c.sync()
		s.metrics.committed(start)
		if feed != nil {
			feed.Ended()
		}
		return err
	}
	for _, p := range pending {
		if perr := p.wait(); perr != nil {
			return perr
		}
	}
	// What fn read was durable unless the database has faulted since the
	// call entered; then the memtable may hold what a crash takes back.
	if ferr := faultErr(s.fs); ferr != nil && (err == nil || errors.As(err, new(*tally.Error))) {
		return ferr
	}
	return err
}

// apply applies b to the memtable, ordering it in the WAL, and returns the
// commit that syncs it. A failed apply counts as a storage fault: Pebble
// cannot be trusted with further writes. The caller has entered the store.
func (s *Store) apply(b *pebble.Batch) (*commit, error) {
	if err := s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		b.Close()
		s.fs.Fault(err)
		return nil, err
	}
	s.metrics.applied.Add(1)
	return &commit{b: b, fs: s.fs, done: make(chan struct{})}, nil
}

// get returns a copy of the value at key, or nil when there is none.
func (s *Store) get(key []byte) ([]byte, error) {
	return getFrom(s.db, key)
}
