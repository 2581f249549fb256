package pebble

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// What Pebble v2.1.7 does on a storage fault, and so why the store puts
// faultFS (faultfs.go) between Pebble and the disk:
//
//   - A failed write or sync of the WAL is handed to the batches that sync
//     was for, and then sticks to the log writer (record/log_writer.go:717,
//     :732); once the next block fills, commits find it (:843, :950) and
//     panic (db.go:997), and so does a memtable rotation, which closes the
//     log (db.go:2822), or fails to create the next one (db.go:2835).
//   - A failed write or sync of the MANIFEST, when a flush or compaction
//     records its outcome, calls Logger.Fatalf (version_set.go:671), which
//     exits the process; a failed directory sync when a marker moves
//     panics (vfs/atomicfs/marker.go:230).
//   - A failed flush is retried at once and forever (compaction.go:1482-1494),
//     so writes soon stall for want of memtables (db.go:2633), holding the
//     commit pipeline; and Open, which flushes what it replays and waits
//     for that flush (open.go:534-537), never returns.
//
// faultFS keeps every one of these errors from Pebble, which is why the
// store checks faulted after every sync and read, and takes the faulted
// incarnation out of service.

// openDB opens one incarnation of the database on a faultFS of its own. An
// incarnation that faults while it opens is closed, and its open fails.
func (s *Store) openDB() (db *pebble.DB, fs *faultFS, err error) {
	fs = newFaultFS(s.opts.fs, nil)
	fs.onFault = func(error) { go s.reopenAfter(fs) }
	fs.walSyncing = s.metrics.walSyncing
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("pebble: open panicked: %v", r)
		}
		if err == nil && fs.faulted() {
			s.closeFaulted(db, fs)
			db, err = nil, fs.faultErr()
		}
		if err != nil {
			// Whatever the failed open left running must not reach the
			// disk, nor keep the directory locked.
			fs.fault(err)
			fs.releaseLocks()
		}
	}()
	db, err = pebble.Open(s.dir, pebbleOptions(fs, &logger{fs: fs, out: s.opts.logger}))
	return db, fs, err
}

// reopenAfter replaces the incarnation whose file system fs has faulted: it
// takes it out of service, closes it, and opens the directory again until
// that succeeds, so that the store serves again once the fault has
// cleared. Opening replays the WAL, which holds every acknowledged write,
// and flushes what it replayed to new, synced tables, so what the store
// serves afterwards is durable, even a write that was answered with an
// error but reached the disk.
func (s *Store) reopenAfter(fs *faultFS) {
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
		s.groups[i].hot = hotCounters{}
	}
	for i := range s.apps {
		s.apps[i].last = nil
	}
	reopened := make(chan struct{})
	s.reopened = reopened
	s.closeMu.Unlock()
	defer close(reopened)

	s.opts.logger.Errorf("%v; reopening %s", fs.faultErr(), s.dir)
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
func (s *Store) closeFaulted(db *pebble.DB, fs *faultFS) {
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
	fs.releaseLocks()
}

// logger passes Pebble's errors on and keeps its chatter out. Pebble calls
// Fatalf, which by default exits the process, on the errors it has no way
// to survive; here such an error faults the incarnation instead, and the
// store replaces it. faultFS keeps storage faults from ever reaching
// Fatalf; what is left is corruption and broken invariants.
type logger struct {
	fs  *faultFS
	out pebble.Logger
}

func (l *logger) Infof(string, ...any) {}

func (l *logger) Errorf(format string, args ...any) { l.out.Errorf(format, args...) }

func (l *logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.out.Errorf("pebble: fatal: %s", msg)
	l.fs.fault(errors.New(msg))
}
