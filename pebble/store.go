// Package pebble is Tally's embedded store: tally.Store on a Pebble database
// in one directory.
//
// Writes are group-committed. A call takes its group's latch, reads, applies
// its batch to the memtable with ApplyNoSyncWait (which orders it in the WAL),
// releases the latch and only then waits for the fsync, so that every call
// that arrived during one fsync shares the next. Pebble makes an applied
// batch visible to readers before it is synced; so that no answer shows a
// value a crash could take back, each latch remembers its newest write, and
// whoever read under the latch waits for that write to be durable too. WAL
// order means that once it is, so is everything before it.
package pebble

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
)

// Store is a tally.Store on Pebble.
type Store struct {
	db  *pebble.DB
	dir string

	// closeMu is held shared by every call and exclusively by Close, since
	// Pebble panics on use after close.
	closeMu sync.RWMutex
	closed  bool

	// groups serialises calls on one group; apps serialises the creation and
	// destruction of groups in one app, which share the app record. A call
	// that takes both takes the app latch first.
	groups [4096]latch
	apps   [64]latch
	seed   maphash.Seed
}

var _ tally.Store = (*Store)(nil)

// Open opens or creates the store in dir, replaying its WAL.
func Open(dir string) (*Store, error) {
	db, err := pebble.Open(dir, options())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return &Store{db: db, dir: dir, seed: maphash.MakeSeed()}, nil
}

// Dir returns the directory the store was opened on.
func (s *Store) Dir() string { return s.dir }

// Close waits for calls in progress and closes the database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

var errClosed = errors.New("pebble: store is closed")

// enter guards a call against a concurrent Close; the caller must call
// s.closeMu.RUnlock when done.
func (s *Store) enter() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return errClosed
	}
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
}

// pending returns what a reader holding l must wait for before it answers.
// The caller holds l.mu.
func (l *latch) pending() *commit {
	c := l.last
	if c != nil && c.isDone() {
		l.last = nil
		return nil
	}
	return c
}

// commit is one batch applied to the memtable, on its way to stable storage.
type commit struct {
	b    *pebble.Batch
	done chan struct{}
	err  error
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
// tells any readers that saw the batch.
func (c *commit) sync() error {
	c.err = c.b.SyncWait()
	c.b.Close()
	close(c.done)
	return c.err
}

// under runs fn holding the latches (one or two, the app latch first),
// and applies the batch fn returns, if any. It returns once the outcome is
// durable: the batch, or, when fn wrote nothing, every write that fn may
// have read, for an answer (even ErrGroupNotFound) must not rest on a write
// that a crash could take back. The caller has entered the store.
func (s *Store) under(fn func() (*pebble.Batch, error), latches ...*latch) error {
	for _, l := range latches {
		l.mu.Lock()
	}
	b, err := fn()
	var c *commit
	if err == nil && b != nil {
		if err = s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
			b.Close()
		} else {
			c = &commit{b: b, done: make(chan struct{})}
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
		return c.sync()
	}
	for _, p := range pending {
		if perr := p.wait(); perr != nil {
			return perr
		}
	}
	return err
}

// get returns a copy of the value at key, or nil when there is none.
func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte{}, v...), nil
}

// quietLogger keeps Pebble's informational chatter out of the server's
// output but passes on its errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	pebble.DefaultLogger.Errorf(format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	pebble.DefaultLogger.Fatalf(format, args...)
}
