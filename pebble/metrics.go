package pebble

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storeMetrics are the store's own Prometheus metrics. Each Store has its
// own, so that one process may run many (tests do), and is a
// prometheus.Collector of its own.
type storeMetrics struct {
	// commitDuration times a durable commit: from ApplyNoSyncWait to the
	// end of SyncWait, which includes the wait for the shared fsync.
	commitDuration prometheus.Histogram
	// fsyncBatch observes, at every sync of the WAL, how many commits were
	// applied since the previous WAL sync began: how many commits one
	// fsync acknowledged. It is exact up to the commits that race a sync's
	// start, which one sync may leave to the next.
	fsyncBatch prometheus.Histogram
	// applied counts the commits applied to the memtable, and synced holds
	// applied as of the start of the newest WAL sync. They live in the
	// Store, not an incarnation's faultvfs.FS, so that they carry across a
	// reopening.
	applied, synced atomic.Uint64
}

var (
	groupsDesc = prometheus.NewDesc("tally_store_groups",
		"Groups the store holds now. Absent until the count made when the store opens (or reopens after a storage fault) ends.", nil, nil)
	countersDesc = prometheus.NewDesc("tally_store_counters",
		"Counter keys the store holds now, over all groups. Absent until the count made when the store opens (or reopens after a storage fault) ends.", nil, nil)
	faultsDesc = prometheus.NewDesc("tally_store_faults_total",
		"Storage faults that took the database out of service until the store reopened it.", nil, nil)
	walBytesDesc = prometheus.NewDesc("tally_store_wal_bytes",
		"Size on disk of the live write-ahead log (Pebble's WAL.PhysicalSize).", nil, nil)
	debtDesc = prometheus.NewDesc("tally_store_compaction_debt_bytes",
		"Pebble's estimate of the bytes compactions must rewrite to bring the LSM back into shape.", nil, nil)
	budgetDesc = prometheus.NewDesc("tally_store_memory_budget_bytes",
		"The store's memory budget (memory_budget), which its caches and memtables share.", nil, nil)
	cacheHitsDesc = prometheus.NewDesc("tally_store_counter_cache_hits_total",
		"Calls on a group's counters answered from the counter cache, without reading Pebble.", nil, nil)
	cacheMissesDesc = prometheus.NewDesc("tally_store_counter_cache_misses_total",
		"Calls on a group's counters that read them from Pebble, since the cache did not hold them.", nil, nil)
	cacheBytesDesc = prometheus.NewDesc("tally_store_counter_cache_bytes",
		"Bytes the counter cache holds, by its reckoning, within its half of the memory budget.", nil, nil)
	cacheGroupsDesc = prometheus.NewDesc("tally_store_counter_cache_groups",
		"Groups whose counters the counter cache holds.", nil, nil)
)

func newStoreMetrics() storeMetrics {
	return storeMetrics{
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tally_store_commit_duration_seconds",
			Help: "Time a durable write takes, from applying its batch to the end of the fsync that covers it.",
			// From a commit where fsync costs nothing, as on tmpfs,
			// to a disk that stalls; BENCHMARKS.md has where commits
			// fall on tmpfs and on disk.
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16),
		}),
		fsyncBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tally_store_fsync_batch_size",
			Help: "Commits one WAL fsync acknowledged (group commit): the commits applied since the previous WAL sync began.",
			// One per writer up to the 64 connections of the load
			// benchmark, and beyond.
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
	}
}

// committed records a commit applied at start that has ended.
func (m *storeMetrics) committed(start time.Time) {
	m.commitDuration.Observe(time.Since(start).Seconds())
}

// walSyncing is called as a sync of the WAL begins: the commits applied
// since the previous one began are those this one covers, bar the ones that
// race its start. Pebble syncs one WAL at a time, but a rotation may
// overlap the old log's last sync with the new one's first, so the claim
// is a compare-and-swap, and a sync that finds nothing new observes 0.
func (m *storeMetrics) walSyncing() {
	for {
		prev, now := m.synced.Load(), m.applied.Load()
		if now <= prev {
			m.fsyncBatch.Observe(0)
			return
		}
		if m.synced.CompareAndSwap(prev, now) {
			m.fsyncBatch.Observe(float64(now - prev))
			return
		}
	}
}

// Describe implements prometheus.Collector.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.metrics.commitDuration.Desc()
	ch <- s.metrics.fsyncBatch.Desc()
	ch <- groupsDesc
	ch <- countersDesc
	ch <- faultsDesc
	ch <- walBytesDesc
	ch <- debtDesc
	ch <- budgetDesc
	ch <- cacheHitsDesc
	ch <- cacheMissesDesc
	ch <- cacheBytesDesc
	ch <- cacheGroupsDesc
}

// Collect implements prometheus.Collector. The gauges of what the store
// holds are left out until the census has counted it, and Pebble's own
// while the database is closed or reopening.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	ch <- s.metrics.commitDuration
	ch <- s.metrics.fsyncBatch
	ch <- prometheus.MustNewConstMetric(faultsDesc, prometheus.CounterValue, float64(s.faults.Load()))
	ch <- prometheus.MustNewConstMetric(budgetDesc, prometheus.GaugeValue, float64(s.opts.budget))
	var hits, misses uint64
	var bytes, groups int
	for i := range s.groups {
		l := &s.groups[i]
		l.mu.Lock()
		hits, misses = hits+l.cache.hits, misses+l.cache.misses
		bytes, groups = bytes+l.cache.bytes, groups+l.cache.len()
		l.mu.Unlock()
	}
	ch <- prometheus.MustNewConstMetric(cacheHitsDesc, prometheus.CounterValue, float64(hits))
	ch <- prometheus.MustNewConstMetric(cacheMissesDesc, prometheus.CounterValue, float64(misses))
	ch <- prometheus.MustNewConstMetric(cacheBytesDesc, prometheus.GaugeValue, float64(bytes))
	ch <- prometheus.MustNewConstMetric(cacheGroupsDesc, prometheus.GaugeValue, float64(groups))
	if groups, counters, ok := s.census.totals(); ok {
		ch <- prometheus.MustNewConstMetric(groupsDesc, prometheus.GaugeValue, float64(groups))
		ch <- prometheus.MustNewConstMetric(countersDesc, prometheus.GaugeValue, float64(counters))
	}
	if s.enter() == nil {
		m := s.db.Metrics()
		s.closeMu.RUnlock()
		ch <- prometheus.MustNewConstMetric(walBytesDesc, prometheus.GaugeValue, float64(m.WAL.PhysicalSize))
		ch <- prometheus.MustNewConstMetric(debtDesc, prometheus.GaugeValue, float64(m.Compact.EstimatedDebt))
	}
}
