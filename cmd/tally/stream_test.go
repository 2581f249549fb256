package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
	"github.com/tallyserver/tally/usersig"
)

// The stream tests watch through the client package, as a program would,
// wherever they check what the stream carries. Two readers stay raw: the
// WebSocket, which the client does not speak, and an SSE reader for the
// tests that check the comment a stream ends with, which says why and
// which the client's Next passes over.

// watcher reads one stream from a goroutine of its own, so that a test
// waits for a message with a timeout rather than for ever.
type watcher struct {
	msgs chan client.Message
	// last is the last SSE comment before the stream ended, read by the
	// raw SSE reader alone.
	last  string
	ended chan error
}

// newWatcher returns a watcher whose buffer holds every message of a test,
// so that its reader never holds the stream back.
func newWatcher() *watcher {
	return &watcher{msgs: make(chan client.Message, 1<<14), ended: make(chan error, 1)}
}

// newClient returns a client of the test app on base, as identifier, that
// signs its UserSigs with the test key; opts come after that.
func newClient(t *testing.T, base, identifier string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(base, testAppID, identifier, append([]client.Option{client.WithSecretKey(testKey)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// watch opens a stream of groups through c's Watch, failing the test if it
// is refused. The stream ends with the test.
func watch(t *testing.T, c *client.Client, groups ...string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := c.Watch(ctx, groups...)
	if err != nil {
		t.Fatalf("the stream was refused: %v", err)
	}
	w := newWatcher()
	go func() {
		defer st.Close()
		for {
			m, err := st.Next()
			if err != nil {
				w.ended <- err
				return
			}
			w.msgs <- m
		}
	}()
	return w
}

// streamURL is the URL of a stream of ids on base, by identifier of the
// test app, for the raw readers.
func streamURL(base, identifier string, ids ...string) string {
	q := url.Values{
		"sdkappid":   {fmt.Sprint(testAppID)},
		"identifier": {identifier},
		"usersig":    {usersig.Sign(testAppID, testKey, identifier, 3600, time.Now())},
		"GroupId":    ids,
	}
	return base + "/stream/group_counter?" + q.Encode()
}

// watchSSE opens an SSE stream and reads it line by line, keeping the last
// comment, which says why the stream ended; it fails the test if the
// stream is refused.
func watchSSE(t *testing.T, url string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("the stream was refused: %s", b)
	}
	w := newWatcher()
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "data: "):
				var m client.Message
				if err := json.Unmarshal([]byte(line[len("data: "):]), &m); err != nil {
					w.ended <- err
					return
				}
				w.msgs <- m
			case strings.HasPrefix(line, ": ") && line != ": ping":
				w.last = line[2:]
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		w.ended <- err
	}()
	return w
}

// watchWS opens a WebSocket stream, failing the test if it is refused.
func watchWS(t *testing.T, url string) *watcher {
	t.Helper()
	return watchWSWith(t, http.DefaultClient, url)
}

// watchWSWith is watchWS through hc.
func watchWSWith(t *testing.T, hc *http.Client, url string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("the WebSocket was refused: %v", err)
	}
	w := newWatcher()
	go func() {
		defer ws.CloseNow()
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				w.ended <- err
				return
			}
			var m client.Message
			if err := json.Unmarshal(b, &m); err != nil {
				w.ended <- err
				return
			}
			w.msgs <- m
		}
	}()
	return w
}

