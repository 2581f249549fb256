package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/usersig"
)

// logBuffer collects log output; the server writes it from its handlers'
// goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// take returns what was logged since the last take.
func (l *logBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

// logFormats are the two handlers cmd/tally may give the server, each with
// a parser of its lines into their attributes.
var logFormats = []struct {
	name   string
	new    func(io.Writer) slog.Handler
	decode func(t *testing.T, line string) map[string]string
}{
	{"text", func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }, decodeTextLine},
	{"json", func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }, decodeJSONLine},
}

func decodeJSONLine(t *testing.T, line string) map[string]string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("log line %q is not JSON: %v", line, err)
	}
	out := map[string]string{}
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

var textAttr = regexp.MustCompile(`([^ =]+)=("(?:[^"\\]|\\.)*"|[^ ]*)`)

func decodeTextLine(t *testing.T, line string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range textAttr.FindAllStringSubmatch(line, -1) {
		v := m[2]
		if strings.HasPrefix(v, `"`) {
			var err error
			if v, err = strconv.Unquote(v); err != nil {
				t.Fatalf("log line %q: value %s: %v", line, m[2], err)
			}
		}
		out[m[1]] = v
	}
	return out
}

// loggedServer is a server of startLogged: its base URL and a client.
type loggedServer struct {
	url    string
	client *http.Client
}

// startLogged serves store on front fr with a logger in format h, on a
// loopback port.
func startLogged(t *testing.T, fr front, store tally.Store, h slog.Handler) *loggedServer {
	t.Helper()
	url, _, _ := serveFront(t, fr, httpapi.NewServer(store, testApps, slog.New(h)), httpapi.Limits{})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &loggedServer{url: url, client: &http.Client{Transport: tr}}
}

// post sends one call and returns its answer's ErrorCode and X-Request-Id.
func post(t *testing.T, srv *loggedServer, path string, q url.Values, body, requestID string) (tally.Code, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.url+commandPath(path)+"?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if requestID != "" {
		req.Header.Set("X-Request-Id", requestID)
	}
	resp, err := srv.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m, err := checkEnvelope(resp.StatusCode, resp.Header, b)
	if err != nil {
		t.Fatal(err)
	}
	return tally.Code(code(m)), resp.Header.Get("X-Request-Id")
}

// TestFailureLog sends failing and succeeding calls, including UserSigs
// that are bad, expired, for another identifier and made with the wrong
// key, and checks for each log format that each failed call logs exactly
// one line with every attribute, that a success logs nothing, and that no
// line holds a UserSig or a secret key.
func TestFailureLog(t *testing.T) { forFronts(t, testFailureLog) }

func testFailureLog(t *testing.T, fr front) {
	const wrongKey = "not-the-main-secret-key"
	long := time.Now().Add(-48 * time.Hour)
	sigWith := func(key, identifier string, expire int64, at time.Time) url.Values {
		q := query(appMain, "admin")
		q.Set("usersig", usersig.Sign(appMain, key, identifier, expire, at))
		return q
	}
	cases := []struct {
		name    string
		path    string
		q       url.Values
		body    string
		want    tally.Code
		command string
	}{
		{"wrong key", "update_group_counter", sigWith(wrongKey, "admin", 86400, time.Now()), `{}`, tally.ErrUserSigBadHMAC, "update_group_counter"},
		{"expired", "get_group_counter", sigWith(appKey(appMain), "admin", 60, long), `{}`, tally.ErrUserSigExpired, "get_group_counter"},
		{"other identifier", "get_group_counter", func() url.Values {
			q := sigWith(appKey(appMain), "ops", 86400, time.Now())
			q.Set("identifier", "admin")
			return q
		}(), `{}`, tally.ErrUserSigIdentifier, "get_group_counter"},
		{"malformed", "create_group", func() url.Values {
			q := query(appMain, "admin")
			q.Set("usersig", "eJyrVkrOzSxRslIyVNJRyk3MS1WyUkpJLVJSqgUAWzkHhQ__")
			return q
		}(), `{}`, tally.ErrUserSigMalformed, "create_group"},
		{"missing group", "get_group_counter", query(appMain, "admin"), `{"GroupId":"nope"}`, tally.ErrGroupNotFound, "get_group_counter"},
		{"unknown command", "no_such_thing", query(appMain, "admin"), `{}`, tally.ErrUnknownCommand, "unknown"},
		{"bad query", "get_group_counter", func() url.Values {
			q := query(appMain, "admin")
			q.Set("random", "x")
			return q
		}(), `{}`, tally.ErrBadHTTPRequest, "get_group_counter"},
		{"ok", "get_appid_group_list", query(appMain, "admin"), `{}`, tally.OK, ""},
	}
	for _, f := range logFormats {
		t.Run(f.name, func(t *testing.T) {
			store, err := pebble.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			var logs logBuffer
			srv := startLogged(t, fr, store, f.new(&logs))
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					got, id := post(t, srv, c.path, c.q, c.body, "")
					if got != c.want {
						t.Fatalf("ErrorCode %d, want %d", got, c.want)
					}
					out := logs.take()
					for _, secret := range []string{c.q.Get("usersig"), url.QueryEscape(c.q.Get("usersig")), wrongKey, appKey(appMain)} {
						if strings.Contains(out, secret) {
							t.Errorf("the log holds %q:\n%s", secret, out)
						}
					}
					lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
					if c.want == tally.OK {
						if out != "" {
							t.Errorf("a success logged:\n%s", out)
						}
						return
					}
					if len(lines) != 1 || lines[0] == "" {
						t.Fatalf("logged %d lines, want 1:\n%s", len(lines), out)
					}
					a := f.decode(t, lines[0])
					for k, want := range map[string]string{
						"level":      "INFO",
						"msg":        "request failed",
						"command":    c.command,
						"sdkappid":   fmt.Sprint(appMain),
						"identifier": "admin",
						"code":       fmt.Sprint(int(c.want)),
						"request_id": id,
					} {
						if a[k] != want {
							t.Errorf("%s = %q, want %q; line %s", k, a[k], want, lines[0])
						}
					}
					if id == "" {
						t.Error("the answer has no X-Request-Id")
					}
					if a["error"] == "" {
						t.Errorf("the line has no error: %s", lines[0])
					}
				})
			}
		})
	}
}

