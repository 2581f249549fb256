package postgres

// FoldStats returns the transactions that UpdateCounters ran and the
// updates they applied, for tests to see that updates were folded.
func FoldStats(s *Store) (txns, updates int64) {
	return s.folds.txns.Load(), s.folds.updates.Load()
}
