package pebble

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble/internal/faulttest"
)

// The helpers of the fault and visibility tests: a store on an injecting
// file system, and the calls the tests make through the tally.Store
// methods.

const testApp = 1400000001

var ctx = context.Background()

// hold holds back the WAL's syncs from when it is made until release.
type hold struct {
	held     chan struct{} // Closed when the first sync is held.
	released chan struct{}
	heldOnce sync.Once
	relOnce  sync.Once
	err      error // What the held syncs, and all later ones, fail with.
	// inject is the injection that holds the syncs, for a test that adds
	// faults of its own to call.
	inject func(errorfs.Op) error
}

// holdWALSyncs holds back the WAL's syncs of a store that t has opened. The
// hold ends when the test does, so that the store can close even if the
// test failed.
func holdWALSyncs(t *testing.T, in *faulttest.Injector) *hold {
	h := &hold{held: make(chan struct{}), released: make(chan struct{})}
	h.inject = func(op errorfs.Op) error {
		if !faulttest.IsKind(op, faulttest.SyncOps) || !faulttest.IsNamed(op.Path, []string{".log"}) {
			return nil
		}
		h.heldOnce.Do(func() { close(h.held) })
		<-h.released
		return h.err
	}
	in.Set(h.inject)
	t.Cleanup(func() { h.release(nil) })
	return h
}

// waitHeld waits until a WAL sync is being held.
func (h *hold) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-h.held:
	case <-time.After(10 * time.Second):
		t.Fatal("no WAL sync was held")
	}
}

// release lets the held syncs, and all later ones, end with err.
func (h *hold) release(err error) {
	h.relOnce.Do(func() {
		h.heldOnce.Do(func() { close(h.held) })
		h.err = err
		close(h.released)
	})
}

// testOptions reopen quickly, so that the tests of faults are fast, and
// keep Pebble's error messages, which the injected faults cause by the
// dozen, out of the test's output.
func testOptions(fs vfs.FS) options {
	return options{
		fs:        fs,
		retryMin:  time.Millisecond,
		retryMax:  20 * time.Millisecond,
		closeWait: 5 * time.Second,
		logger:    silentLogger{},
	}
}

type silentLogger struct{}

func (silentLogger) Infof(string, ...any)  {}
func (silentLogger) Errorf(string, ...any) {}
func (silentLogger) Fatalf(string, ...any) {}

// openOn opens a store in dir on fs, closed when the test ends.
func openOn(t *testing.T, fs vfs.FS, dir string) *Store {
	t.Helper()
	s, err := open(dir, testOptions(fs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testFS is a file system for a store, with its injector.
type testFS struct {
	name string
	// make returns the file system on which a store is opened in dir, and
	// crash, if the file system can crash, returns a copy holding only
	// what it has synced.
	make func(t *testing.T, in *faulttest.Injector) (fs vfs.FS, dir string, crash func() vfs.FS)
}

// testFSes are the file systems that the fault tests run on: the real disk,
// in a relative directory as the server's default is, and a memory one that
// can show what a crash would leave.
var testFSes = []testFS{
	{"disk", func(t *testing.T, in *faulttest.Injector) (vfs.FS, string, func() vfs.FS) {
		t.Chdir(t.TempDir())
		return errorfs.Wrap(vfs.Default, in), "./tally-data", nil
	}},
	{"crashable-mem", func(t *testing.T, in *faulttest.Injector) (vfs.FS, string, func() vfs.FS) {
		mem := vfs.NewCrashableMem()
		g := &cloneGuard{FS: mem}
		return errorfs.Wrap(g, in), "/db", func() vfs.FS {
			g.mu.Lock()
			defer g.mu.Unlock()
			return mem.CrashClone(vfs.CrashCloneCfg{})
		}
	}},
}

// cloneGuard keeps a crashable MemFS's CrashClone from running inside its
// Lock or ReuseForWrite. Each of those read-locks the MemFS's clone mutex
// and then calls another method that read-locks it again (Create, Rename;
// pebble v2.1.7's vfs/mem_fs.go), so a CrashClone that comes between the
// two waits for the first and blocks the second: a deadlock, which a
// store reopening after a fault met once while a fault test crashed it.
type cloneGuard struct {
	vfs.FS
	mu sync.RWMutex
}

func (g *cloneGuard) Lock(name string) (io.Closer, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.FS.Lock(name)
}

func (g *cloneGuard) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.FS.ReuseForWrite(oldname, newname, category)
}

func mustCreate(t *testing.T, s *Store, app uint32, id string, typ tally.GroupType) {
	t.Helper()
	if err := createWith(s, app, id, typ, ""); err != nil {
		t.Fatalf("CreateGroup(%s): %v", id, err)
	}
}

// createWith creates a group as create_group would, with an owner unless
// owner is "".
func createWith(s *Store, app uint32, id string, typ tally.GroupType, owner string, members ...string) error {
	name := "n"
	r := tally.NewGroup{Type: typ, Owner: owner, Fields: tally.GroupChange{Name: &name}}
	for _, m := range members {
		r.Members = append(r.Members, tally.Member{Account: m, Role: tally.RoleMember})
	}
	g, ms, err := r.Build(1700000000)
	if err != nil {
		return err
	}
	// Build checks the id as create_group's, and a Community's must
	// start with @TGS#_; the tests' ids are short names.
	g.ID = id
	return s.CreateGroup(ctx, app, g, ms)
}

func increase(s *Store, id string, by int64) ([]tally.Counter, error) {
	return s.UpdateCounters(ctx, testApp, id, tally.ModeIncrease, []tally.Counter{{Key: "n", Value: by}})
}

// value returns the group's counter n, or an error if the store does not
// answer.
func value(s *Store, id string) (int64, error) {
	cs, err := s.Counters(ctx, testApp, id, []string{"n"})
	if err != nil {
		return 0, err
	}
	for _, c := range cs {
		if c.Key == "n" {
			return c.Value, nil
		}
	}
	return 0, nil
}

func mustValue(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	v, err := value(s, id)
	if err != nil {
		t.Fatalf("Counters(%s): %v", id, err)
	}
	return v
}

// serving reports whether the store has a database that has not faulted.
func (s *Store) serving() bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	return s.db != nil && !s.fs.Faulted()
}

// flush makes Pebble flush its memtable to a table, as it does on its own
// once the memtable is full.
func (s *Store) flush() error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	return s.db.Flush()
}

// compact makes Pebble compact the whole keyspace, as it does on its own
// once level 0 holds enough tables.
func (s *Store) compact() error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	return s.db.Compact(ctx, []byte{0}, []byte{0xff}, false)
}

// eventually polls cond until it holds, failing the test after a while.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// isInternal reports whether err is one the HTTP layer answers with 10002.
func isInternal(err error) bool {
	return err != nil && tally.ErrorCode(err) == tally.ErrInternal
}
