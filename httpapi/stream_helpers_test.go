package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/usersig"
)

// newStreamHarness is a harness on front f whose server's streams have
// limits sl, within lim.
func newStreamHarness(t testing.TB, f front, lim httpapi.Limits, sl httpapi.StreamLimits) *harness {
	t.Helper()
	return startFrontHarness(t, f, lim, func(server *httpapi.Server) { server.Streams = sl })
}

// streamMsg is one message of a stream, decoded strictly: a field the
// protocol does not have fails the test.
type streamMsg struct {
	GroupId      string
	Seq          uint64
	GroupCounter []counter
	Deleted      []string
	Destroyed    bool

	raw string
}

func decodeStreamMsg(b []byte) (streamMsg, error) {
	var m streamMsg
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return m, fmt.Errorf("message %s: %v", b, err)
	}
	m.raw = string(b)
	return m, nil
}

// streamURL is the URL of a stream of ids, by identifier of app with a
// fresh UserSig.
func (h *harness) streamURL(app uint32, identifier string, ids ...string) string {
	q := query(app, identifier)
	for _, id := range ids {
		q.Add("GroupId", id)
	}
	return h.url + httpapi.StreamPath + "?" + q.Encode()
}

// client is a stream's client, of either transport: a goroutine reads the
// stream and hands over what it reads.
type client struct {
	msgs chan streamMsg
	// comments are the SSE comments read, heartbeats included.
	comments chan string
	// ended receives why the stream ended: io.EOF for an SSE stream the
	// server ended, a websocket.CloseError for a WebSocket it closed.
	ended  chan error
	cancel context.CancelFunc
}

func newClient(cancel context.CancelFunc) *client {
	return &client{
		msgs:     make(chan streamMsg, 1<<16),
		comments: make(chan string, 1<<10),
		ended:    make(chan error, 1),
		cancel:   cancel,
	}
}

// openSSE opens an SSE stream, or returns the envelope of its refusal.
func (h *harness) openSSE(t testing.TB, url string) (*client, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := h.client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		defer cancel()
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		m, err := checkEnvelope(resp.StatusCode, resp.Header, b)
		if err != nil {
			t.Fatal(err)
		}
		return nil, m
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("an SSE stream with HTTP status %d", resp.StatusCode)
	}
	c := newClient(cancel)
	t.Cleanup(c.close)
	go c.readSSE(resp.Body)
	return c, nil
}

// readSSE parses frames: data lines make a message, comment lines are
// handed over as they are.
func (c *client) readSSE(body io.ReadCloser) {
	defer body.Close()
	r := bufio.NewReader(body)
	var data []byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if line != "" {
				err = fmt.Errorf("the stream ended within a line %q: %v", line, err)
			}
			c.ended <- err
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if data != nil {
				m, err := decodeStreamMsg(data)
				if err != nil {
					c.ended <- err
					return
				}
				c.msgs <- m
				data = nil
			}
		case strings.HasPrefix(line, ":"):
			select {
			case c.comments <- strings.TrimPrefix(line, ": "):
			default:
			}
		case strings.HasPrefix(line, "data: "):
			if data != nil {
				c.ended <- fmt.Errorf("two data lines in a frame: %q", line)
				return
			}
			data = []byte(strings.TrimPrefix(line, "data: "))
		default:
			c.ended <- fmt.Errorf("a line that is neither data nor a comment: %q", line)
			return
		}
	}
}

// openWS opens a WebSocket stream, or returns the envelope of its
// refusal.
func (h *harness) openWS(t testing.TB, url string) (*client, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dialCtx, dialCancel := context.WithTimeout(ctx, 10*time.Second)
	defer dialCancel()
	ws, resp, err := websocket.Dial(dialCtx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{HTTPClient: h.client})
	if err != nil {
		defer cancel()
		if resp == nil {
			t.Fatalf("dialing the WebSocket: %v", err)
		}
		b, rerr := io.ReadAll(resp.Body)
		if rerr != nil {
			t.Fatalf("dialing the WebSocket: %v; reading the refusal: %v", err, rerr)
		}
		m, err := checkEnvelope(resp.StatusCode, resp.Header, b)
		if err != nil {
			t.Fatal(err)
		}
		return nil, m
	}
	c := newClient(func() {
		cancel()
		ws.CloseNow()
	})
	t.Cleanup(c.close)
	go func() {
		for {
			typ, b, err := ws.Read(ctx)
			if err != nil {
				c.ended <- err
				return
			}
			if typ != websocket.MessageText {
				c.ended <- fmt.Errorf("a %v frame", typ)
				return
			}
			m, err := decodeStreamMsg(b)
			if err != nil {
				c.ended <- err
				return
			}
			c.msgs <- m
		}
	}()
	return c, nil
}

func (c *client) close() { c.cancel() }

// next returns the stream's next message, failing the test if none comes
// within 10s or the stream ends.
func (c *client) next(t testing.TB) streamMsg {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case err := <-c.ended:
		t.Fatalf("the stream ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	panic("unreachable")
}

// end waits for the stream to end, after the messages left, which it
// returns.
func (c *client) end(t testing.TB) ([]streamMsg, error) {
	t.Helper()
	var msgs []streamMsg
	for {
		select {
		case m := <-c.msgs:
			msgs = append(msgs, m)
		case err := <-c.ended:
			for {
				select {
				case m := <-c.msgs:
					msgs = append(msgs, m)
				default:
					return msgs, err
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the stream did not end within 10s")
		}
	}
}

// wantCleanEnd checks that a stream ended as the server ends one: EOF for
// SSE, a close with status for a WebSocket.
func wantCleanEnd(t testing.TB, err error, status websocket.StatusCode) {
	t.Helper()
	if errors.Is(err, io.EOF) {
		return
	}
	if got := websocket.CloseStatus(err); got != status {
		t.Fatalf("the stream ended with %v, want EOF or WebSocket status %v", err, status)
	}
}

// transports opens a stream over either transport, for tests that run on
// both.
var transports = []struct {
	name string
	open func(h *harness, t testing.TB, url string) (*client, map[string]any)
}{
	{"SSE", (*harness).openSSE},
	{"WebSocket", (*harness).openWS},
}

// addMembers adds accounts to a group.
func (h *harness) addMembers(t testing.TB, app uint32, id string, accounts ...string) {
	t.Helper()
	list := make([]map[string]any, len(accounts))
	for i, a := range accounts {
		list[i] = map[string]any{"Member_Account": a}
	}
	wantOK(t, h.api(t, app, "add_group_member", map[string]any{"GroupId": id, "MemberList": list}))
}

func (h *harness) increase(t testing.TB, app uint32, id string, cs ...counter) {
	t.Helper()
	items := make([]map[string]any, len(cs))
	for i, c := range cs {
		items[i] = map[string]any{"Key": c.Key, "Value": c.Value}
	}
	wantOK(t, h.api(t, app, "update_group_counter", map[string]any{"GroupId": id, "GroupCounter": items, "Mode": "Increase"}))
}

// signWith returns a UserSig of identifier in app, made with key.
func signWith(app uint32, key, identifier string) string {
	return usersig.Sign(app, key, identifier, 86400, time.Now())
}
