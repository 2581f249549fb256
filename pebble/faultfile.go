package pebble

import (
	"io"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// faultFile is a disk file or directory that an incarnation writes or
// syncs.
type faultFile struct {
	vfs.File
	fs   *faultFS
	name string
	// drops is set for the files whose failed writes Pebble does not
	// survive: once the incarnation has faulted, their writes and syncs are
	// dropped and reported done instead of failed.
	drops bool
	// wal is set for a write-ahead log whose durable syncs are reported
	// to fs.walSyncing.
	wal bool
}

// failed records err, met by a write or sync of the file, as a fault, and
// returns what Pebble must be told.
func (f *faultFile) failed(op string, err error) error {
	f.fs.fault(&os.PathError{Op: op, Path: f.name, Err: err})
	if f.drops {
		return nil
	}
	return err
}

// refused returns what Pebble is told of a write or sync after the fault,
// which does not reach the disk.
func (f *faultFile) refused() error {
	if f.drops {
		return nil
	}
	return f.fs.faultErr()
}

func (f *faultFile) Write(p []byte) (int, error) {
	if f.fs.faulted() {
		if err := f.refused(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	n, err := f.File.Write(p)
	if err != nil {
		if err = f.failed("write", err); err == nil {
			n = len(p)
		}
	}
	return n, err
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if f.fs.faulted() {
		if err := f.refused(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	n, err := f.File.WriteAt(p, off)
	if err != nil {
		if err = f.failed("write", err); err == nil {
			n = len(p)
		}
	}
	return n, err
}

func (f *faultFile) Sync() error { return f.sync(f.File.Sync) }

func (f *faultFile) SyncData() error { return f.sync(f.File.SyncData) }

// sync runs one of the file's full syncs, which Sync and SyncData make
// alike: refused after a fault, reported to the WAL metrics, and a fault
// when it fails.
func (f *faultFile) sync(do func() error) error {
	if f.fs.faulted() {
		return f.refused()
	}
	if f.wal {
		f.fs.walSyncing()
	}
	if err := do(); err != nil {
		return f.failed("sync", err)
	}
	return nil
}

func (f *faultFile) SyncTo(length int64) (bool, error) {
	if f.fs.faulted() {
		return false, f.refused()
	}
	full, err := f.File.SyncTo(length)
	if err != nil {
		return false, f.failed("sync", err)
	}
	return full, nil
}

// Preallocate is only a hint: Pebble ignores its errors, and a full disk
// shows in the writes and syncs that follow.
func (f *faultFile) Preallocate(off, length int64) error {
	if f.fs.faulted() {
		return nil
	}
	return f.File.Preallocate(off, length)
}

// Close closes the file in every case; a failed close of a written file
// may have lost a write, so it is a fault.
func (f *faultFile) Close() error {
	if err := f.File.Close(); err != nil && !f.fs.faulted() {
		return f.failed("close", err)
	}
	return nil
}

// onceCloser closes a lock once; Pebble's locks panic when closed twice,
// and an abandoned incarnation may close its lock after the store did.
type onceCloser struct {
	c    io.Closer
	once sync.Once
	err  error
}

func (l *onceCloser) Close() error {
	l.once.Do(func() { l.err = l.c.Close() })
	return l.err
}
