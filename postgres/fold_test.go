package postgres_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/postgres"
)

// TestFoldIsolatesErrors sends updates of one group from many goroutines
// at once, some of which must fail: an overflow, a 21st key, and an
// overflow next to a valid item. They are folded into shared
// transactions, yet each failing update is answered its own error and
// leaves no trace, and every other one is applied exactly once.
func TestFoldIsolatesErrors(t *testing.T) {
	s := open(t, shared(t).CreateDB(t))
	ctx := context.Background()
	const app = 1400000001
	if err := s.CreateGroup(ctx, app, &tally.Group{ID: "hot", Type: tally.GroupPublic, Name: "hot", InfoSeq: 1}, nil); err != nil {
		t.Fatal(err)
	}
	start := []tally.Counter{{Key: "big", Value: math.MaxInt64}}
	for i := range 18 {
		start = append(start, tally.Counter{Key: fmt.Sprintf("k%02d", i), Value: int64(i)})
	}
	if _, err := s.UpdateCounters(ctx, app, "hot", tally.ModeSet, start); err != nil {
		t.Fatal(err)
	}
	txns0, updates0 := postgres.FoldStats(s)

	kinds := []struct {
		name  string
		mode  tally.Mode
		items []tally.Counter
		want  tally.Code
	}{
		{"increase a", tally.ModeIncrease, []tally.Counter{{Key: "a", Value: 1}}, tally.OK},
		{"overflow", tally.ModeIncrease, []tally.Counter{{Key: "big", Value: 1}}, tally.ErrInvalidParameter},
		{"two new keys", tally.ModeSet, []tally.Counter{{Key: "x", Value: 1}, {Key: "y", Value: 1}}, tally.ErrTooManyCounters},
		{"a and an overflow", tally.ModeIncrease, []tally.Counter{{Key: "a", Value: 1}, {Key: "big", Value: 1}}, tally.ErrInvalidParameter},
	}
	const workers, each = 32, 12
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[int64]bool{}
		oks  int64
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				k := kinds[(w+i)%len(kinds)]
				got, err := s.UpdateCounters(ctx, app, "hot", k.mode, k.items)
				if code := tally.ErrorCode(err); code != k.want {
					t.Errorf("%s: code %d (%v), want %d", k.name, code, err, k.want)
					return
				}
				if err != nil {
					continue
				}
				mu.Lock()
				if seen[got[0].Value] {
					t.Errorf("a = %d answered twice", got[0].Value)
				}
				seen[got[0].Value] = true
				oks++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	want := append([]tally.Counter{{Key: "a", Value: oks}}, start...)
	got, err := s.Counters(ctx, app, "hot", nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counters = %v, want %v", got, want)
	}
	txns, updates := postgres.FoldStats(s)
	txns, updates = txns-txns0, updates-updates0
	t.Logf("%d updates in %d transactions", updates, txns)
	if updates != workers*each || txns >= updates {
		t.Fatalf("%d updates in %d transactions; want %d updates folded into fewer", updates, txns, workers*each)
	}
}

// TestFoldMissingGroup folds updates of a group that does not exist, or
// is a Community: each is answered the group's error.
func TestFoldMissingGroup(t *testing.T) {
	s := open(t, shared(t).CreateDB(t))
	ctx := context.Background()
	const app = 1400000001
	if err := s.CreateGroup(ctx, app, &tally.Group{ID: "@TGS#_c", Type: tally.GroupCommunity, Name: "c", InfoSeq: 1}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   string
		want tally.Code
	}{{"nope", tally.ErrGroupNotFound}, {"@TGS#_c", tally.ErrNoPermission}} {
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.UpdateCounters(ctx, app, c.id, tally.ModeIncrease, []tally.Counter{{Key: "a", Value: 1}})
				if code := tally.ErrorCode(err); code != c.want {
					t.Errorf("%s: code %d (%v), want %d", c.id, code, err, c.want)
				}
			}()
		}
		wg.Wait()
	}
}

// TestFoldOff opens stores whose URL says tally_fold=off, in both of the
// forms pgx reads: every update of a hot group is then a transaction of
// its own, and none is lost. The setting must not reach the server, which
// refuses a connection that names a setting it does not know; a plain
// connection with it shows that refusal, so that the test means something.
func TestFoldOff(t *testing.T) {
	c := shared(t)
	url := c.CreateDB(t)
	ctx := context.Background()
	if conn, err := pgx.Connect(ctx, url+"&tally_fold=off"); err == nil {
		conn.Close(ctx)
		t.Fatal("the server accepted tally_fold as a setting; the test cannot tell whether Open strips it")
	}
	db := url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
	for _, form := range []struct{ name, url string }{
		{"url", url + "&tally_fold=off"},
		{"key-value", fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=%s sslmode=disable tally_fold=off",
			c.Port(), pgtest.User, pgtest.Password, db)},
	} {
		t.Run(form.name, func(t *testing.T) {
			s := open(t, form.url)
			const app = 1400000001
			id := "hot-" + form.name
			if err := s.CreateGroup(ctx, app, &tally.Group{ID: id, Type: tally.GroupPublic, Name: "hot", InfoSeq: 1}, nil); err != nil {
				t.Fatal(err)
			}
			txns0, updates0 := postgres.FoldStats(s)
			const workers, each = 16, 10
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for range each {
						if _, err := s.UpdateCounters(ctx, app, id, tally.ModeIncrease, []tally.Counter{{Key: "a", Value: 1}}); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			got, err := s.Counters(ctx, app, id, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Value != workers*each {
				t.Fatalf("counters = %v, want a = %d", got, workers*each)
			}
			txns, updates := postgres.FoldStats(s)
			if txns-txns0 != workers*each || updates-updates0 != workers*each {
				t.Fatalf("%d updates in %d transactions; want one transaction for each of %d", updates-updates0, txns-txns0, workers*each)
			}
		})
	}
}

// TestFoldSettingRefused opens URLs whose tally_fold is neither on nor
// off: Open must refuse each, naming the setting, before it connects.
func TestFoldSettingRefused(t *testing.T) {
	for _, v := range []string{"no", "OFF", ""} {
		s, err := postgres.Open(context.Background(), "postgres://u:pw@127.0.0.1:1/db?tally_fold="+v)
		if err == nil {
			s.Close()
			t.Fatalf("tally_fold=%s: Open succeeded", v)
		}
		if !strings.Contains(err.Error(), "tally_fold") || !strings.Contains(err.Error(), "on or off") {
			t.Errorf("tally_fold=%s: Open = %v, want an error saying it must be on or off", v, err)
		}
	}
}
