package httpapi_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally/httpapi"
)

// TestStreamStalledSubscribers opens 100 streams, SSE and WebSocket, whose
// clients never read a byte, on a group a writer updates: the writer goes about as fast as
// alone, the streams are cut off once their connections' buffers are full
// (the server caps its side's at 64 KiB) and the cutoff has passed, and
// every goroutine they had is gone after.
func TestStreamStalledSubscribers(t *testing.T) { forFronts(t, testStreamStalledSubscribers) }

func testStreamStalledSubscribers(t *testing.T, f front) {
	const (
		stalled = 100
		writes  = 200
		cutoff  = time.Second
	)
	h := newStreamHarness(t, f, httpapi.Limits{}, httpapi.StreamLimits{Cutoff: cutoff})
	id := h.createGroup(t, appMain, "AVChatRoom", "")
	// Twenty keys of 100 bytes, all changed by every write: a message of
	// 2.6 KB, so that a connection's buffers fill after a few dozen.
	var cs []counter
	for i := range 20 {
		cs = append(cs, counter{fmt.Sprintf("%02d%s", i, strings.Repeat("k", 98)), 1})
	}
	write := func(n int) time.Duration {
		start := time.Now()
		for range n {
			h.increase(t, appMain, id, cs...)
		}
		return time.Since(start)
	}
	write(50) // warm up the store and the client's connection
	alone := write(writes)
	goroutines := runtime.NumGoroutine()

	u, err := url.Parse(h.streamURL(appMain, "viewer", id))
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range stalled {
		c, err := net.Dial("tcp", h.addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		// Half ask for Server-Sent Events, half for a WebSocket, whose
		// handshake's answer they do not read either.
		head := "Accept: text/event-stream\r\n"
		if i%2 == 1 {
			head = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		}
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", u.RequestURI(), u.Host, head); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the stalled streams to open", func() bool { return h.server.OpenStreams() == stalled })
	opened := time.Now()

	with := write(writes)
	t.Logf("%d writes: %v alone (%v each), %v with %d stalled subscribers (%v each)",
		writes, alone, alone/writes, with, stalled, with/writes)
	if with > 3*alone+200*time.Millisecond {
		t.Errorf("the writer took %v with %d stalled subscribers, against %v alone", with, stalled, alone)
	}

	// Once a stream has had more than its buffers hold, it is cut off
	// within the cutoff of its write blocking. The hub tells a group with
	// this audience several changes as one, so it takes more writes than
	// the ones above to fill them: the writer goes on until every stream
	// is gone.
	deadline := time.Now().Add(10 * time.Second)
	for h.server.OpenStreams() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d stalled streams were not cut off within 10s of writes", h.server.OpenStreams())
		}
		write(10)
	}
	t.Logf("all %d cut off %v after they opened (cutoff %v)", stalled, time.Since(opened).Round(time.Millisecond), cutoff)
	if groups, subs := h.server.Hub().Len(); groups != 0 || subs != 0 {
		t.Errorf("the hub still has %d groups and %d subscriptions", groups, subs)
	}
	for _, c := range conns {
		c.Close()
	}
	// fasthttp keeps a connection's goroutine as an idle worker for up to
	// twice its MaxIdleWorkerDuration, 10s, before it ends.
	wait := 10 * time.Second
	if f == fastFront {
		wait = 30 * time.Second
	}
	waitFor(t, wait, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutines+2 })
	t.Logf("goroutines: %d before the stalled streams, %d after", goroutines, runtime.NumGoroutine())
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStreamSlowReader: a client that reads slower than a group changes
// (here, not at all until the writer is done) gets later states in place
// of the changes it could not keep up with:
// its Seqs only go up, it gets fewer messages than there were changes,
// and it ends on what get_group_counter answers.
func TestStreamSlowReader(t *testing.T) { forFronts(t, testStreamSlowReader) }

func testStreamSlowReader(t *testing.T, f front) {
	h := newStreamHarness(t, f, httpapi.Limits{}, httpapi.StreamLimits{})
	id := h.createGroup(t, appMain, "Public", "")
	var cs []counter
	for i := range 20 {
		cs = append(cs, counter{fmt.Sprintf("%02d%s", i, strings.Repeat("k", 98)), 1})
	}
	resp, err := h.client.Get(h.streamURL(appMain, "admin", id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	frames := bufio.NewReader(resp.Body)
	read := func() streamMsg {
		for {
			line, err := frames.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				m, err := decodeStreamMsg([]byte(strings.TrimSpace(data)))
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
		}
	}
	read() // the snapshot

	const writes = 500
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range writes {
			if _, err := h.try(http.MethodPost, "update_group_counter", query(appMain, "admin").Encode(),
				strings.NewReader(fmt.Sprintf(`{"GroupId":%q,"Mode":"Increase","GroupCounter":%s}`, id, counterJSON(cs)))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	// The reader takes nothing until the writer is done, then catches up.
	<-done
	var seq uint64
	msgs, whole := 0, 0
	for seq < writes {
		m := read()
		msgs++
		if m.Seq <= seq {
			t.Fatalf("Seq %d after %d", m.Seq, seq)
		}
		if m.Seq > seq+1 {
			whole++
		}
		seq = m.Seq
		if len(m.GroupCounter) != len(cs) || m.GroupCounter[0].Value != int64(m.Seq) {
			t.Fatalf("message at Seq %d holds %v", m.Seq, m.GroupCounter)
		}
	}
	t.Logf("%d changes reached a slow reader as %d messages, %d of them states in place of several changes", writes, msgs, whole)
	if whole == 0 || msgs >= writes {
		t.Errorf("the slow reader got every change (%d messages): nothing was conflated", msgs)
	}
	if got := h.getCounters(t, appMain, id); got[0].Value != writes {
		t.Fatalf("get_group_counter answers %v", got[0])
	}
}

func counterJSON(cs []counter) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"Key":%q,"Value":%d}`, c.Key, c.Value)
	}
	b.WriteByte(']')
	return b.String()
}
