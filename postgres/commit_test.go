package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// TestCommitLost loses the connection after the server has been sent a
// COMMIT and before its answer comes back, as a network fault can. The
// server commits, but the store cannot know it: it must answer an
// internal error, never OK, and must not run the call again, which would
// apply an increment twice.
func TestCommitLost(t *testing.T) {
	c := shared(t)
	url := c.CreateDB(t)
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", c.Port()))
	s := open(t, strings.Replace(url, fmt.Sprintf(":%d/", c.Port()), fmt.Sprintf(":%d/", p.port()), 1))
	ctx := context.Background()
	const app = 1400000001
	feed := feedOf(s)
	if err := s.CreateGroup(ctx, app, &tally.Group{ID: "g", Type: tally.GroupPublic, Name: "g", InfoSeq: 1}, nil); err != nil {
		t.Fatal(err)
	}

	p.dropAfterCommit.Store(true)
	_, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}})
	if p.dropAfterCommit.Load() {
		t.Fatal("no COMMIT went through the proxy")
	}
	if code := tally.ErrorCode(err); code != tally.ErrInternal {
		t.Fatalf("UpdateCounters whose COMMIT answer was lost: code %d (%v), want an internal error", code, err)
	}
	t.Log(err)
	cs, err := s.Counters(ctx, app, "g", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Value != 1 {
		t.Fatalf("counters = %v; want k=1, applied once by the COMMIT whose answer was lost", cs)
	}

	// The feed never told the change whose COMMIT's outcome the store
	// could not know: the next change comes after a gap.
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if told := feed.until(t, "g", 2); len(told) != 1 || told[0].Seq != 2 || told[0].Counters[0].Value != 2 {
		t.Fatalf("the feed told %+v; want only #2, k=2", told)
	}
}

// proxy forwards TCP connections to a server. Armed, it lets a simple
// query COMMIT through to the server and then closes that connection
// before the server's answer returns; or it holds that answer back for a
// while, as a slow network would, and says on commitHeld when the COMMIT
// has gone to the server.
type proxy struct {
	*relay
	dropAfterCommit atomic.Bool
	holdCommit      atomic.Int64 // How long, in nanoseconds; 0 for not armed.
	commitHeld      chan struct{}
}

// commitMsg is a simple Query message of "commit", as pgx sends to end a
// transaction.
var commitMsg = []byte("Q\x00\x00\x00\x0bcommit\x00")

func startProxy(t *testing.T, to string) *proxy {
	p := &proxy{commitHeld: make(chan struct{}, 1)}
	p.relay = startRelay(t, to, p.pipe)
	return p
}

// pipe forwards one connection, cutting or holding its COMMIT's answer
// when the proxy is armed.
func (p *proxy) pipe(client, server net.Conn) (up, down func()) {
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); server.Close() }) }
	var cut atomic.Bool
	var hold atomic.Int64
	// Answers go back until the connection is cut.
	down = func() {
		defer closeBoth()
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if d := hold.Swap(0); n > 0 && d > 0 {
				time.Sleep(time.Duration(d))
			}
			if n > 0 && !cut.Load() {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	up = func() {
		defer closeBoth()
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				chunk := buf[:n]
				drop := bytes.Contains(chunk, commitMsg) && p.dropAfterCommit.CompareAndSwap(true, false)
				if drop {
					cut.Store(true)
				}
				var held bool
				if bytes.Contains(chunk, commitMsg) {
					if d := p.holdCommit.Swap(0); d > 0 {
						hold.Store(d)
						held = true
					}
				}
				if _, werr := server.Write(chunk); werr != nil {
					return
				}
				if held {
					p.commitHeld <- struct{}{}
				}
				if drop {
					// Give the server time to commit, which
					// it does though the client is gone.
					time.Sleep(200 * time.Millisecond)
					client.Close()
					// Let the backend see it is gone only
					// after the commit.
					time.Sleep(100 * time.Millisecond)
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	return up, down
}
