// Package faulttest injects storage faults through Pebble's errorfs for the
// tests of the store and of its fault file system, which both need to fail
// the same operations on the same files while Pebble runs on them.
package faulttest

import (
	"errors"
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// ErrIO stands for the EIO of a failing disk.
var ErrIO = errors.New("injected EIO")

// Injector is an errorfs.Injector whose behaviour a test sets and changes
// while the store runs, for a fault has to arrive in the middle of the work
// it disturbs. The function it is set to may block, to hold an operation
// back.
type Injector struct {
	fn atomic.Pointer[func(errorfs.Op) error]
}

// String implements errorfs.Injector.
func (in *Injector) String() string { return "test injector" }

// MaybeError implements errorfs.Injector.
func (in *Injector) MaybeError(op errorfs.Op) error {
	if fn := in.fn.Load(); fn != nil {
		return (*fn)(op)
	}
	return nil
}

// Set makes fn decide every operation from now on; nil lets all through.
func (in *Injector) Set(fn func(errorfs.Op) error) {
	if fn == nil {
		in.fn.Store(nil)
		return
	}
	in.fn.Store(&fn)
}

// Fail returns an injection that fails, with err, the operations of the
// given kinds on the files whose names end with one of names (".log",
// ".sst") or start with one of them ("MANIFEST-").
func Fail(err error, kinds []errorfs.OpKind, names ...string) func(errorfs.Op) error {
	return func(op errorfs.Op) error {
		if IsKind(op, kinds) && IsNamed(op.Path, names) {
			return err
		}
		return nil
	}
}

// The kinds of operation that the tests fail, by what they do to a file.
var (
	SyncOps  = []errorfs.OpKind{errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo}
	WriteOps = []errorfs.OpKind{errorfs.OpFileWrite, errorfs.OpFileWriteAt}
	DataOps  = append(append([]errorfs.OpKind{}, SyncOps...), WriteOps...)
)

// IsKind reports whether op is of one of kinds.
func IsKind(op errorfs.Op, kinds []errorfs.OpKind) bool {
	for _, k := range kinds {
		if op.Kind == k {
			return true
		}
	}
	return false
}

// IsNamed reports whether the file at path has a name that ends or starts
// with one of names.
func IsNamed(path string, names []string) bool {
	base := path[strings.LastIndex(path, "/")+1:]
	for _, n := range names {
		if strings.HasSuffix(base, n) || strings.HasPrefix(base, n) {
			return true
		}
	}
	return false
}
