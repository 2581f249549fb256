package pebble

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble/internal/faulttest"
)

// gather collects the store's metrics through a registry, as a scrape
// would, by name.
func gather(t *testing.T, s *Store) map[string]*dto.Metric {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.Metric{}
	for _, f := range fams {
		out[f.GetName()] = f.GetMetric()[0]
	}
	return out
}

// held waits for the census and returns the groups and counters gauges.
func held(t *testing.T, s *Store) (groups, counters int64) {
	t.Helper()
	var m map[string]*dto.Metric
	eventually(t, "the census has ended", func() bool {
		m = gather(t, s)
		return m["tally_store_groups"] != nil
	})
	if m["tally_store_counters"] == nil {
		t.Fatal("tally_store_groups is there but tally_store_counters is not")
	}
	return int64(m["tally_store_groups"].GetGauge().GetValue()), int64(m["tally_store_counters"].GetGauge().GetValue())
}

func wantHeld(t *testing.T, s *Store, groups, counters int64) {
	t.Helper()
	g, c := held(t, s)
	if g != groups || c != counters {
		t.Fatalf("gauges say %d groups and %d counters, want %d and %d", g, c, groups, counters)
	}
}

func setKeys(t *testing.T, s *Store, app uint32, id string, keys ...string) {
	t.Helper()
	items := make([]tally.Counter, len(keys))
	for i, k := range keys {
		items[i] = tally.Counter{Key: k, Value: int64(i + 1)}
	}
	if _, err := s.UpdateCounters(ctx, app, id, tally.ModeSet, items); err != nil {
		t.Fatalf("set %v on %s: %v", keys, id, err)
	}
}

// TestMetricsHeld follows the groups and counters gauges through every call
// that changes them, calls that fail, and a reopen, which counts afresh.
func TestMetricsHeld(t *testing.T) {
	dir := t.TempDir()
	s := openOn(t, vfs.Default, dir)
	wantHeld(t, s, 0, 0)

	const otherApp = testApp + 1
	mustCreate(t, s, testApp, "g0", tally.GroupPublic)
	mustCreate(t, s, testApp, "g1", tally.GroupPrivate)
	mustCreate(t, s, testApp, "c", tally.GroupCommunity)
	mustCreate(t, s, otherApp, "g0", tally.GroupPublic)
	wantHeld(t, s, 4, 0)

	setKeys(t, s, testApp, "g0", "a", "b", "c")
	setKeys(t, s, testApp, "g1", "a")
	setKeys(t, s, otherApp, "g0", "a", "b")
	wantHeld(t, s, 4, 6)

	// Changing the values of existing counters changes nothing held.
	for range 3 {
		if _, err := increase(s, "g0", 1); err != nil {
			t.Fatal(err)
		}
	}
	wantHeld(t, s, 4, 7)                   // increase added the key "n" once
	setKeys(t, s, testApp, "g0", "a", "b") // Set leaves the keys it does not name
	wantHeld(t, s, 4, 7)

	// Calls that fail change nothing.
	tooMany := make([]tally.Counter, tally.MaxCountersPerGroup+1)
	for i := range tooMany {
		tooMany[i] = tally.Counter{Key: fmt.Sprint("k", i), Value: 1}
	}
	if _, err := s.UpdateCounters(ctx, testApp, "g1", tally.ModeSet, tooMany); err == nil {
		t.Fatal("setting 21 counters succeeded")
	}
	if _, err := increase(s, "missing", 1); err == nil {
		t.Fatal("increasing a counter of a missing group succeeded")
	}
	if _, err := increase(s, "c", 1); err == nil {
		t.Fatal("increasing a counter of a Community succeeded")
	}
	if err := s.DestroyGroup(ctx, testApp, "missing"); err == nil {
		t.Fatal("destroying a missing group succeeded")
	}
	if err := createWith(s, testApp, "g1", tally.GroupPrivate, ""); err == nil {
		t.Fatal("creating a group under an id in use succeeded")
	}
	wantHeld(t, s, 4, 7)

	if err := s.DeleteCounters(ctx, testApp, "g0", []string{"b", "nope"}); err != nil {
		t.Fatal(err)
	}
	wantHeld(t, s, 4, 6) // g0: a, c, n
	if err := s.DeleteCounters(ctx, testApp, "g1", nil); err != nil {
		t.Fatal(err)
	}
	wantHeld(t, s, 4, 5)
	if err := s.DestroyGroup(ctx, testApp, "g0"); err != nil {
		t.Fatal(err)
	}
	wantHeld(t, s, 3, 2) // g0 took its 3 counters with it
	if err := s.DestroyGroup(ctx, testApp, "c"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, testApp, "g0", tally.GroupPublic) // re-created: no counters
	setKeys(t, s, testApp, "g1", "x", "y")
	wantHeld(t, s, 3, 4)

	// A reopen counts what is stored, and agrees.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openOn(t, vfs.Default, dir)
	wantHeld(t, s, 3, 4)
}

