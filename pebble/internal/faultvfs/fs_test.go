package faultvfs_test

import (
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/tallyserver/tally/pebble/internal/faulttest"
	"github.com/tallyserver/tally/pebble/internal/faultvfs"
)

// TestFaultFS checks that after its first fault the FS leaves the disk as
// it was, while telling Pebble what it needs to go on: writes to the WAL
// are dropped and reported done, writes to a table fail, and new files
// live in memory.
func TestFaultFS(t *testing.T) {
	mem := vfs.NewMem()
	var in faulttest.Injector
	var faults int
	fs := faultvfs.New(errorfs.Wrap(mem, &in), faultvfs.Hooks{OnFault: func(error) { faults++ }})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(fs.MkdirAll("/db", 0o755))
	wal, err := fs.Create("/db/000001.log", vfs.WriteCategoryUnspecified)
	must(err)
	sst, err := fs.Create("/db/000002.sst", vfs.WriteCategoryUnspecified)
	must(err)
	_, err = wal.Write([]byte("acked"))
	must(err)
	must(wal.SyncData())
	_, err = sst.Write([]byte("table"))
	must(err)

	// The fault: a failed sync of the WAL, which is reported done.
	in.Set(faulttest.Fail(faulttest.ErrIO, faulttest.SyncOps, ".log"))
	_, err = wal.Write([]byte("+lost"))
	must(err)
	if err := wal.SyncData(); err != nil {
		t.Fatalf("failed WAL sync reported as %v, want it dropped", err)
	}
	in.Set(nil)
	if !fs.Faulted() || faults != 1 || !errors.Is(fs.Err(), faulttest.ErrIO) {
		t.Fatalf("faulted %v after %d calls of onFault (%v), want the injected error once", fs.Faulted(), faults, fs.Err())
	}

	// After it, the WAL's writes are dropped, a table's fail.
	if n, err := wal.Write([]byte("+dropped")); n != 8 || err != nil {
		t.Fatalf("WAL write after the fault: %d, %v; want it reported done", n, err)
	}
	if _, err := sst.Write([]byte("more")); err == nil {
		t.Fatal("table write after the fault succeeded")
	}
	if err := sst.Sync(); err == nil {
		t.Fatal("table sync after the fault succeeded")
	}
	must(wal.Close())
	must(sst.Close())

	// New files live in memory; removed ones stay on disk.
	f, err := fs.Create("/db/000003.sst", vfs.WriteCategoryUnspecified)
	must(err)
	_, err = f.Write([]byte("in memory"))
	must(err)
	must(f.Sync())
	must(f.Close())
	must(fs.Remove("/db/000002.sst"))
	must(fs.Rename("/db/000003.sst", "/db/000004.sst"))

	ls, err := fs.List("/db")
	must(err)
	slices.Sort(ls)
	if want := []string{"000001.log", "000004.sst"}; !slices.Equal(ls, want) {
		t.Fatalf("List after the fault: %v, want %v", ls, want)
	}
	if _, err := fs.Stat("/db/000002.sst"); err == nil {
		t.Fatal("a removed table can still be found")
	}
	r, err := fs.Open("/db/000004.sst")
	must(err)
	b, err := io.ReadAll(r)
	must(err)
	r.Close()
	if string(b) != "in memory" {
		t.Fatalf("file created after the fault reads %q", b)
	}

	// The disk holds what it held at the fault.
	ls, err = mem.List("/db")
	must(err)
	slices.Sort(ls)
	if want := []string{"000001.log", "000002.sst"}; !slices.Equal(ls, want) {
		t.Fatalf("disk holds %v after the fault, want %v", ls, want)
	}
	walData, err := mem.UnsafeGetFileDataBuffer("/db/000001.log")
	must(err)
	if string(walData) != "acked+lost" {
		t.Fatalf("WAL on disk holds %q, want what was written before the fault", walData)
	}
}

// TestFaultFSCreateFails checks that a failed create, which Pebble does not
// survive for a WAL or a MANIFEST, is a fault and yields a file in memory.
func TestFaultFSCreateFails(t *testing.T) {
	var in faulttest.Injector
	mem := vfs.NewMem()
	fs := faultvfs.New(errorfs.Wrap(mem, &in), faultvfs.Hooks{})
	if err := fs.MkdirAll("/db", 0o755); err != nil {
		t.Fatal(err)
	}
	in.Set(faulttest.Fail(faulttest.ErrIO, []errorfs.OpKind{errorfs.OpCreate}, ".log"))
	f, err := fs.Create("/db/000005.log", vfs.WriteCategoryUnspecified)
	if err != nil || !fs.Faulted() {
		t.Fatalf("failed create: %v, faulted %v; want a file and a fault", err, fs.Faulted())
	}
	f.Close()
	if _, err := mem.Stat("/db/000005.log"); err == nil {
		t.Fatal("the file was created on disk")
	}
}

// TestFaultFSRelativePaths checks that a relative directory, the server's
// default, works after the fault: the in-memory file system does not know
// "./".
func TestFaultFSRelativePaths(t *testing.T) {
	t.Chdir(t.TempDir())
	fs := faultvfs.New(vfs.Default, faultvfs.Hooks{})
	if err := fs.MkdirAll("./tally-data", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := fs.Create("./tally-data/000001.sst", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fs.Fault(faulttest.ErrIO)
	if f, err = fs.Create("./tally-data/000002.sst", vfs.WriteCategoryUnspecified); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := fs.Remove("./tally-data/000001.sst"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat("./tally-data/000002.sst"); err != nil {
		t.Fatalf("file created after the fault: %v", err)
	}
	ls, err := fs.List("./tally-data")
	if err != nil || !slices.Equal(ls, []string{"000002.sst"}) {
		t.Fatalf("List: %v, %v; want the file created after the fault only", ls, err)
	}
}
