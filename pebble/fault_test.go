package pebble

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble/internal/faulttest"
)

// faultCases are the storage faults the store must survive. trigger, if
// set, makes Pebble do the work that meets the fault; otherwise the
// writers' own WAL writes meet it.
var faultCases = []struct {
	name    string
	inject  func(errorfs.Op) error
	trigger func(s *Store)
}{
	{"wal-fsync-fails", faulttest.Fail(faulttest.ErrIO, faulttest.SyncOps, ".log"), nil},
	{"wal-disk-full", faulttest.Fail(syscall.ENOSPC, faulttest.WriteOps, ".log"), nil},
	{"flush-fails", faulttest.Fail(faulttest.ErrIO, faulttest.DataOps, ".sst"), func(s *Store) { s.flush() }},
	{"flush-disk-full", faulttest.Fail(syscall.ENOSPC, faulttest.WriteOps, ".sst"), func(s *Store) { s.flush() }},
	// Recording a flush in the MANIFEST fails: Pebble would exit.
	{"manifest-fsync-fails", faulttest.Fail(faulttest.ErrIO, faulttest.SyncOps, "MANIFEST-"), func(s *Store) { s.flush() }},
	{"compaction-fails", faulttest.Fail(faulttest.ErrIO, faulttest.DataOps, ".sst"), func(s *Store) { s.compact() }},
}

