package postgres_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/postgres"
)

// BenchmarkUpdateCounters increments counters from 64 goroutines against a
// primary with a synchronous standby: all on one hot group, where folding
// shares each commit among the waiting updates, and spread over many
// groups, where the pool's connections bound the commits in flight.
func BenchmarkUpdateCounters(b *testing.B) {
	for _, groups := range []int{1, 1000} {
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			c := shared(b)
			url := c.CreateDB(b)
			s, err := postgres.Open(context.Background(), url+"&pool_max_conns=16")
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			const app = 1400000001
			for i := range groups {
				if err := s.CreateGroup(ctx, app, &tally.Group{ID: fmt.Sprint("g", i), Type: tally.GroupPublic, Name: "n", InfoSeq: 1}, nil); err != nil {
					b.Fatal(err)
				}
			}
			txns0, _ := postgres.FoldStats(s)
			var next atomic.Int64
			b.SetParallelism(32) // 64 goroutines on 2 cores.
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprint("g", next.Add(1)%int64(groups))
					if _, err := s.UpdateCounters(ctx, app, id, tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			txns, _ := postgres.FoldStats(s)
			b.ReportMetric(float64(b.N)/float64(txns-txns0), "updates/txn")
		})
	}
}
