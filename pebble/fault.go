package pebble

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally/pebble/internal/faultvfs"
)

// The store's answer to a storage fault. Pebble does not survive many
// write errors, so the store opens each incarnation of the database on a
// faultvfs.FS of its own (see that package for why), which cuts the
// incarnation off from the disk at its first fault and keeps the errors
// from Pebble. The store therefore checks Faulted after every sync and
// read, answers errors from then on, and replaces the faulted incarnation
// with a new one as soon as the directory opens again.

// openDB opens one incarnation of the database on a faultvfs.FS of its
// own. An incarnation that faults while it opens is closed, and its open
// fails.
func (s *Store) openDB() (db *pebble.DB, fs *faultvfs.FS, err error) {
	fs = faultvfs.New(s.opts.fs, faultvfs.Hooks{
		// The reopening runs apart: the goroutine that met the fault may
		// be the WAL's, which calls holding closeMu are waiting for.
		OnFault:    func(error) { go s.reopenAfter(fs) },
		WALSyncing: s.metrics.walSyncing,
	})
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("pebble: open panicked: %v", r)
		}
		if err == nil && fs.Faulted() {
			s.closeFaulted(db, fs)
			db, err = nil, faultErr(fs)
		}
		if err != nil {
			// Whatever the failed open left running must not reach the
			// disk, nor keep the directory locked.
			fs.Fault(err)
			fs.ReleaseLocks()
		}
	}()
	db, err = pebble.Open(s.dir, pebbleOptions(fs, &logger{fs: fs, out: s.opts.logger}, s.opts.budget))
	return db, fs, err
}

// reopenAfter replaces the incarnation whose file system fs has faulted: it
// takes it out of service, closes it, and opens the directory again until
// that succeeds, so that the store serves again once the fault has
// cleared. Opening replays the WAL, which holds every acknowledged write,
// and flushes what it replayed to new, synced tables, so what the store
// serves afterwards is durable, even a write that was answered with an
// error but reached the disk.
func (s *Store) reopenAfter(fs *faultvfs.FS) {
	s.closeMu.Lock()
	if s.closed || s.fs != fs {
		s.closeMu.Unlock()
		return // Not in service: closed, or faulted while it opened.
	}
	db := s.db
	s.db, s.fs = nil, nil
	s.faults.Add(1)
	// What the faulted incarnation held is no guide to what the reopened
	// one will: it is counted again once that is open.
	s.census.end()
	// The latches remember the old incarnation's writes, which have all
	// ended since the calls that made them have left, and counters that
	// may never have become durable.
	for i := range s.groups {
		s.groups[i].last = nil
		s.groups[i].cache.clear()
	}
	for i := range s.apps {
		s.apps[i].last = nil
	}
	reopened := make(chan struct{})
	s.reopened = reopened
	s.closeMu.Unlock()
	defer close(reopened)

	s.opts.logger.Errorf("%v; reopening %s", faultErr(fs), s.dir)
	s.closeFaulted(db, fs)

	// The first attempt is at once, since a fault may be momentary, unless
	// the last reopening was recent: then the fault is likely to be back,
	// as with a full disk, where opening works but the first write fails.
	if time.Since(s.reopenedAt) >= s.opts.retryMax {
		s.reopenWait = 0
	}
	var firstErr error
	for {
		if s.reopenWait > 0 {
			select {
			case <-s.stop:
				return
			case <-time.After(s.reopenWait):
			}
		}
		s.reopenWait = min(max(2*s.reopenWait, s.opts.retryMin), s.opts.retryMax)

		db, fs, err := s.openDB()
		if err != nil {
			if firstErr == nil {
				firstErr = err
				s.opts.logger.Errorf("pebble: reopening %s: %v; retrying", s.dir, err)
			}
			continue
		}
		s.closeMu.Lock()
		if s.closed {
			s.closeMu.Unlock()
			if err := db.Close(); err != nil {
				s.opts.logger.Errorf("pebble: closing %s: %v", s.dir, err)
			}
			return
		}
		s.db, s.fs = db, fs
		s.reopenedAt = time.Now()
		s.census.start(db, s.opts.logger.Errorf)
		s.closeMu.Unlock()
		s.opts.logger.Errorf("pebble: reopened %s after a storage fault", s.dir)
		return
	}
}

// closeFaulted closes an incarnation that has faulted. Its Close waits for
// its flushes and compactions, which no longer reach the disk, so it should
// end soon; one that panics or does not end in time is abandoned, and its
// directory lock released so that the directory can be opened again.
func (s *Store) closeFaulted(db *pebble.DB, fs *faultvfs.FS) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				s.opts.logger.Errorf("pebble: closing a faulted database panicked: %v", r)
			}
		}()
		_ = db.Close() // Its errors are those of the fault, reported already.
	}()
	select {
	case <-done:
	case <-time.After(s.opts.closeWait):
		s.opts.logger.Errorf("pebble: a faulted database did not close within %v; abandoning it", s.opts.closeWait)
	}
	fs.ReleaseLocks()
}

// faultError is what every call answers while the store is faulted; the
// HTTP layer answers it, like any error that is not a *tally.Error, with
// 10002.
type faultError struct{ err error }

func (e *faultError) Error() string {
	return "pebble: storage fault, the store is unavailable until it has been reopened: " + e.err.Error()
}

func (e *faultError) Unwrap() error { return e.err }

// faultErr returns what calls answer once fs has faulted, or nil if it has
// not.
func faultErr(fs *faultvfs.FS) error {
	if err := fs.Err(); err != nil {
		return &faultError{err}
	}
	return nil
}
