package pebble

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// faultFS is the file system under one incarnation of the database (one
// pebble.Open). Its first write-side error (a failed write, sync or create)
// is a storage fault, and from then on the incarnation is dead to the disk:
// nothing it does reaches the disk any more, so that, as far as the disk can
// tell, the incarnation crashed at the fault. Pebble is crash-safe, so
// opening the directory again recovers, as after any crash.
//
// Pebble itself cannot survive many of these errors (see fault.go), so
// after the fault faultFS does not report them to it. Writes to the files
// that Pebble never reads back while it runs (the WAL, the MANIFEST, the
// markers and directories) are dropped and reported done; writes to other
// files that were open at the fault fail, which Pebble handles by failing
// and retrying the flush or compaction; and files created after the fault
// live in memory, so that those retries and everything else the incarnation
// does until it is closed succeed without touching the disk. The store
// learns of the fault through onFault and faulted, never through Pebble.
type faultFS struct {
	base vfs.FS

	// err holds the first fault; faulted is one atomic load, so that the
	// store may check it on every call.
	err atomic.Pointer[error]
	// onFault is called once, by whichever goroutine meets the fault, and
	// must not block: that goroutine may be the WAL's, which the store's
	// calls are waiting for.
	onFault func(error)
	// walSyncing, if not nil, is called as each durable sync of a WAL
	// file begins, for the metric of commits per fsync (metrics.go).
	walSyncing func()

	// mu guards the state the incarnation keeps after the fault.
	mu sync.Mutex
	// mem holds the files created after the fault.
	mem *vfs.MemFS
	// gone holds the disk files removed after the fault, which stay on
	// disk but must look removed to the incarnation.
	gone map[string]bool
	// locks are the directory locks taken through this FS, so that an
	// incarnation that cannot be closed can still be made to let go of its
	// directory.
	locks []*onceCloser
}

var _ vfs.FS = (*faultFS)(nil)

func newFaultFS(base vfs.FS, onFault func(error)) *faultFS {
	return &faultFS{base: base, onFault: onFault}
}

// faulted reports whether the incarnation has met a storage fault.
func (fs *faultFS) faulted() bool { return fs.err.Load() != nil }

// faultErr returns the error that calls answer once the incarnation has
// faulted, or nil if it has not.
func (fs *faultFS) faultErr() error {
	if p := fs.err.Load(); p != nil {
		return &faultError{*p}
	}
	return nil
}

// fault records err as a storage fault; only the first one counts.
func (fs *faultFS) fault(err error) {
	if fs.err.CompareAndSwap(nil, &err) && fs.onFault != nil {
		fs.onFault(err)
	}
}

// faultError is what every call answers while the store is faulted; the
// HTTP layer answers it, like any error that is not a *tally.Error, with
// 10002.
type faultError struct{ err error }

func (e *faultError) Error() string {
	return "pebble: storage fault, the store is unavailable until it has been reopened: " + e.err.Error()
}

func (e *faultError) Unwrap() error { return e.err }

// dropsWrites reports whether writes to the named file are dropped rather
// than failed after a fault, because Pebble does not survive their failure:
// it panics on WAL errors and exits on MANIFEST errors, and a failed marker
// or directory sync panics too.
func dropsWrites(name string) bool {
	base := name
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		base = name[i+1:]
	}
	return isWAL(base) ||
		strings.HasPrefix(base, "MANIFEST-") ||
		strings.HasPrefix(base, "marker.")
}

// isWAL reports whether the named file is a write-ahead log.
func isWAL(name string) bool { return strings.HasSuffix(name, ".log") }

func (fs *faultFS) wrap(f vfs.File, name string, drops bool) vfs.File {
	return &faultFile{File: f, fs: fs, name: name, drops: drops, wal: isWAL(name) && fs.walSyncing != nil}
}

// memLocked returns the in-memory file system, with the directory of name,
// a clean path, made. The caller holds fs.mu. Paths are cleaned for the
// in-memory file system, which does not know "./", and for gone.
func (fs *faultFS) memLocked(name string) *vfs.MemFS {
	fs.initLocked()
	_ = fs.mem.MkdirAll(fs.mem.PathDir(name), 0o755)
	return fs.mem
}

// initLocked makes the state kept after the fault. The caller holds fs.mu.
func (fs *faultFS) initLocked() {
	if fs.mem == nil {
		fs.mem = vfs.NewMem()
		fs.gone = map[string]bool{}
	}
}

