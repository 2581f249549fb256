package pebble_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble"
)

// BenchmarkIncrease measures durable increments. The parallel cases show
// group commit at work: with 64 writers sharing each fsync, throughput is
// many times that of one writer, who pays a whole fsync per call. The
// feed cases tell every change to a function that counts it, to show
// what the feed costs a write (nothing measurable, next to the fsync).
func BenchmarkIncrease(b *testing.B) {
	for _, c := range []struct {
		name    string
		writers int // Goroutines per GOMAXPROCS.
		groups  int // Groups the writes are spread over.
		feed    bool
	}{
		{"serial", 0, 1, false},
		{"64-writers-hot-key", 32, 1, false},
		{"64-writers-1000-groups", 32, 1000, false},
		{"serial-feed", 0, 1, true},
		{"64-writers-hot-key-feed", 32, 1, true},
		{"64-writers-1000-groups-feed", 32, 1000, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := pebble.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var told atomic.Int64
			if c.feed {
				s.OnChange(func(tally.Change) { told.Add(1) })
			}
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

// BenchmarkMembers measures the calls on members of big groups, to show
// that their cost follows the members a call touches, not the group's
// size: a Community of 100,000 members (filled before the timer, in
// calls of 300) takes 300 more, or gives a page of 100 after a random
// cursor; a Public group of 6,000 gives a page of 100 at a random Offset,
// which it must skip; and a user in 100 groups lists them. JoinedGroups
// pays for its barrier, an fsync of the WAL, on every call.
//
//	go test -run XXX -bench Members -benchtime 2000x ./pebble
func BenchmarkMembers(b *testing.B) {
	s, err := pebble.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const (
		app       = 1
		community = "@TGS#_big"
		public    = "public"
		user      = "user"
		now       = 1700000000
	)
	create := func(id string, typ tally.GroupType, owner string) {
		name := id
		g, ms, err := (&tally.NewGroup{Type: typ, Owner: owner, Fields: tally.GroupChange{Name: &name}}).Build(now)
		if err != nil {
			b.Fatal(err)
		}
		g.ID = id
		if err := s.CreateGroup(ctx, app, g, ms); err != nil {
			b.Fatal(err)
		}
	}
	accounts := func(prefix string, from, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%07d", prefix, from+i)
		}
		return out
	}
	fill := func(id string, members int) {
		for i := 1; i < members; i += tally.MaxAddMembers {
			n := min(tally.MaxAddMembers, members-i)
			if _, err := s.AddMembers(ctx, app, id, accounts("m", i, n), now); err != nil {
				b.Fatal(err)
			}
		}
	}
	start := time.Now()
	create(community, tally.GroupCommunity, "owner")
	fill(community, 100000)
	create(public, tally.GroupPublic, "owner")
	if err := s.ModifyGroup(ctx, app, public, &tally.GroupChange{MaxMemberNum: ptr(int64(tally.GroupPublic.MemberCap()))}, now); err != nil {
		b.Fatal(err)
	}
	fill(public, 6000)
	for g := range 100 {
		create(fmt.Sprint("joined", g), tally.GroupPublic, user)
	}
	b.Logf("setup took %v", time.Since(start))
	rng := rand.New(rand.NewPCG(1, 2))

	b.Run("page-100", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p, err := s.Members(ctx, app, community, tally.MemberQuery{Limit: 100, After: rng.Uint64N(100000 - 100)})
			if err != nil || len(p.Members) != 100 {
				b.Fatalf("page of %d: %v", len(p.Members), err)
			}
		}
	})
	b.Run("page-offset", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p, err := s.Members(ctx, app, public, tally.MemberQuery{Limit: 100, Offset: rng.IntN(6000 - 100)})
			if err != nil || len(p.Members) != 100 {
				b.Fatalf("page of %d: %v", len(p.Members), err)
			}
		}
	})
	b.Run("joined", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p, err := s.JoinedGroups(ctx, app, user, tally.JoinedFilter{})
			if err != nil || len(p.Groups) != 100 {
				b.Fatalf("%d groups: %v", len(p.Groups), err)
			}
		}
	})
	b.Run("joined-with-groups", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p, err := s.JoinedGroups(ctx, app, user, tally.JoinedFilter{WithGroups: true})
			if err != nil || len(p.Groups) != 100 {
				b.Fatalf("%d groups: %v", len(p.Groups), err)
			}
		}
	})
	// The Community is full: each add of 300 is made room for by deleting
	// the 300 before it, untimed, so the group holds 99,700 to 100,000.
	b.Run("add-300", func(b *testing.B) {
		b.ReportAllocs()
		next := 1
		remove := func(batch []string) {
			for len(batch) > 0 {
				n := min(tally.MaxDeleteMembers, len(batch))
				if err := s.DeleteMembers(ctx, app, community, batch[:n], now); err != nil {
					b.Fatal(err)
				}
				batch = batch[n:]
			}
		}
		b.StopTimer()
		last := accounts("m", next, tally.MaxAddMembers)
		remove(last)
		for range b.N {
			batch := accounts("new", next, tally.MaxAddMembers)
			next += len(batch)
			b.StartTimer()
			res, err := s.AddMembers(ctx, app, community, batch, now)
			b.StopTimer()
			if err != nil || res[0] != tally.Added {
				b.Fatalf("AddMembers: %v, %v", res, err)
			}
			remove(batch)
		}
	})
}

func ptr[T any](v T) *T { return &v }
