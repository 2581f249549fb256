package callback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/callback"
	"github.com/tallyserver/tally/pebble"
)

// The delivery tests run a Deliverer on the embedded store, whose outbox
// the writes fill as the API's do, and a real receiver on loopback.

const appID = 1400000001

// hook is a receiver that keeps the events it accepted, by group, and
// answers as its mode says: accept, refuse with 500, or accept only every
// other attempt.
type hook struct {
	*httptest.Server
	mu       sync.Mutex
	accepted map[string][]sent // by GroupId
	ids      map[string]int    // EventId -> times accepted
	agents   map[string]int    // User-Agent -> calls
	calls    atomic.Int64
	down     atomic.Bool
	flaky    atomic.Bool
}

type sent struct {
	command string
	id      uint64
	seq     uint64
	body    map[string]any
}

func newHook(t *testing.T) *hook {
	h := &hook{accepted: map[string][]sent{}, ids: map[string]int{}, agents: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := h.calls.Add(1)
		h.mu.Lock()
		h.agents[r.Header.Get("User-Agent")]++
		h.mu.Unlock()
		data, _ := io.ReadAll(r.Body)
		if h.down.Load() || (h.flaky.Load() && n%2 == 0) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var body map[string]any
		if err := json.Unmarshal(data, &body); err != nil {
			t.Errorf("body %s: %v", data, err)
		}
		id, _ := strconv.ParseUint(fmt.Sprint(body["EventId"]), 10, 64)
		seq, _ := body["Seq"].(float64)
		h.mu.Lock()
		g := fmt.Sprint(body["GroupId"])
		h.accepted[g] = append(h.accepted[g], sent{r.URL.Query().Get("CallbackCommand"), id, uint64(seq), body})
		h.ids[fmt.Sprint(body["EventId"])]++
		h.mu.Unlock()
		io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, evs := range h.accepted {
		n += len(evs)
	}
	return n
}

func (h *hook) group(id string) []sent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sent(nil), h.accepted[id]...)
}