// lookupFaulted tells where name, cleaned, stands once the incarnation has
// faulted: in memory if it was created since, gone if it was removed since,
// and otherwise on disk as the fault left it.
func (fs *faultFS) lookupFaulted(name string) (clean string, inMem, gone bool) {
	clean = filepath.Clean(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return clean, fs.inMemLocked(clean), fs.gone[clean]
}

// inMemLocked reports whether name, a clean path, was created after the
// fault. The caller holds fs.mu.
func (fs *faultFS) inMemLocked(name string) bool {
	if fs.mem == nil {
		return false
	}
	_, err := fs.mem.Stat(name)
	return err == nil
}

func notExist(op, name string) error {
	return &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
}

// Create implements vfs.FS.
func (fs *faultFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	if !fs.faulted() {
		f, err := fs.base.Create(name, category)
		if err == nil {
			return fs.wrap(f, name, dropsWrites(name)), nil
		}
		fs.fault(fmt.Errorf("create %s: %w", name, err))
	}
	name = filepath.Clean(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.memLocked(name).Create(name, category)
}

// ReuseForWrite implements vfs.FS; Pebble uses it to recycle WAL files.
func (fs *faultFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	if !fs.faulted() {
		f, err := fs.base.ReuseForWrite(oldname, newname, category)
		if err == nil {
			return fs.wrap(f, newname, dropsWrites(newname)), nil
		}
		fs.fault(fmt.Errorf("reuse %s as %s: %w", oldname, newname, err))
	}
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.removeLocked(oldname)
	return fs.memLocked(newname).Create(newname, category)
}

// Open implements vfs.FS. Files opened for reading are not wrapped: a
// failed read answers that call with an error but endangers nothing that
// is stored.
func (fs *faultFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	if fs.faulted() {
		clean, inMem, gone := fs.lookupFaulted(name)
		if inMem {
			return fs.mem.Open(clean, opts...)
		}
		if gone {
			return nil, notExist("open", name)
		}
	}
	return fs.base.Open(name, opts...)
}

// OpenReadWrite implements vfs.FS.
func (fs *faultFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	if fs.faulted() {
		clean := filepath.Clean(name)
		fs.mu.Lock()
		inMem := fs.inMemLocked(clean)
		fs.mu.Unlock()
		if inMem {
			return fs.mem.OpenReadWrite(clean, category, opts...)
		}
		return nil, fs.faultErr()
	}
	f, err := fs.base.OpenReadWrite(name, category, opts...)
	if err != nil {
		return nil, err
	}
	return fs.wrap(f, name, dropsWrites(name)), nil
}

// OpenDir implements vfs.FS. A directory is synced to make the files
// created or removed in it durable; Pebble panics when that fails.
func (fs *faultFS) OpenDir(name string) (vfs.File, error) {
	f, err := fs.base.OpenDir(name)
	if err != nil {
		return nil, err
	}
	return fs.wrap(f, name, true), nil
}

// Remove implements vfs.FS. After the fault a disk file is only hidden,
// since deleting it could take from the disk what the last durable
// MANIFEST still needs.
func (fs *faultFS) Remove(name string) error {
	if !fs.faulted() {
		return fs.base.Remove(name)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.removeLocked(filepath.Clean(name))
}

// removeLocked removes name, a clean path, after the fault. The caller
// holds fs.mu.
func (fs *faultFS) removeLocked(name string) error {
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

// RemoveAll implements vfs.FS; Pebble does not use it on its own directory.
func (fs *faultFS) RemoveAll(name string) error {
	if !fs.faulted() {
		return fs.base.RemoveAll(name)
	}
	return nil
}

// Rename implements vfs.FS. Pebble renames files only while it opens (the
// OPTIONS file), so after the fault only a file created since can move.
func (fs *faultFS) Rename(oldname, newname string) error {
	if !fs.faulted() {
		return fs.base.Rename(oldname, newname)
	}
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !fs.inMemLocked(oldname) {
		return fs.faultErr()
	}
	return fs.memLocked(newname).Rename(oldname, newname)
}

// Link implements vfs.FS; Pebble links files only to ingest them.
func (fs *faultFS) Link(oldname, newname string) error {
	if !fs.faulted() {
		return fs.base.Link(oldname, newname)
	}
	return fs.faultErr()
}

// MkdirAll implements vfs.FS.
func (fs *faultFS) MkdirAll(dir string, perm os.FileMode) error {
	if !fs.faulted() {
		return fs.base.MkdirAll(dir, perm)
	}
	dir = filepath.Clean(dir)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.memLocked(dir).MkdirAll(dir, perm)
}

// Lock implements vfs.FS.
func (fs *faultFS) Lock(name string) (io.Closer, error) {
	c, err := fs.base.Lock(name)
	if err != nil {
		return nil, err
	}
	l := &onceCloser{c: c}
	fs.mu.Lock()
	fs.locks = append(fs.locks, l)
	fs.mu.Unlock()
	return l, nil
}

// releaseLocks lets go of the directory locks of an incarnation that could
// not be closed, so that the directory can be opened again. The fault has
// already cut the incarnation off from the disk.
func (fs *faultFS) releaseLocks() {
	fs.mu.Lock()
	locks := fs.locks
	fs.locks = nil
	fs.mu.Unlock()
	for _, l := range locks {
		_ = l.Close()
	}
}

// List implements vfs.FS.
func (fs *faultFS) List(dir string) ([]string, error) {
	names, err := fs.base.List(dir)
	if err != nil || !fs.faulted() {
		return names, err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := names[:0]
	seen := map[string]bool{}
	for _, n := range names {
		if !fs.gone[filepath.Join(dir, n)] {
			out = append(out, n)
			seen[n] = true
		}
	}
	if fs.mem != nil {
		mem, _ := fs.mem.List(filepath.Clean(dir))
		for _, n := range mem {
			if !seen[n] {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// Stat implements vfs.FS.
func (fs *faultFS) Stat(name string) (vfs.FileInfo, error) {
	if fs.faulted() {
		clean, inMem, gone := fs.lookupFaulted(name)
		if inMem {
			return fs.mem.Stat(clean)
		}
		if gone {
			return nil, notExist("stat", name)
		}
	}
	return fs.base.Stat(name)
}

// PathBase implements vfs.FS.
func (fs *faultFS) PathBase(path string) string { return fs.base.PathBase(path) }

// PathJoin implements vfs.FS.
func (fs *faultFS) PathJoin(elem ...string) string { return fs.base.PathJoin(elem...) }

// PathDir implements vfs.FS.
func (fs *faultFS) PathDir(path string) string { return fs.base.PathDir(path) }

// GetDiskUsage implements vfs.FS.
func (fs *faultFS) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	return fs.base.GetDiskUsage(path)
}

// Unwrap implements vfs.FS. It returns nil so that nothing can reach the
// disk around the wrapper.
func (fs *faultFS) Unwrap() vfs.FS { return nil }
