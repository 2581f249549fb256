package faultvfs

import (
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// The view of the disk that the incarnation has after the fault: the disk
// as the fault left it, less the files removed since, which must stay on
// disk, plus the files created since, which live in memory. Paths are
// cleaned for the in-memory file system, which does not know "./", and for
// gone.

// memLocked returns the in-memory file system, with the directory of name,
// a clean path, made. The caller holds fs.mu.
func (fs *FS) memLocked(name string) *vfs.MemFS {
	fs.initLocked()
	_ = fs.mem.MkdirAll(fs.mem.PathDir(name), 0o755)
	return fs.mem
}

// initLocked makes the state kept after the fault. The caller holds fs.mu.
func (fs *FS) initLocked() {
	if fs.mem == nil {
		fs.mem = vfs.NewMem()
		fs.gone = map[string]bool{}
	}
}

// lookupFaulted tells where name, cleaned, stands once the incarnation has
// faulted: in memory if it was created since, gone if it was removed since,
// and otherwise on disk as the fault left it.
func (fs *FS) lookupFaulted(name string) (clean string, inMem, gone bool) {
	clean = filepath.Clean(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return clean, fs.inMemLocked(clean), fs.gone[clean]
}

// inMemLocked reports whether name, a clean path, was created after the
// fault. The caller holds fs.mu.
func (fs *FS) inMemLocked(name string) bool {
	if fs.mem == nil {
		return false
	}
	_, err := fs.mem.Stat(name)
	return err == nil
}

// removeLocked removes name, a clean path, after the fault. The caller
// holds fs.mu.
func (fs *FS) removeLocked(name string) error {
	fs.initLocked()
	inMem := fs.inMemLocked(name)
	if inMem {
		_ = fs.mem.Remove(name)
	}
	if fs.gone[name] {
		if inMem {
			return nil
		}
		return notExist("remove", name)
	}
	if _, err := fs.base.Stat(name); err == nil {
		fs.gone[name] = true
		return nil
	}
	if inMem {
		return nil
	}
	return notExist("remove", name)
}

func notExist(op, name string) error {
	return &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
}
