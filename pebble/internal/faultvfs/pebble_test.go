package faultvfs_test

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/tallyserver/tally/pebble/internal/faulttest"
	"github.com/tallyserver/tally/pebble/internal/faultvfs"
)

// TestPebbleSurvivesFaults drives Pebble itself, on an FS, through the
// work that follows a storage fault when writes keep coming: more than a
// WAL block of synced writes, a memtable flush, which rotates the WAL and
// records the flush in the MANIFEST, and Close. Told of these faults,
// Pebble would panic (DB.commitWrite, DB.rotateWAL, Marker.Move) or exit
// (versionSet.UpdateVersionLocked); on an FS it goes on, while the disk
// keeps what it held at the fault.
func TestPebbleSurvivesFaults(t *testing.T) {
	for _, c := range []struct {
		name   string
		inject func(errorfs.Op) error
	}{
		{"wal-fsync-fails", faulttest.Fail(faulttest.ErrIO, faulttest.SyncOps, ".log")},
		{"wal-disk-full", faulttest.Fail(syscall.ENOSPC, faulttest.WriteOps, ".log")},
		{"wal-create-fails", faulttest.Fail(syscall.ENOSPC, []errorfs.OpKind{errorfs.OpCreate, errorfs.OpReuseForWrite}, ".log")},
		{"manifest-fsync-fails", faulttest.Fail(faulttest.ErrIO, faulttest.SyncOps, "MANIFEST-")},
		{"directory-fsync-fails", faulttest.Fail(faulttest.ErrIO, faulttest.SyncOps, "db")},
		{"table-write-fails", faulttest.Fail(faulttest.ErrIO, faulttest.WriteOps, ".sst")},
	} {
		t.Run(c.name, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			var in faulttest.Injector
			fs := faultvfs.New(errorfs.Wrap(mem, &in), faultvfs.Hooks{})
			db, err := pebble.Open("/db", &pebble.Options{FS: fs, Logger: quietLogger{fs}})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Set([]byte("acked"), []byte("1"), pebble.Sync); err != nil {
				t.Fatal(err)
			}

			in.Set(c.inject)
			value := make([]byte, 1<<10)
			write := func() {
				for i := range 100 {
					if err := db.Set(fmt.Appendf(nil, "k%03d", i), value, pebble.Sync); err != nil {
						t.Fatal(err)
					}
				}
			}
			write()
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
			write()
			if !fs.Faulted() {
				t.Fatal("the injected fault went unnoticed")
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			// The disk is as a crash at the fault left it, with the write
			// acknowledged before the fault.
			in.Set(nil)
			db, err = pebble.Open("/db", &pebble.Options{FS: mem.CrashClone(vfs.CrashCloneCfg{}), Logger: quietLogger{}})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if v, closer, err := db.Get([]byte("acked")); err != nil || string(v) != "1" {
				t.Fatalf("acknowledged write after the fault: %q, %v", v, err)
			} else {
				closer.Close()
			}
		})
	}
}

// quietLogger keeps Pebble's errors, which the injected faults cause by the
// dozen, out of the test's output. Like the store's logger, it faults fs,
// if set, where Pebble would exit the process on Fatalf.
type quietLogger struct{ fs *faultvfs.FS }

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}

func (l quietLogger) Fatalf(format string, args ...any) {
	if l.fs != nil {
		l.fs.Fault(fmt.Errorf(format, args...))
	}
}
