package faultvfs_test

import (
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tallyserver/tally/pebble/internal/faulttest"
	"github.com/tallyserver/tally/pebble/internal/faultvfs"
)

// TestReleaseLocks checks that ReleaseLocks lets another incarnation lock
// the directory of one that could not be closed, and that the abandoned
// incarnation may still close its lock afterwards, as it does if its Close
// ends late, without the panic of a lock closed twice.
func TestReleaseLocks(t *testing.T) {
	name := filepath.Join(t.TempDir(), "LOCK")
	fs := faultvfs.New(vfs.Default, faultvfs.Hooks{})
	lock, err := fs.Lock(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vfs.Default.Lock(name); err == nil {
		t.Fatal("the directory could be locked twice")
	}
	fs.Fault(faulttest.ErrIO)
	fs.ReleaseLocks()
	next, err := vfs.Default.Lock(name)
	if err != nil {
		t.Fatalf("lock after ReleaseLocks: %v", err)
	}
	defer next.Close()
	if err := lock.Close(); err != nil {
		t.Fatalf("the abandoned incarnation's close of its lock: %v", err)
	}
}
