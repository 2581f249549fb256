package pebble_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble"
)

// BenchmarkIncrease measures durable increments. The parallel cases show
// group commit at work: with 64 writers sharing each fsync, throughput is
// many times that of one writer, who pays a whole fsync per call.
func BenchmarkIncrease(b *testing.B) {
	for _, c := range []struct {
		name    string
		writers int // Goroutines per GOMAXPROCS.
		groups  int // Groups the writes are spread over.
	}{
		{"serial", 0, 1},
		{"64-writers-hot-key", 32, 1},
		{"64-writers-1000-groups", 32, 1000},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := pebble.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			for g := range c.groups {
				if err := s.CreateGroup(ctx, 1, &tally.Group{ID: fmt.Sprint("g", g), Type: tally.GroupAVChatRoom, Name: "n"}); err != nil {
					b.Fatal(err)
				}
			}
			items := []tally.Counter{{Key: "like", Value: 1}}
			b.ResetTimer()
			if c.writers == 0 {
				for range b.N {
					if _, err := s.UpdateCounters(ctx, 1, "g0", tally.ModeIncrease, items); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism(c.writers)
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					g := fmt.Sprint("g", i%c.groups)
					if _, err := s.UpdateCounters(ctx, 1, g, tally.ModeIncrease, items); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
