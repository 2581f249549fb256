package postgres

// FoldStats returns the transactions that UpdateCounters ran and the
// updates they applied, for tests to see that updates were folded.
func FoldStats(s *Store) (txns, updates int64) {
	return s.folds.txns.Load(), s.folds.updates.Load()
}

// Acquires returns how many connections the store's pool has handed out,
// for tests to count the round trips a call cost.
func Acquires(s *Store) int64 {
	return s.pool.Stat().AcquireCount()
}