func openStore(t *testing.T) *pebble.Store {
	s, err := pebble.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func app(url string) tally.App {
	return tally.App{SDKAppID: appID, SecretKey: "k", Admins: []string{"admin"}, Edition: tally.EditionUltimate,
		Callback: tally.Callback{URL: url, Events: tally.AllEvents}}
}

// fast are options that make a test's retries quick.
func fast() callback.Options {
	return callback.Options{Poll: 20 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
}

// write makes groups groups of n counter changes each, after their
// creation, as calls at time at.
func write(t *testing.T, s *pebble.Store, groups, n int, at time.Time) {
	t.Helper()
	ctx := tally.WithOrigin(context.Background(), tally.Origin{Operator: "admin", ClientIP: "192.0.2.1", Time: at, Events: tally.AllEvents})
	for g := range groups {
		name := "n"
		r := tally.NewGroup{Type: tally.GroupPublic, Owner: "owner", Fields: tally.GroupChange{Name: &name}}
		grp, ms, err := r.Build(at.Unix())
		if err != nil {
			t.Fatal(err)
		}
		grp.ID = fmt.Sprintf("g%d", g)
		if err := s.CreateGroup(ctx, appID, grp, ms); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		for g := range groups {
			if _, err := s.UpdateCounters(ctx, appID, fmt.Sprintf("g%d", g), tally.ModeIncrease, []tally.Counter{{Key: "k", Value: int64(i + 1)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func run(t *testing.T, d *callback.Deliverer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func outboxLen(t *testing.T, s *pebble.Store) int {
	evs, err := s.Events(context.Background(), 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func metric(t *testing.T, d *callback.Deliverer, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(d)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// checkOrder checks that each group's events arrived in the order they
// were written: its creation first, then its counter changes by Seq, with
// EventIds growing, each accepted once.
func checkOrder(t *testing.T, h *hook, groups, n int) {
	t.Helper()
	for g := range groups {
		got := h.group(fmt.Sprintf("g%d", g))
		if len(got) != 1+n {
			t.Fatalf("g%d: %d events, want %d", g, len(got), 1+n)
		}
		if got[0].command != "Group.CallbackAfterCreateGroup" {
			t.Errorf("g%d: first event %s", g, got[0].command)
		}
		for i := 1; i < len(got); i++ {
			if got[i].id <= got[i-1].id || got[i].command != "Group.CallbackAfterGroupCounterChanged" || got[i].seq != uint64(i) {
				t.Fatalf("g%d: event %d is %s id %d seq %d after id %d", g, i, got[i].command, got[i].id, got[i].seq, got[i-1].id)
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, n := range h.ids {
		if n != 1 {
			t.Errorf("event %s accepted %d times", id, n)
		}
	}
}

func TestDeliverInOrderPerGroup(t *testing.T) {
	s := openStore(t)
	h := newHook(t)
	// Every other attempt fails, so retries interleave across groups.
	h.flaky.Store(true)
	const groups, n = 8, 100
	write(t, s, groups, n, time.Now())
	d := callback.NewDeliverer(s, callback.NewClient("test"), []tally.App{app(h.URL)}, fast())
	run(t, d)
	waitFor(t, "every event", func() bool { return h.count() == groups*(1+n) })
	checkOrder(t, h, groups, n)
	waitFor(t, "an empty outbox", func() bool { return outboxLen(t, s) == 0 })
	if got := metric(t, d, "tally_callback_delivered_total"); got != groups*(1+n) {
		t.Errorf("delivered = %v, want %d", got, groups*(1+n))
	}
	if got := metric(t, d, "tally_callback_failures_total"); got == 0 {
		t.Error("no failure counted, though every other attempt failed")
	}
	waitFor(t, "an empty backlog", func() bool { return metric(t, d, "tally_callback_backlog") == 0 })
}

func TestDeliverRetriesUntilTheHandlerComesBack(t *testing.T) {
	s := openStore(t)
	h := newHook(t)
	h.down.Store(true)
	d := callback.NewDeliverer(s, callback.NewClient("test"), []tally.App{app(h.URL)}, fast())
	run(t, d)
	const groups, n = 3, 10
	write(t, s, groups, n, time.Now())
	d.Notify()
	waitFor(t, "failed attempts", func() bool { return metric(t, d, "tally_callback_failures_total") >= 20 })
	if got := metric(t, d, "tally_callback_backlog"); got != groups*(1+n) {
		t.Errorf("backlog = %v while the handler is down, want %d", got, groups*(1+n))
	}
	if got := metric(t, d, "tally_callback_oldest_age_seconds"); got <= 0 {
		t.Errorf("oldest age = %v while the handler is down", got)
	}
	if outboxLen(t, s) != groups*(1+n) {
		t.Fatal("events left the outbox while the handler was down")
	}
	h.down.Store(false)
	waitFor(t, "every event", func() bool { return h.count() == groups*(1+n) })
	checkOrder(t, h, groups, n)
	waitFor(t, "an empty outbox", func() bool { return outboxLen(t, s) == 0 })
}

func TestDeliverDropsOldEvents(t *testing.T) {
	s := openStore(t)
	h := newHook(t)
	write(t, s, 2, 3, time.Now().Add(-2*time.Hour))
	opts := fast()
	opts.MaxAge = time.Hour
	d := callback.NewDeliverer(s, callback.NewClient("test"), []tally.App{app(h.URL)}, opts)
	run(t, d)
	waitFor(t, "an empty outbox", func() bool { return outboxLen(t, s) == 0 })
	if h.calls.Load() != 0 {
		t.Errorf("%d events older than the max age were sent", h.calls.Load())
	}
	if got := metric(t, d, "tally_callback_dropped_total"); got != 8 {
		t.Errorf("dropped = %v, want 8", got)
	}
}

func TestDeliverFollowsReloads(t *testing.T) {
	s := openStore(t)
	old, next := newHook(t), newHook(t)
	old.down.Store(true)
	d := callback.NewDeliverer(s, callback.NewClient("test"), []tally.App{app(old.URL)}, fast())
	run(t, d)
	write(t, s, 2, 5, time.Now())
	d.Notify()
	waitFor(t, "attempts at the old URL", func() bool { return old.calls.Load() >= 4 })

	// A new URL applies from the next attempt.
	d.SetApps([]tally.App{app(next.URL)})
	waitFor(t, "every event at the new URL", func() bool { return next.count() == 2*6 })
	checkOrder(t, next, 2, 5)
	waitFor(t, "an empty outbox", func() bool { return outboxLen(t, s) == 0 })

	// Events an app no longer asks for, or of an app without a URL, are
	// dropped, not sent.
	only := app(next.URL)
	only.Callback.Events = tally.EventSet(0).With(tally.EventAfterCreateGroup)
	d.SetApps([]tally.App{only})
	ctx := tally.WithOrigin(context.Background(), tally.Origin{Operator: "admin", Time: time.Now(), Events: tally.AllEvents})
	if _, err := s.UpdateCounters(ctx, appID, "g0", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	d.Notify()
	waitFor(t, "the unwanted event dropped", func() bool { return metric(t, d, "tally_callback_dropped_total") == 1 })
	d.SetApps(nil)
	if _, err := s.UpdateCounters(ctx, appID, "g0", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	d.Notify()
	waitFor(t, "the event of a removed app dropped", func() bool { return metric(t, d, "tally_callback_dropped_total") == 2 })
	waitFor(t, "an empty outbox", func() bool { return outboxLen(t, s) == 0 })
	if next.count() != 12 {
		t.Errorf("%d events at the new URL, want 12: a dropped one was sent", next.count())
	}
}
