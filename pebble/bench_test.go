package pebble_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
				if err := s.CreateGroup(ctx, 1, &tally.Group{ID: fmt.Sprint("g", g), Type: tally.GroupAVChatRoom, Name: "n"}, nil); err != nil {
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

// BenchmarkOpenAndCensus times the open of a filled store and the census
// that then counts it in the background, until the gauges of what the
// store holds appear: the census runs apart because it takes much longer
// than the open. It needs a store, such as the memory benchmark's:
//
//	go run ./cmd/tallybench memory -data DIR -restarts 1 -reads 0 -writes 0
//	TALLY_BENCH_DATA=DIR go test -run XXX -bench OpenAndCensus -benchtime 5x ./pebble
func BenchmarkOpenAndCensus(b *testing.B) {
	data := os.Getenv("TALLY_BENCH_DATA")
	if data == "" {
		b.Skip("TALLY_BENCH_DATA names no data directory of tallybench memory")
	}
	var open, census time.Duration
	for range b.N {
		start := time.Now()
		s, err := pebble.Open(filepath.Join(data, "store"))
		if err != nil {
			b.Fatal(err)
		}
		open += time.Since(start)
		reg := prometheus.NewRegistry()
		reg.MustRegister(s)
		for !holds(b, reg, "tally_store_groups") {
			time.Sleep(time.Millisecond)
		}
		census += time.Since(start)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(open.Seconds()*1e3/float64(b.N), "open-ms/op")
	b.ReportMetric(census.Seconds()*1e3/float64(b.N), "counted-ms/op")
}

// holds reports whether reg gathers the metric name.
func holds(b *testing.B, reg *prometheus.Registry, name string) bool {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return true
		}
	}
	return false
}
