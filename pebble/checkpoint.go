package pebble

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Checkpoint writes a consistent copy of the store, one that Open can open,
// into dir, which must not exist yet, while the store goes on serving.
// Pebble hard-links the tables and copies the WAL and the MANIFEST, so dir
// should be on the store's file system: elsewhere every table is copied.
//
// What the copy holds. WithFlushedWAL first syncs the WAL, so every write
// applied before the call, acknowledged or not, is in the checkpoint, and
// with it everything any answer given before the call showed (the package
// doc: no answer shows a write that is not durable). The WAL is then copied
// as the file stands, which may include writes applied during the call
// that are not yet synced, nor acknowledged, and perhaps a batch cut in
// half, which the replay of the copy drops whole, as after a crash. That
// is harmless: the WAL is in commit order, so the copy holds a prefix of
// the history, never a write without those before it, and a write not yet
// acknowledged that is in the copy is like one acknowledged just after the
// checkpoint. Should its sync fail later, the original may lose it; it was
// then answered with an error, which promises neither outcome.
//
// Pebble writes the checkpoint through the store's faultvfs.FS, there being
// no other way to give it a file system, so a failed write into dir counts
// as a storage fault and the store reopens. With dir on the store's file
// system, as it should be, that is a fault of the store's own disk (full,
// or failing), which the next write would meet anyway. A checkpoint the
// fault cut short is not trusted, whatever Pebble answered: after a fault
// faultvfs drops the writes of WAL and MANIFEST files, so the copy may lack
// them. It is removed, and the fault returned.
func (s *Store) Checkpoint(dir string) error {
	if err := s.enter(); err != nil {
		return err
	}
	// Holding closeMu shared keeps the database open, and a reopening
	// after a fault waits until the checkpoint has ended, which takes
	// about as long as copying the WAL and the MANIFEST.
	defer s.closeMu.RUnlock()
	fs := s.fs
	err := s.db.Checkpoint(dir, pebble.WithFlushedWAL())
	if ferr := faultErr(fs); ferr != nil {
		// Pebble's own cleanup went through the faulted file system,
		// which no longer touches the disk.
		_ = s.opts.fs.RemoveAll(dir)
		return fmt.Errorf("checkpoint %s into %s: %w", s.dir, dir, ferr)
	}
	if err != nil {
		return fmt.Errorf("checkpoint %s into %s: %w", s.dir, dir, err)
	}
	return nil
}
