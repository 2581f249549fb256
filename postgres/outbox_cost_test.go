package postgres_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// syncCounter forwards TCP connections to a server and counts the
// ReadyForQuery messages the server sends, one per round trip in which a
// client waits for the server: a simple query, or a batch of statements
// that ends with a Sync.
type syncCounter struct {
	*relay
	syncs atomic.Int64
}

func startSyncCounter(t *testing.T, to string) *syncCounter {
	p := &syncCounter{}
	p.relay = startRelay(t, to, func(client, server net.Conn) (up, down func()) {
		up = func() {
			defer client.Close()
			io.Copy(server, client)
			server.Close()
		}
		down = func() {
			defer server.Close()
			p.count(client, server)
			client.Close()
		}
		return up, down
	})
	return p
}

// count forwards the server's messages to the client, each whole, and
// counts its ReadyForQuery ('Z') before the client can see it. Without
// TLS (the tests' URLs say sslmode=disable) every message the server
// sends has a type byte and a length.
func (p *syncCounter) count(client io.Writer, server io.Reader) {
	var head [5]byte
	for {
		if _, err := io.ReadFull(server, head[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(head[1:])) - 4
		body := make([]byte, 5+n)
		copy(body, head[:])
		if _, err := io.ReadFull(server, body[5:]); err != nil {
			return
		}
		if head[0] == 'Z' {
			p.syncs.Add(1)
		}
		if _, err := client.Write(body); err != nil {
			return
		}
	}
}

// TestOutboxCost counts the round trips of each write: an Origin that asks
// for no event costs none, and one that asks for events costs none either,
// for they ride with the write's last statement, but for DestroyGroup,
// whose event needs what its last statement returned.
func TestOutboxCost(t *testing.T) {
	c := shared(t)
	url := c.CreateDB(t)
	p := startSyncCounter(t, fmt.Sprintf("127.0.0.1:%d", c.Port()))
	// One connection, so that its statement cache is the one warmed.
	url = strings.Replace(url, fmt.Sprintf(":%d/", c.Port()), fmt.Sprintf(":%d/", p.port()), 1) + "&pool_max_conns=1"
	s := open(t, url)
	const app = 1400000001
	ctx := context.Background()
	if err := s.CreateGroup(ctx, app, &tally.Group{ID: "g", Type: tally.GroupPublic, Name: "g", Owner: "o", InfoSeq: 1, MaxMemberNum: 100},
		[]tally.Member{{Account: "o", Role: tally.RoleOwner}}); err != nil {
		t.Fatal(err)
	}

	// Each write can be made again and again, as the measure needs; the
	// calls that set it up again, without an Origin, cost the same in
	// every mode.
	names := 0
	writes := []struct {
		name  string
		extra int64 // The round trips an event adds.
		call  func(context.Context) error
	}{
		{"UpdateCounters", 0, func(c context.Context) error {
			_, err := s.UpdateCounters(c, app, "g", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}})
			return err
		}},
		{"DeleteCounters", 0, func(c context.Context) error {
			if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, []tally.Counter{{Key: "d", Value: 1}}); err != nil {
				return err
			}
			return s.DeleteCounters(c, app, "g", []string{"d"})
		}},
		{"ModifyGroup", 0, func(c context.Context) error {
			names++
			return s.ModifyGroup(c, app, "g", &tally.GroupChange{Name: ptr(fmt.Sprint("name", names))}, 1)
		}},
		{"AddMembers", 0, func(c context.Context) error {
			if err := s.DeleteMembers(ctx, app, "g", []string{"m"}, 1); err != nil {
				return err
			}
			_, err := s.AddMembers(c, app, "g", []string{"m"}, 1)
			return err
		}},
		{"DeleteMembers", 0, func(c context.Context) error {
			if _, err := s.AddMembers(ctx, app, "g", []string{"m"}, 1); err != nil {
				return err
			}
			return s.DeleteMembers(c, app, "g", []string{"m"}, 1)
		}},
		{"CreateGroup", 0, func(c context.Context) error {
			if err := s.DestroyGroup(ctx, app, "new"); err != nil && tally.ErrorCode(err) != tally.ErrGroupNotFound {
				return err
			}
			return s.CreateGroup(c, app, &tally.Group{ID: "new", Type: tally.GroupPublic, Name: "n", Owner: "o", InfoSeq: 1, MaxMemberNum: 100},
				[]tally.Member{{Account: "o", Role: tally.RoleOwner}})
		}},
		{"DestroyGroup", 1, func(c context.Context) error {
			if err := s.CreateGroup(ctx, app, &tally.Group{ID: "gone", Type: tally.GroupPublic, Name: "n", Owner: "o", InfoSeq: 1, MaxMemberNum: 100},
				[]tally.Member{{Account: "o", Role: tally.RoleOwner}}); err != nil {
				return err
			}
			return s.DestroyGroup(c, app, "gone")
		}},
	}
	o := tally.Origin{Operator: "admin", ClientIP: "192.0.2.1", Time: time.UnixMilli(1700000000123), Events: tally.AllEvents}
	none := o
	none.Events = 0
	modes := []struct {
		name string
		ctx  context.Context
	}{
		{"no Origin", ctx},
		{"an Origin that asks for none", tally.WithOrigin(ctx, none)},
		{"an Origin that asks for all", tally.WithOrigin(ctx, o)},
	}
	for _, w := range writes {
		// A first run of each mode prepares its statements on the
		// connection; the fewest round trips of the next runs are the
		// write's, whatever a pool's ping added to one.
		var trips [3]int64
		for i, m := range modes {
			if err := w.call(m.ctx); err != nil {
				t.Fatal(err)
			}
			trips[i] = 1 << 62
			for range 3 {
				before := p.syncs.Load()
				if err := w.call(m.ctx); err != nil {
					t.Fatal(err)
				}
				trips[i] = min(trips[i], p.syncs.Load()-before)
			}
		}
		t.Logf("%s: %d round trips, with an Origin that asks for none %d, for all %d", w.name, trips[0], trips[1], trips[2])
		if trips[1] != trips[0] || trips[2] != trips[0]+w.extra {
			t.Errorf("%s takes %d round trips, %d with an Origin that asks for none and %d with one that asks for all; want %d, %d and %d",
				w.name, trips[0], trips[1], trips[2], trips[0], trips[0], trips[0]+w.extra)
		}
	}
	if evs, err := s.Events(ctx, 1000); err != nil || len(evs) == 0 {
		t.Fatalf("the writes with an Origin recorded %d events, %v", len(evs), err)
	}
}
