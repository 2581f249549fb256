package faultvfs

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// FS is the file system under one incarnation of the database: base, until
// the first fault, and after it a view of base as the fault left it, with
// the files created since in memory (see the package doc).
type FS struct {
	base  vfs.FS
	hooks Hooks

	// err holds the first fault; Faulted is one atomic load, so that the
	// owner may check it on every call.
	err atomic.Pointer[error]

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

var _ vfs.FS = (*FS)(nil)

// Hooks tell the owner of an FS, as they happen, what it cannot learn from
// Pebble. Either may be nil.
type Hooks struct {
	// OnFault is called once, with the first fault, by whichever goroutine
	// meets it, so that the owner can take the incarnation out of service
	// at once. It must not block: that goroutine may be the WAL's, which
	// the owner's commits are waiting for.
	OnFault func(error)
	// WALSyncing is called as each durable sync of a WAL file begins: the
	// commits applied before it are the ones it makes durable, which is how
	// the owner can tell how many commits one fsync covers.
	WALSyncing func()
}

// New returns the file system of a new incarnation on base. An FS serves
// one incarnation only, since after its fault it never reaches the disk
// again: reopening the database takes a new one.
func New(base vfs.FS, hooks Hooks) *FS {
	return &FS{base: base, hooks: hooks}
}

// Faulted reports whether the incarnation has met a storage fault. Pebble
// is told that the writes it makes after the fault succeed, so its owner
// must ask this after every sync it relies on.
func (fs *FS) Faulted() bool { return fs.err.Load() != nil }

// Err returns the first fault, or nil while there has been none.
func (fs *FS) Err() error {
	if p := fs.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Fault records err as a storage fault if it is the first, and cuts the
// incarnation off from the disk. Its owner calls it for the errors that
// reach it rather than the FS: a failed sync that Pebble reports, or an
// error that Pebble could not survive.
func (fs *FS) Fault(err error) {
	if fs.err.CompareAndSwap(nil, &err) && fs.hooks.OnFault != nil {
		fs.hooks.OnFault(err)
	}
}

// refusal returns what a call that the FS refuses after the fault answers,
// or nil before it. It names the first fault, which is the reason.
func (fs *FS) refusal() error {
	if err := fs.Err(); err != nil {
		return &refusedError{err}
	}
	return nil
}

// refusedError is what the FS answers Pebble for the writes it neither
// drops nor lets reach the disk after the fault.
type refusedError struct{ fault error }

func (e *refusedError) Error() string {
	return "faultvfs: refused after a storage fault: " + e.fault.Error()
}

func (e *refusedError) Unwrap() error { return e.fault }

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

func (fs *FS) wrap(f vfs.File, name string, drops bool) vfs.File {
	return &file{File: f, fs: fs, name: name, drops: drops, wal: isWAL(name) && fs.hooks.WALSyncing != nil}
}