// TestStorageFault runs writers and readers against a store, injects a
// storage fault, and clears it. It checks that no write that began while
// the fault was in place reports success, that every acknowledged
// increment survives (in the store, after a reopen, and after a crash while
// the fault was in place), that the store serves again on its own once the
// fault clears, and that what it then serves is all durable.
func TestStorageFault(t *testing.T) {
	for _, fc := range faultCases {
		for _, tfs := range testFSes {
			t.Run(fc.name+"/"+tfs.name, func(t *testing.T) {
				var in faulttest.Injector
				fs, dir, crash := tfs.make(t, &in)
				s := openOn(t, fs, dir)
				groups := []string{"g0", "g1", "g2", "g3"}
				for _, g := range groups {
					mustCreate(t, s, testApp, g, tally.GroupAVChatRoom)
				}
				if fc.name == "compaction-fails" {
					// Two tables in level 0 for the compaction to merge.
					for range 2 {
						for _, g := range groups {
							if _, err := increase(s, g, 1); err != nil {
								t.Fatal(err)
							}
						}
						if err := s.flush(); err != nil {
							t.Fatal(err)
						}
					}
				}
				base := make(map[string]int64)
				for _, g := range groups {
					base[g] = mustValue(t, s, g)
				}

				w := startLoad(t, s, groups)
				eventually(t, "writes are acknowledged", func() bool { return w.acked.Load() >= 50 })

				in.Set(fc.inject)
				if fc.trigger != nil {
					fc.trigger(s)
				}
				eventually(t, "the store has faulted", func() bool { return s.faults.Load() > 0 })
				w.phase.Store(faulty)
				if crash != nil {
					// Whatever was acknowledged is on stable storage.
					acked := w.ackedCounts()
					got := valuesAfterCrash(t, crash(), dir, groups)
					for _, g := range groups {
						if got[g] < base[g]+acked[g] {
							t.Errorf("after a crash during the fault %s = %d, but %d increments were acknowledged on top of %d", g, got[g], acked[g], base[g])
						}
					}
				}
				time.Sleep(30 * time.Millisecond) // Writers keep trying.

				in.Set(nil)
				w.phase.Store(cleared)
				eventually(t, "the store serves writes again", func() bool { return w.ackedAfterClear.Load() >= 20 })
				if err := s.Health(); err != nil {
					t.Errorf("the store serves again but its Health says %v", err)
				}
				w.stop()
				for _, err := range w.errs {
					t.Error(err)
				}

				acked, sent := w.ackedCounts(), w.sentCounts()
				served := make(map[string]int64)
				for _, g := range groups {
					v := mustValue(t, s, g)
					served[g] = v
					if v < base[g]+acked[g] || v > base[g]+sent[g] {
						t.Errorf("%s = %d, want between %d acknowledged and %d sent increments on top of %d", g, v, acked[g], sent[g], base[g])
					}
					if m := w.maxRead(g); m > v {
						t.Errorf("%s was read as %d, more than its final %d", g, m, v)
					}
				}

				// What the store served is durable: a crash now keeps all of
				// it, and so does closing and reopening.
				if crash != nil {
					got := valuesAfterCrash(t, crash(), dir, groups)
					for _, g := range groups {
						if got[g] != served[g] {
							t.Errorf("after a crash %s = %d, but the store served %d", g, got[g], served[g])
						}
					}
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s2 := openOn(t, fs, dir)
				for _, g := range groups {
					if v := mustValue(t, s2, g); v != served[g] {
						t.Errorf("after a reopen %s = %d, but the store served %d", g, v, served[g])
					}
				}
			})
		}
	}
}

// valuesAfterCrash opens a store on fs, a crashed copy of the store's file
// system, and returns the groups' counters.
func valuesAfterCrash(t *testing.T, fs vfs.FS, dir string, groups []string) map[string]int64 {
	t.Helper()
	s, err := open(dir, testOptions(fs))
	if err != nil {
		t.Fatalf("open after a crash: %v", err)
	}
	defer s.Close()
	out := make(map[string]int64)
	for _, g := range groups {
		out[g] = mustValue(t, s, g)
	}
	return out
}

// The phases of a load.
const (
	healthy int32 = iota
	faulty        // The fault is in place and the store has met it.
	cleared       // The fault has been cleared.
)

// load is a set of writers increasing counters and readers reading them,
// keeping count of what was sent, acknowledged and read.
type load struct {
	phase           atomic.Int32
	acked           atomic.Int64
	ackedAfterClear atomic.Int64
	done            chan struct{}
	stopOnce        sync.Once
	wg              sync.WaitGroup

	mu     sync.Mutex
	sent   map[string]int64
	ackd   map[string]int64
	reads  map[string]int64 // The highest value read of each group.
	errs   []error
	nerrs  int
	groups []string
}

// startLoad starts the load; it stops when the test ends, if not before.
func startLoad(t *testing.T, s *Store, groups []string) *load {
	w := &load{
		done: make(chan struct{}), groups: groups,
		sent: map[string]int64{}, ackd: map[string]int64{}, reads: map[string]int64{},
	}
	for i := range 8 {
		w.wg.Add(1)
		go w.write(s, groups[i%len(groups)])
	}
	for i := range 2 {
		w.wg.Add(1)
		go w.read(s, groups[i%len(groups)])
	}
	t.Cleanup(w.stop)
	return w
}

func (w *load) stopped() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *load) write(s *Store, g string) {
	defer w.wg.Done()
	for !w.stopped() {
		before := w.phase.Load()
		w.mu.Lock()
		w.sent[g]++
		w.mu.Unlock()
		_, err := increase(s, g, 1)
		after := w.phase.Load()
		w.mu.Lock()
		switch {
		case err == nil:
			w.ackd[g]++
			w.acked.Add(1)
			if after == cleared {
				w.ackedAfterClear.Add(1)
			}
			if before == faulty && after == faulty {
				w.failf("an increment of %s sent and answered during the fault reported success", g)
			}
		case !isInternal(err):
			w.failf("an increment of %s failed with %v, want an internal error", g, err)
		default:
			w.backoff()
		}
		w.mu.Unlock()
	}
}

func (w *load) read(s *Store, g string) {
	defer w.wg.Done()
	for !w.stopped() {
		v, err := value(s, g)
		w.mu.Lock()
		switch {
		case err == nil:
			w.reads[g] = max(w.reads[g], v)
		case !isInternal(err):
			w.failf("a read of %s failed with %v, want an internal error", g, err)
		default:
			w.backoff()
		}
		w.mu.Unlock()
	}
}

// backoff pauses after a failed call, as a client would, so that the
// workers do not spin while the store reopens. The caller holds w.mu,
// which others may take meanwhile.
func (w *load) backoff() {
	w.mu.Unlock()
	time.Sleep(100 * time.Microsecond)
	w.mu.Lock()
}

// failf records a failure; the caller holds w.mu.
func (w *load) failf(format string, args ...any) {
	if w.nerrs++; w.nerrs <= 5 {
		w.errs = append(w.errs, fmt.Errorf(format, args...))
	}
}

func (w *load) stop() {
	w.stopOnce.Do(func() { close(w.done) })
	w.wg.Wait()
}

func (w *load) counts(m map[string]int64) map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (w *load) ackedCounts() map[string]int64 { return w.counts(w.ackd) }
func (w *load) sentCounts() map[string]int64  { return w.counts(w.sent) }

func (w *load) maxRead(g string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reads[g]
}
