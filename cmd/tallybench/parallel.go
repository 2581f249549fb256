package main

import (
	"sync"
	"sync/atomic"
)

// parallel runs job(w, i) for every i in [0, n) from workers goroutines,
// w being the goroutine's number from 0, so that a job can use what its
// goroutine owns, such as a connection. It returns the first error, after
// which no job starts.
func parallel(n, workers int, job func(w, i int) error) error {
	var (
		next     atomic.Int64
		failed   atomic.Bool
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := job(w, i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