// TestMetricsHeldAfterFault shows that after a storage fault the gauges are
// counted again on the reopened database, which may or may not hold the
// writes that were answered with an error.
func TestMetricsHeldAfterFault(t *testing.T) {
	var in faulttest.Injector
	fs, dir, _ := testFSes[1].make(t, &in)
	s := openOn(t, fs, dir)
	mustCreate(t, s, testApp, "g0", tally.GroupPublic)
	setKeys(t, s, testApp, "g0", "a", "b")
	wantHeld(t, s, 1, 2)

	in.Set(faulttest.Fail(faulttest.ErrIO, faulttest.SyncOps, ".log"))
	if _, err := s.UpdateCounters(ctx, testApp, "g0", tally.ModeSet, []tally.Counter{{Key: "c", Value: 1}}); err == nil {
		t.Fatal("a write succeeded while the WAL's syncs failed")
	}
	if err := createWith(s, testApp, "g1", tally.GroupPublic, ""); err == nil {
		t.Fatal("a create succeeded on a faulted store")
	}
	in.Set(nil)
	eventually(t, "the store serves again", s.serving)
	if s.faults.Load() == 0 {
		t.Fatal("no fault was recorded")
	}

	// The truth is what the reopened store serves.
	cs, err := s.Counters(ctx, testApp, "g0", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.ListGroups(ctx, testApp, tally.GroupFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	wantHeld(t, s, int64(page.Total), int64(len(cs)))
	if m := gather(t, s); m["tally_store_faults_total"].GetCounter().GetValue() != float64(s.faults.Load()) {
		t.Errorf("tally_store_faults_total = %v, want %d", m["tally_store_faults_total"].GetCounter().GetValue(), s.faults.Load())
	}
	// And later writes go on counting from there.
	setKeys(t, s, testApp, "g0", "a", "b", "c", "d")
	wantHeld(t, s, int64(page.Total), 4)
}

// TestMetricsCommits shows that every durable commit is timed, and that
// the fsyncs of the WAL account for the commits: one writer at a time
// gets one fsync per commit, give or take the commit that races a sync.
func TestMetricsCommits(t *testing.T) {
	s := openOn(t, vfs.Default, t.TempDir())
	mustCreate(t, s, testApp, "g", tally.GroupPublic)
	const n = 20
	for range n {
		if _, err := increase(s, "g", 1); err != nil {
			t.Fatal(err)
		}
	}
	m := gather(t, s)
	commits := m["tally_store_commit_duration_seconds"].GetHistogram()
	if commits.GetSampleCount() != n+1 {
		t.Errorf("%d commits timed, want %d", commits.GetSampleCount(), n+1)
	}
	if commits.GetSampleSum() <= 0 {
		t.Errorf("commits took %vs in all", commits.GetSampleSum())
	}
	batches := m["tally_store_fsync_batch_size"].GetHistogram()
	if got := batches.GetSampleSum(); got < n || got > n+1 {
		t.Errorf("WAL fsyncs covered %v commits, want %d or %d", got, n, n+1)
	}
	if batches.GetSampleCount() < n {
		t.Errorf("%d WAL fsyncs for %d serial commits", batches.GetSampleCount(), n+1)
	}
	for _, name := range []string{"tally_store_wal_bytes", "tally_store_compaction_debt_bytes"} {
		if m[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
}

// TestCounterCacheMetrics: a call on a group the cache does not hold
// misses it and the next hit it; a group just created is held; the
// cache's size and budget are shown.
func TestCounterCacheMetrics(t *testing.T) {
	s := openOn(t, vfs.NewMem(), "/db")
	mustCreate(t, s, testApp, "g", tally.GroupPublic)
	mustCreate(t, s, testApp, "c", tally.GroupCommunity)
	counts := func() (hits, misses float64) {
		m := gather(t, s)
		return m["tally_store_counter_cache_hits_total"].GetCounter().GetValue(), m["tally_store_counter_cache_misses_total"].GetCounter().GetValue()
	}
	h0, m0 := counts()
	for range 3 {
		if _, err := s.Counters(ctx, testApp, "g", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := increase(s, "g", 1); err != nil {
		t.Fatal(err)
	}
	h, m := counts()
	if h-h0 != 4 || m-m0 != 0 {
		t.Errorf("four calls on a group just made made %v hits and %v misses, want 4 and 0", h-h0, m-m0)
	}
	// A Community has no counters to cache: a call on it misses, and is
	// refused.
	if _, err := s.Counters(ctx, testApp, "c", nil); tally.ErrorCode(err) != tally.ErrNoPermission {
		t.Fatalf("Counters of a Community: %v", err)
	}
	if h2, m2 := counts(); h2 != h || m2 != m+1 {
		t.Errorf("a call on a Community made %v hits and %v misses, want 0 and 1", h2-h, m2-m)
	}
	g := gather(t, s)
	if n := g["tally_store_counter_cache_groups"].GetGauge().GetValue(); n != 1 {
		t.Errorf("tally_store_counter_cache_groups = %v, want 1", n)
	}
	if b := g["tally_store_counter_cache_bytes"].GetGauge().GetValue(); b <= 0 {
		t.Errorf("tally_store_counter_cache_bytes = %v, want more than 0", b)
	}
	if b := g["tally_store_memory_budget_bytes"].GetGauge().GetValue(); b != DefaultMemoryBudget {
		t.Errorf("tally_store_memory_budget_bytes = %v, want %d", b, DefaultMemoryBudget)
	}
}
