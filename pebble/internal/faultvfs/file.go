package faultvfs

import (
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// file is a disk file or directory that an incarnation writes or syncs.
type file struct {
	vfs.File
	fs   *FS
	name string
	// drops is set for the files whose failed writes Pebble does not
	// survive: once the incarnation has faulted, their writes and syncs are
	// dropped and reported done instead of failed.
	drops bool
	// wal is set for a write-ahead log whose durable syncs are reported
	// to the WALSyncing hook.
	wal bool
}

// failed records err, met by a write or sync of the file, as a fault, and
// returns what Pebble must be told.
func (f *file) failed(op string, err error) error {
	f.fs.Fault(&os.PathError{Op: op, Path: f.name, Err: err})
	if f.drops {
		return nil
	}
	return err
}

// refused returns what Pebble is told of a write or sync after the fault,
// which does not reach the disk.
func (f *file) refused() error {
	if f.drops {
		return nil
	}
	return f.fs.refusal()
}

func (f *file) Write(p []byte) (int, error) {
	if f.fs.Faulted() {
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

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if f.fs.Faulted() {
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

func (f *file) Sync() error { return f.sync(f.File.Sync) }

func (f *file) SyncData() error { return f.sync(f.File.SyncData) }

// sync runs one of the file's full syncs, which Sync and SyncData make
// alike: refused after a fault, reported to the WALSyncing hook, and a
// fault when it fails.
func (f *file) sync(do func() error) error {
	if f.fs.Faulted() {
		return f.refused()
	}
	if f.wal {
		f.fs.hooks.WALSyncing()
	}
	if err := do(); err != nil {
		return f.failed("sync", err)
	}
	return nil
}

func (f *file) SyncTo(length int64) (bool, error) {
	if f.fs.Faulted() {
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
func (f *file) Preallocate(off, length int64) error {
	if f.fs.Faulted() {
		return nil
	}
	return f.File.Preallocate(off, length)
}

// Close closes the file in every case; a failed close of a written file
// may have lost a write, so it is a fault.
func (f *file) Close() error {
	if err := f.File.Close(); err != nil && !f.fs.Faulted() {
		return f.failed("close", err)
	}
	return nil
}