// failingStore fails every counter update with an error that is not a
// tally.Error: an internal error.
type failingStore struct{ tally.Store }

func (failingStore) UpdateCounters(context.Context, uint32, string, tally.Mode, []tally.Counter) ([]tally.Counter, error) {
	return nil, errors.New("the disk is on fire")
}

// TestFailureLogInternal shows that an internal error logs one line, at
// Error level, with its cause, which the client is not told.
func TestFailureLogInternal(t *testing.T) { forFronts(t, testFailureLogInternal) }

func testFailureLogInternal(t *testing.T, fr front) {
	for _, f := range logFormats {
		t.Run(f.name, func(t *testing.T) {
			var logs logBuffer
			srv := startLogged(t, fr, failingStore{}, f.new(&logs))
			got, id := post(t, srv, "update_group_counter", query(appMain, "admin"),
				`{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"k","Value":1}]}`, "client-id-42")
			if got != tally.ErrInternal {
				t.Fatalf("ErrorCode %d, want %d", got, tally.ErrInternal)
			}
			if id != "client-id-42" {
				t.Errorf("X-Request-Id %q, want the client's own", id)
			}
			out := logs.take()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want 1:\n%s", len(lines), out)
			}
			a := f.decode(t, lines[0])
			if a["level"] != "ERROR" || a["code"] != "10002" || a["request_id"] != "client-id-42" ||
				!strings.Contains(a["error"], "the disk is on fire") {
				t.Errorf("line %s: want level ERROR, code 10002, the client's request id and the cause", lines[0])
			}
		})
	}
}

// TestRequestID shows that every answer, successful or not, carries a
// request id, that ids are distinct, and that a client's own id is used
// only when it is short printable ASCII.
func TestRequestID(t *testing.T) { forFronts(t, testRequestID) }

func testRequestID(t *testing.T, fr front) {
	store, err := pebble.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv := startLogged(t, fr, store, slog.DiscardHandler)
	seen := map[string]bool{}
	for i := range 20 {
		path := "get_appid_group_list"
		if i%2 == 1 {
			path = "no_such_thing"
		}
		_, id := post(t, srv, path, query(appMain, "admin"), `{}`, "")
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
			t.Fatalf("request id %q, want 16 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("request id %q given twice", id)
		}
		seen[id] = true
	}
	for _, tc := range []struct {
		sent string
		kept bool
	}{
		{"abc-123", true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("x", 65), false},
		{"has space", false},
		{"tab\there", false},
		{"ünïcode", false},
	} {
		_, id := post(t, srv, "get_appid_group_list", query(appMain, "admin"), `{}`, tc.sent)
		if kept := id == tc.sent; kept != tc.kept {
			t.Errorf("client id %q: answered %q; want kept %v", tc.sent, id, tc.kept)
		}
		if id == "" {
			t.Errorf("client id %q: no id answered", tc.sent)
		}
	}
}
