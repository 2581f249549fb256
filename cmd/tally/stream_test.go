package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tallyserver/tally/usersig"
)

// streamMsg is one message of a live counter stream.
type streamMsg struct {
	GroupId      string
	Seq          uint64
	GroupCounter []counter
	Deleted      []string
	Destroyed    bool
}

// watcher reads one stream, SSE or WebSocket, from a goroutine of its own.
type watcher struct {
	msgs chan streamMsg
	// last is the last SSE comment before the stream ended.
	last  string
	ended chan error
	stop  func()
}

// streamURL is the URL of a stream of ids on base, by identifier of the
// test app.
func streamURL(base, identifier string, ids ...string) string {
	q := url.Values{
		"sdkappid":   {fmt.Sprint(testAppID)},
		"identifier": {identifier},
		"usersig":    {usersig.Sign(testAppID, testKey, identifier, 3600, time.Now())},
		"GroupId":    ids,
	}
	return base + "/stream/group_counter?" + q.Encode()
}

// watchSSE opens an SSE stream, failing the test if it is refused.
func watchSSE(t *testing.T, url string) *watcher {
	t.Helper()
	return watchSSEWith(t, http.DefaultClient, url)
}

// watchSSEWith is watchSSE through hc.
func watchSSEWith(t *testing.T, hc *http.Client, url string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("the stream was refused: %s", b)
	}
	w := &watcher{msgs: make(chan streamMsg, 1<<14), ended: make(chan error, 1), stop: cancel}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "data: "):
				var m streamMsg
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
	w := &watcher{msgs: make(chan streamMsg, 1<<14), ended: make(chan error, 1), stop: func() { ws.CloseNow() }}
	go func() {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				w.ended <- err
				return
			}
			var m streamMsg
			if err := json.Unmarshal(b, &m); err != nil {
				w.ended <- err
				return
			}
			w.msgs <- m
		}
	}()
	return w
}

func (w *watcher) next(t *testing.T) streamMsg {
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

// TestStreamOnBothStores serves the stream on the embedded store and on
// PostgreSQL: a member watching over SSE and an admin over a WebSocket
// each see every change of four racing writers, in Seq order, and end on
// what get_group_counter answers; then Close, as SIGTERM does, ends both
// streams at once, each told why, and returns without error.
func TestStreamOnBothStores(t *testing.T) {
	for _, store := range []string{"pebble", "postgres"} {
		t.Run(store, func(t *testing.T) {
			config := testConfig()
			if store == "postgres" {
				config = "store: " + pgCluster(t).CreateDB(t) + "\n" + config
			}
			m := newMain(t, config)
			m.open(t)
			c := m.client(testKey)
			c.mustOK(t, "create_group", map[string]any{"Type": "Private", "Name": "live", "GroupId": "live",
				"MemberList": []map[string]any{{"Member_Account": "fan"}}})
			c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "live", "GroupCounter": []counter{{"likes", 1}}})

			url := streamURL(m.URL(), "fan", "live")
			watchers := []*watcher{watchSSE(t, url), watchWS(t, streamURL(m.URL(), testAdmin, "live"))}
			for _, w := range watchers {
				if first := w.next(t); first.Seq != 1 || len(first.GroupCounter) != 1 || first.GroupCounter[0] != (counter{"likes", 1}) {
					t.Fatalf("first message %+v", first)
				}
			}
			const writers, each = 4, 25
			var wg sync.WaitGroup
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "live", "Mode": "Increase", "GroupCounter": []counter{{"likes", 1}}})
					}
				}()
			}
			wg.Wait()
			for _, w := range watchers {
				// Each change adds one to likes, so the Seq says what it
				// must be; the hub may tell several changes as one if it
				// falls behind.
				var likes int64
				for seq := uint64(1); seq < 1+writers*each; {
					m := w.next(t)
					if m.Seq <= seq || m.GroupCounter[0] != (counter{"likes", int64(m.Seq)}) {
						t.Fatalf("after Seq %d: %+v", seq, m)
					}
					seq, likes = m.Seq, m.GroupCounter[0].Value
				}
				if got := c.counters(t, "live")["likes"]; likes != got || got != 1+writers*each {
					t.Fatalf("the stream ended on likes=%d; get_group_counter answers %d", likes, got)
				}
			}

			start := time.Now()
			if err := m.close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			t.Logf("Close with 2 streams open: %v", time.Since(start))
			if err := watchers[0].waitEnd(t); err != io.EOF || watchers[0].last != "end: the server is shutting down" {
				t.Errorf("SSE: ended with %v after %q", err, watchers[0].last)
			}
			if err := watchers[1].waitEnd(t); websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Errorf("WebSocket: ended with %v", err)
			}
		})
	}
}

// TestStreamReloadRemovesApp: a reload that removes the stream's app ends
// the stream, and one that changes nothing of it keeps it.
func TestStreamReloadRemovesApp(t *testing.T) {
	m := newMain(t, testConfig())
	m.open(t)
	c := m.client(testKey)
	c.mustOK(t, "create_group", map[string]any{"Type": "AVChatRoom", "Name": "live", "GroupId": "live"})
	w := watchSSE(t, streamURL(m.URL(), "viewer", "live"))
	w.next(t)

	writeFile(t, m.ConfigPath, testConfig("rate_limit_per_app: 1000"))
	m.Reload()
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "live", "GroupCounter": []counter{{"k", 1}}})
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
func TestStreamSIGTERM(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig())
	s := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	c := newAPI(s.base, testAppID, testKey, testAdmin)
	c.mustOK(t, "create_group", map[string]any{"Type": "AVChatRoom", "Name": "live", "GroupId": "live"})
	sse := watchSSE(t, streamURL(s.base, "viewer", "live"))
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
// too.
func TestStreamOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, cert := makeCert(t, dir, "stream")
	m := newMain(t, "tls_cert: "+certFile+"\ntls_key: "+keyFile+"\n"+testConfig())
	m.open(t)
	c := m.client(testKey)
	c.hc = trusting(cert)
	c.mustOK(t, "create_group", map[string]any{"Type": "AVChatRoom", "Name": "live", "GroupId": "live"})
	hc := trusting(cert)
	hc.Timeout = 0
	url := streamURL(m.URL(), "viewer", "live")
	watchers := []*watcher{watchSSEWith(t, hc, url), watchWSWith(t, hc, url)}
	for _, w := range watchers {
		w.next(t)
	}
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "live", "GroupCounter": []counter{{"k", 7}}})
	for _, w := range watchers {
		if m := w.next(t); m.Seq != 1 || m.GroupCounter[0] != (counter{"k", 7}) {
			t.Fatalf("over TLS: %+v", m)
		}
	}
	resp, err := hc.Get(streamURL(m.URL(), "viewer", "nosuch"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"ErrorCode":10010`) {
		t.Fatalf("a refusal over TLS: %s", b)
	}
}
