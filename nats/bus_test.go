package nats_test

import (
	"log/slog"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/natstest"
	"github.com/tallyserver/tally/nats"
)

// node is a bus with what it handed on: the changes and the resyncs.
type node struct {
	bus     *nats.Bus
	changes chan tally.Change
	resyncs chan struct{}
}

func connect(t *testing.T, url string) *node {
	t.Helper()
	n := &node{changes: make(chan tally.Change, 100), resyncs: make(chan struct{}, 100)}
	var err error
	n.bus, err = nats.Connect(url, nats.Options{
		Name:          t.Name(),
		ReconnectWait: 50 * time.Millisecond,
		Log:           slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.bus.Close)
	err = n.bus.Start(
		func(c tally.Change) { n.changes <- c },
		func() { n.resyncs <- struct{}{} },
	)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *node) next(t *testing.T) tally.Change {
	t.Helper()
	select {
	case c := <-n.changes:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no change came over the bus")
		return tally.Change{}
	}
}

// resynced waits for a resync.
func (n *node) resynced(t *testing.T, why string) {
	t.Helper()
	select {
	case <-n.resyncs:
	case <-time.After(5 * time.Second):
		t.Fatalf("no resync %s", why)
	}
}

// drain empties the resyncs told so far.
func (n *node) drain() {
	for {
		select {
		case <-n.resyncs:
		default:
			return
		}
	}
}

func TestChangesReachTheOtherNodesInOrder(t *testing.T) {
	srv := natstest.New(t)
	a, b := connect(t, srv.URL()), connect(t, srv.URL())
	sent := []tally.Change{
		{App: 1400000001, GroupID: "@TGS#1", Seq: 1, Counters: []tally.Counter{{Key: "likes", Value: math.MaxInt64}, {Key: "views", Value: math.MinInt64}}},
		{App: 1400000001, GroupID: "@TGS#1", Seq: 2, Deleted: []string{"likes"}},
		{App: 1400000002, GroupID: "群组", Seq: 7, Counters: []tally.Counter{{Key: "k", Value: 0}}},
		{App: 1400000001, GroupID: "@TGS#1", Seq: 3, Destroyed: true},
	}
	for _, c := range sent {
		a.bus.Publish(c)
	}
	for i, want := range sent {
		if got := b.next(t); !reflect.DeepEqual(got, want) {
			t.Errorf("change %d: got %+v, want %+v", i, got, want)
		}
	}
	// A node does not get its own changes back: its hub has them from
	// its store. B's publication, which reaches A, orders A's queue.
	b.bus.Publish(tally.Change{App: 1, GroupID: "g", Seq: 1})
	if got := a.next(t); got.App != 1 || got.GroupID != "g" {
		t.Errorf("A got %+v, want B's change (and none of its own)", got)
	}
}

func TestLostBusResyncs(t *testing.T) {
	srv := natstest.New(t)
	a, b := connect(t, srv.URL()), connect(t, srv.URL())
	srv.Stop()
	a.resynced(t, "when the bus was cut")
	b.resynced(t, "when the bus was cut")
	a.drain()
	b.drain()
	srv.Start()
	// Each resyncs when it is back, and again when the other, back too,
	// asks: whichever comes first will do.
	a.resynced(t, "when the bus came back")
	b.resynced(t, "when the bus came back")

	// Changes go through again. (B's resync may be A's request, which
	// can reach B before the server has B's subscription to changes:
	// the two are sent together but taken one by one.)
	deadline := time.Now().Add(5 * time.Second)
	for seq := uint64(1); ; seq++ {
		a.bus.Publish(tally.Change{App: 1, GroupID: "g", Seq: seq})
		select {
		case got := <-b.changes:
			if got.GroupID != "g" {
				t.Errorf("after the reconnect, B got %+v", got)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("after the reconnect, no change reaches B")
		}
	}
}

func TestConnectRefusesUnreachable(t *testing.T) {
	srv := natstest.New(t)
	url := srv.URL()
	srv.Stop()
	start := time.Now()
	if bus, err := nats.Connect(url, nats.Options{}); err == nil {
		bus.Close()
		t.Fatal("Connect to a stopped server succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Connect took %v to fail on a refused port", d)
	}
}