func (w *watcher) next(t *testing.T) client.Message {
	t.Helper()
	select {
	case m := <-w.msgs:
		return m
	case err := <-w.ended:
		t.Fatalf("the stream ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	panic("unreachable")
}

// waitEnd waits for the stream to end and returns why.
func (w *watcher) waitEnd(t *testing.T) error {
	t.Helper()
	select {
	case err := <-w.ended:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end within 10s")
	}
	panic("unreachable")
}

// createGroup creates a group through c, failing the test if it cannot.
func createGroup(t *testing.T, c *client.Client, req client.CreateGroupRequest) {
	t.Helper()
	if _, err := c.CreateGroup(t.Context(), req); err != nil {
		t.Fatal(err)
	}
}

// setCounter sets key of group to value through c, failing the test if it
// cannot.
func setCounter(t *testing.T, c *client.Client, group, key string, value int64) {
	t.Helper()
	if _, err := c.UpdateGroupCounter(t.Context(), client.UpdateGroupCounterRequest{
		GroupID: group, GroupCounter: []tally.Counter{{Key: key, Value: value}}}); err != nil {
		t.Fatal(err)
	}
}

// increase adds 1 to key of group through c and returns the new value. It
// returns the error rather than fail the test, since writers call it from
// goroutines of their own.
func increase(ctx context.Context, c *client.Client, group, key string) (int64, error) {
	r, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{
		GroupID: group, Mode: client.ModeIncrease, GroupCounter: []tally.Counter{{Key: key, Value: 1}}})
	if err != nil {
		return 0, err
	}
	return r.GroupCounter[0].Value, nil
}

// mustIncrease is increase for the test's own goroutine.
func mustIncrease(t *testing.T, c *client.Client, group, key string) int64 {
	t.Helper()
	v, err := increase(t.Context(), c, group, key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// counterValue reads key of group through c; a missing key is 0.
func counterValue(t *testing.T, c *client.Client, group, key string) int64 {
	t.Helper()
	r, err := c.GetGroupCounter(t.Context(), client.GetGroupCounterRequest{GroupID: group})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(r.GroupCounter, func(kv tally.Counter) bool { return kv.Key == key }); i >= 0 {
		return r.GroupCounter[i].Value
	}
	return 0
}

// TestStreamOnBothStores serves the stream on the embedded store and on
// PostgreSQL: a member watching through the client, the same member over
// raw SSE and an admin over a WebSocket each see every change of four
// racing writers, in Seq order, and end on what get_group_counter
// answers; then Close, as SIGTERM does, ends every stream at once, the raw
// ones told why, and returns without error.
func TestStreamOnBothStores(t *testing.T) {
	for _, store := range []string{"pebble", "postgres"} {
		t.Run(store, func(t *testing.T) {
			config := testConfig()
			if store == "postgres" {
				config = "store: " + pgCluster(t).CreateDB(t) + "\n" + config
			}
			m := newMain(t, config)
			m.open(t)
			admin := newClient(t, m.URL(), testAdmin)
			createGroup(t, admin, client.CreateGroupRequest{Type: tally.GroupPrivate, Name: "live", GroupID: "live",
				MemberList: []client.NewMember{{MemberAccount: "fan"}}})
			setCounter(t, admin, "live", "likes", 1)

			watchers := []struct {
				name string
				w    *watcher
				// ended says whether err and the last comment are
				// the end Close should give the stream.
				ended func(err error, last string) bool
			}{
				{"the client", watch(t, newClient(t, m.URL(), "fan"), "live"),
					func(err error, _ string) bool { return err == io.EOF }},
				{"raw SSE", watchSSE(t, streamURL(m.URL(), "fan", "live")),
					func(err error, last string) bool { return err == io.EOF && last == "end: the server is shutting down" }},
				{"WebSocket", watchWS(t, streamURL(m.URL(), testAdmin, "live")),
					func(err error, _ string) bool { return websocket.CloseStatus(err) == websocket.StatusGoingAway }},
			}
			for _, w := range watchers {
				if first := w.w.next(t); first.Seq != 1 || !slices.Equal(first.GroupCounter, []tally.Counter{{Key: "likes", Value: 1}}) {
					t.Fatalf("%s: first message %+v", w.name, first)
				}
			}
			const writers, each = 4, 25
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					for range each {
						if _, err := increase(t.Context(), admin, "live", "likes"); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			for _, w := range watchers {
				// Each change adds one to likes, so the Seq says what it
				// must be; the hub may tell several changes as one if it
				// falls behind.
				var likes int64
				for seq := uint64(1); seq < 1+writers*each; {
					m := w.w.next(t)
					if m.Seq <= seq || m.GroupCounter[0] != (tally.Counter{Key: "likes", Value: int64(m.Seq)}) {
						t.Fatalf("%s: after Seq %d: %+v", w.name, seq, m)
					}
					seq, likes = m.Seq, m.GroupCounter[0].Value
				}
				if got := counterValue(t, admin, "live", "likes"); likes != got || got != 1+writers*each {
					t.Fatalf("%s: the stream ended on likes=%d; get_group_counter answers %d", w.name, likes, got)
				}
			}

			start := time.Now()
			if err := m.close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			t.Logf("Close with %d streams open: %v", len(watchers), time.Since(start))
			for _, w := range watchers {
				if err := w.w.waitEnd(t); !w.ended(err, w.w.last) {
					t.Errorf("%s: ended with %v after %q", w.name, err, w.w.last)
				}
			}
		})
	}
}

// TestStreamReloadRemovesApp: a reload that removes the stream's app ends
// the stream, and one that changes nothing of it keeps it. The stream is
// read raw, for the comment that says why it ended.
func TestStreamReloadRemovesApp(t *testing.T) {
	m := newMain(t, testConfig())
	m.open(t)
	admin := newClient(t, m.URL(), testAdmin)
	createGroup(t, admin, client.CreateGroupRequest{Type: tally.GroupAVChatRoom, Name: "live", GroupID: "live"})
	w := watchSSE(t, streamURL(m.URL(), "viewer", "live"))
	w.next(t)

	writeFile(t, m.ConfigPath, testConfig("rate_limit_per_app: 1000"))
	m.Reload()
	setCounter(t, admin, "live", "k", 1)
	if got := w.next(t); got.Seq != 1 {
		t.Fatalf("after a reload that keeps the app: %+v", got)
	}

	writeFile(t, m.ConfigPath, strings.Replace(testConfig(), fmt.Sprint(testAppID), "1400000099", 1))
	m.Reload()
	if err := w.waitEnd(t); err != io.EOF || !strings.HasPrefix(w.last, "end: 60006 ") {
		t.Fatalf("after a reload that removes the app: ended with %v after %q", err, w.last)
	}
}

// TestStreamSIGTERM sends SIGTERM to the binary with streams open: it
// exits 0 within a few seconds, and the streams end.
func TestStreamSIGTERM(t *testing.T) { forFronts(t, testStreamSIGTERM) }

func testStreamSIGTERM(t *testing.T, front string) {
	needBinary(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig())
	s := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--http-front", front)
	createGroup(t, newClient(t, s.base, testAdmin), client.CreateGroupRequest{Type: tally.GroupAVChatRoom, Name: "live", GroupID: "live"})
	sse := watch(t, newClient(t, s.base, "viewer"), "live")
	ws := watchWS(t, streamURL(s.base, "viewer", "live"))
	sse.next(t)
	ws.next(t)
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM with streams open; stderr:\n%s", code, s.stderr)
	}
	t.Logf("SIGTERM with 2 streams open: exited in %v", time.Since(start))
	if err := sse.waitEnd(t); err != io.EOF {
		t.Errorf("SSE: ended with %v", err)
	}
	if err := ws.waitEnd(t); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("WebSocket: ended with %v", err)
	}
}

// TestStreamOverTLS: both transports work over HTTPS, under the listener
// that turns refusals into envelopes, and a refusal is an envelope there
// too: the client makes an *Error of nothing else.
func TestStreamOverTLS(t *testing.T) { forFronts(t, testStreamOverTLS) }

func testStreamOverTLS(t *testing.T, front string) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, cert := makeCert(t, dir, "stream")
	m := newMain(t, "http_front: "+front+"\ntls_cert: "+certFile+"\ntls_key: "+keyFile+"\n"+testConfig())
	m.open(t)
	// A stream outlives any timeout of the http.Client; the context ends
	// it.
	hc := trusting(cert)
	hc.Timeout = 0
	admin := newClient(t, m.URL(), testAdmin, client.WithHTTPClient(hc))
	viewer := newClient(t, m.URL(), "viewer", client.WithHTTPClient(hc))
	createGroup(t, admin, client.CreateGroupRequest{Type: tally.GroupAVChatRoom, Name: "live", GroupID: "live"})
	watchers := []*watcher{watch(t, viewer, "live"), watchWSWith(t, hc, streamURL(m.URL(), "viewer", "live"))}
	for _, w := range watchers {
		w.next(t)
	}
	setCounter(t, admin, "live", "k", 7)
	for _, w := range watchers {
		if m := w.next(t); m.Seq != 1 || !slices.Equal(m.GroupCounter, []tally.Counter{{Key: "k", Value: 7}}) {
			t.Fatalf("over TLS: %+v", m)
		}
	}
	_, err := viewer.Watch(t.Context(), "nosuch")
	if e := (*client.Error)(nil); !errors.As(err, &e) || e.Code != tally.ErrGroupNotFound {
		t.Fatalf("a refusal over TLS: %v", err)
	}
}
