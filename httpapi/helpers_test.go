package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/usersig"
)

// The apps every harness serves. appMain has no per-API limit so that
// tests can make as many calls as they need; the rate-limited apps are
// used only by the rate-limit tests.
const (
	appMain     uint32 = 1400000001 // ultimate, admins "admin" and "ops"
	appStandard uint32 = 1400000002 // standard edition: no group counters
	appDisabled uint32 = 1400000003
	appPerAPI   uint32 = 1400000004 // 5 calls per second per API
	appPerApp   uint32 = 1400000005 // 5 calls per second app-wide, per API unlimited
	appOther    uint32 = 1400000006 // a pro app, to show apps are separate
	appBoth     uint32 = 1400000007 // 5 calls per second per API and 4 app-wide
)

const groupSvc = "/v4/group_open_http_svc/"

var testApps = []tally.App{
	{SDKAppID: appMain, SecretKey: "main-secret-key", Admins: []string{"admin", "ops"}, Edition: tally.EditionUltimate},
	{SDKAppID: appStandard, SecretKey: "standard-secret-key", Admins: []string{"admin"}, Edition: tally.EditionStandard},
	{SDKAppID: appDisabled, SecretKey: "disabled-secret-key", Admins: []string{"admin"}, Edition: tally.EditionUltimate, Disabled: true},
	{SDKAppID: appPerAPI, SecretKey: "per-api-secret-key", Admins: []string{"admin"}, Edition: tally.EditionUltimate, RateLimitPerAPI: 5},
	{SDKAppID: appPerApp, SecretKey: "per-app-secret-key", Admins: []string{"admin"}, Edition: tally.EditionUltimate, RateLimitPerApp: 5},
	{SDKAppID: appOther, SecretKey: "other-secret-key", Admins: []string{"admin"}, Edition: tally.EditionPro},
	{SDKAppID: appBoth, SecretKey: "both-secret-key", Admins: []string{"admin"}, Edition: tally.EditionUltimate, RateLimitPerAPI: 5, RateLimitPerApp: 4},
}

func appKey(app uint32) string {
	for _, a := range testApps {
		if a.SDKAppID == app {
			return a.SecretKey
		}
	}
	return "no-such-app-key"
}

// harness is a real server on a loopback port over a real store in a
// temporary directory.
type harness struct {
	// url is the server's base URL, http://host:port, and ln its listener.
	url    string
	ln     net.Listener
	server *httpapi.Server
	store  *pebble.Store
	client *http.Client
	// shutdown stops the front gracefully, as cmd/tally does on SIGTERM.
	shutdown func(context.Context) error
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return startHarness(t, nil)
}

// newFrontHarness is newHarness on front f, as cmd/tally serves it.
func newFrontHarness(t testing.TB, f front) *harness {
	t.Helper()
	return startFrontHarness(t, f, httpapi.Limits{}, nil)
}

// front names an HTTP server the API can be served on. The tests of the
// wire and hostile-input promises run on each (forFronts).
type front string

const (
	netFront  front = "nethttp"
	fastFront front = "fasthttp"
)

var fronts = []front{netFront, fastFront}

// forFronts runs test once on each front, as a subtest named for it.
func forFronts(t *testing.T, test func(t *testing.T, f front)) {
	for _, f := range fronts {
		t.Run(string(f), func(t *testing.T) { test(t, f) })
	}
}

// startFrontHarness serves the API on front f as cmd/tally does, within
// lim; prep, if not nil, sets the server up before it serves.
func startFrontHarness(t testing.TB, f front, lim httpapi.Limits, prep func(server *httpapi.Server)) *harness {
	t.Helper()
	server, store := newTestServer(t)
	if prep != nil {
		prep(server)
	}
	url, ln, shutdown := serveFront(t, f, server, lim)
	t.Cleanup(func() {
		// Streams a test left open end first: a WebSocket's connection
		// is no longer the server's to close, and the hub must stop
		// reading before the store closes.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := server.CloseStreams(ctx); err != nil {
			t.Errorf("closing the streams: %v", err)
		}
	})
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &harness{url: url, ln: ln, server: server, store: store, client: &http.Client{Transport: tr}, shutdown: shutdown}
}

// serveFront serves server on front f within lim, on a loopback port,
// until the test ends, as cmd/tally serves it: on net/http, the server of
// NewHTTPServer on a WrapListener; on fasthttp, NewFastHTTPServer's. It
// returns the base URL, the listener and the front's graceful Shutdown.
func serveFront(t testing.TB, f front, server *httpapi.Server, lim httpapi.Limits) (string, net.Listener, func(context.Context) error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serve func() error
	var shutdown func(context.Context) error
	var closeAll func()
	switch f {
	case fastFront:
		srv := httpapi.NewFastHTTPServer(server, nil, lim)
		serve = func() error { return srv.Serve(ln) }
		shutdown = srv.Shutdown
		// fasthttp cannot close the connections of slow clients a test
		// left behind, which must not hold the test up: their own
		// timeouts close them.
		closeAll = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
			ln.Close()
		}
	default:
		srv := httpapi.NewHTTPServer(server, nil, lim)
		serve = func() error { return srv.Serve(httpapi.WrapListener(ln, lim)) }
		shutdown = srv.Shutdown
		closeAll = func() { srv.Close() }
	}
	served := make(chan error, 1)
	go func() { served <- serve() }()
	t.Cleanup(func() {
		closeAll()
		<-served
	})
	return "http://" + ln.Addr().String(), ln, shutdown
}

// newTestServer opens a store in a temporary directory, closed when the
// test ends, and makes a server of the test apps on it.
func newTestServer(t testing.TB) (*httpapi.Server, *pebble.Store) {
	t.Helper()
	store, err := pebble.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	for _, a := range testApps {
		if err := a.Validate(); err != nil {
			t.Fatalf("app %d: %v", a.SDKAppID, err)
		}
	}
	return httpapi.NewServer(store, testApps, nil), store
}

// startHarness opens the store and serves it on net/http; harden, if not
// nil, changes the unstarted httptest server first, as startFrontHarness
// does.
func startHarness(t testing.TB, harden func(srv *httptest.Server, server *httpapi.Server)) *harness {
	t.Helper()
	server, store := newTestServer(t)
	srv := httptest.NewUnstartedServer(server)
	if harden != nil {
		harden(srv, server)
	}
	srv.Start()
	t.Cleanup(func() {
		// Streams a test left open end first: a WebSocket's connection
		// is no longer the test server's to close, and the hub must stop
		// reading before the store closes.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := server.CloseStreams(ctx); err != nil {
			t.Errorf("closing the streams: %v", err)
		}
		// Slow clients a test left behind must not hold Close up.
		srv.CloseClientConnections()
		srv.Close()
	})
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	return &harness{url: srv.URL, ln: srv.Listener, server: server, store: store, client: client, shutdown: srv.Config.Shutdown}
}

// query returns the URL parameters of a well-formed call by identifier in
// app, with a fresh UserSig.
func query(app uint32, identifier string) url.Values {
	return url.Values{
		"sdkappid":    {fmt.Sprint(app)},
		"identifier":  {identifier},
		"usersig":     {usersig.Sign(app, appKey(app), identifier, 86400, time.Now())},
		"random":      {"99999999"},
		"contenttype": {"json"},
	}
}

// bodyBytes turns a test's body into bytes: a string or []byte is sent as
// it is, so that tables can say exactly what goes on the wire; anything
// else is marshalled.
func bodyBytes(t testing.TB, body any) []byte {
	switch b := body.(type) {
	case string:
		return []byte(b)
	case []byte:
		return b
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// commandPath turns a command name into its path; a path starting with /
// is used as it is.
func commandPath(path string) string {
	if strings.HasPrefix(path, "/") {
		return path
	}
	return groupSvc + path
}

// do sends one request and checks the envelope of its answer.
func (h *harness) do(t testing.TB, method, path, rawQuery string, body io.Reader) map[string]any {
	t.Helper()
	m, err := h.try(method, path, rawQuery, body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// try is do for goroutines other than the test's: it returns what is wrong
// instead of failing the test.
func (h *harness) try(method, path, rawQuery string, body io.Reader) (map[string]any, error) {
	req, err := http.NewRequest(method, h.url+commandPath(path)+"?"+rawQuery, body)
	if err != nil {
		return nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %v", method, path, err)
	}
	m, err := checkEnvelope(resp.StatusCode, resp.Header, b)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, path, err)
	}
	return m, nil
}

// call posts body to path with query and returns the answer, checked to be
// a well-formed envelope.
func (h *harness) call(t testing.TB, path string, q url.Values, body any) map[string]any {
	t.Helper()
	return h.do(t, http.MethodPost, path, q.Encode(), bytes.NewReader(bodyBytes(t, body)))
}

// api calls cmd of app as its admin.
func (h *harness) api(t testing.TB, app uint32, cmd string, body any) map[string]any {
	t.Helper()
	return h.call(t, cmd, query(app, "admin"), body)
}

// checkEnvelope checks what every answer must be: HTTP 200, JSON content
// type, one JSON object whose ActionStatus, ErrorCode and ErrorInfo agree.
// Numbers are decoded as json.Number so that int64 values stay exact.
func checkEnvelope(status int, header http.Header, body []byte) (map[string]any, error) {
	if status != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %d, want 200; body %.200q", status, body)
	}
	if ct := header.Values("Content-Type"); len(ct) != 1 || ct[0] != "application/json; charset=utf-8" {
		return nil, fmt.Errorf("Content-Type %q, want application/json; charset=utf-8", ct)
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("the answer is not valid UTF-8: %.200q", body)
	}
	if err := checkNoDuplicateKeys(body); err != nil {
		return nil, fmt.Errorf("%v in %.300q", err, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("the answer is not a JSON object (%v): %.300q", err, body)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("the answer has more after its object: %.300q", body)
	}
	status2, ok := m["ActionStatus"].(string)
	if !ok {
		return nil, fmt.Errorf("ActionStatus is %#v, not a string: %.300q", m["ActionStatus"], body)
	}
	n, ok := m["ErrorCode"].(json.Number)
	if !ok {
		return nil, fmt.Errorf("ErrorCode is %#v, not a number: %.300q", m["ErrorCode"], body)
	}
	code, err := n.Int64()
	if err != nil {
		return nil, fmt.Errorf("ErrorCode %s is not an integer", n)
	}
	info, ok := m["ErrorInfo"].(string)
	if !ok {
		return nil, fmt.Errorf("ErrorInfo is %#v, not a string: %.300q", m["ErrorInfo"], body)
	}
	switch {
	case status2 == "OK" && (code != 0 || info != ""):
		return nil, fmt.Errorf("OK with ErrorCode %d and ErrorInfo %q", code, info)
	case status2 == "FAIL" && code == 0:
		return nil, fmt.Errorf("FAIL with ErrorCode 0: %.300q", body)
	case status2 == "FAIL" && info == "":
		return nil, fmt.Errorf("FAIL %d with an empty ErrorInfo", code)
	case status2 == "FAIL" && len(m) != 3:
		return nil, fmt.Errorf("a failure carries fields beyond the envelope: %.300q", body)
	case status2 != "OK" && status2 != "FAIL":
		return nil, fmt.Errorf("ActionStatus %q is neither OK nor FAIL", status2)
	}
	return m, nil
}

// checkNoDuplicateKeys reports a JSON object anywhere in body that names a
// field twice, which encoding/json would silently collapse.
func checkNoDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					return fmt.Errorf("field %q appears twice", key)
				}
				seen[key] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	err := walk()
	if errors.Is(err, io.EOF) {
		return nil // checkEnvelope reports a truncated answer
	}
	if _, ok := err.(*json.SyntaxError); ok {
		return nil // and invalid JSON
	}
	return err
}

// code returns the answer's ErrorCode.
func code(m map[string]any) int64 {
	n, _ := m["ErrorCode"].(json.Number).Int64()
	return n
}

func wantCode(t testing.TB, m map[string]any, want tally.Code) {
	t.Helper()
	if got := code(m); got != int64(want) {
		t.Fatalf("ErrorCode %d (%v), want %d; answer %v", got, m["ErrorInfo"], int64(want), m)
	}
}

func wantOK(t testing.TB, m map[string]any) {
	t.Helper()
	wantCode(t, m, tally.OK)
}

// num reads a JSON integer of an answer.
func num(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%#v is not a JSON number", v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%s is not an int64: %v", n, err)
	}
	return i
}

// wantFields checks that the JSON object m has exactly the named fields.
func wantFields(t testing.TB, m map[string]any, names ...string) {
	t.Helper()
	if len(m) != len(names) {
		t.Fatalf("fields of %v: got %d, want exactly %v", m, len(m), names)
	}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			t.Fatalf("field %q missing from %v", n, m)
		}
	}
}

// counter is one entry of an answer's GroupCounter.
type counter struct {
	Key   string
	Value int64
}

// counters reads GroupCounter of a successful answer; every entry must be
// exactly {"Key":..,"Value":..}.
func counters(t testing.TB, m map[string]any) []counter {
	t.Helper()
	list, ok := m["GroupCounter"].([]any)
	if !ok {
		t.Fatalf("GroupCounter is %#v, not an array", m["GroupCounter"])
	}
	out := make([]counter, len(list))
	for i, e := range list {
		o, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("GroupCounter[%d] is %#v, not an object", i, e)
		}
		wantFields(t, o, "Key", "Value")
		k, ok := o["Key"].(string)
		if !ok {
			t.Fatalf("GroupCounter[%d].Key is %#v", i, o["Key"])
		}
		out[i] = counter{k, num(t, o["Value"])}
	}
	return out
}

func wantCounters(t testing.TB, got []counter, want ...counter) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("counters %v, want %v", got, want)
	}
}

// createGroup creates a group of typ in app, with the custom id when it is
// not empty, and returns its id.
func (h *harness) createGroup(t testing.TB, app uint32, typ, id string) string {
	t.Helper()
	body := map[string]any{"Type": typ, "Name": "group " + id}
	if id != "" {
		body["GroupId"] = id
	}
	m := h.api(t, app, "create_group", body)
	wantOK(t, m)
	got, _ := m["GroupId"].(string)
	if id != "" && got != id {
		t.Fatalf("create_group %q answered GroupId %q", id, got)
	}
	return got
}

// getCounters reads all of a group's counters.
func (h *harness) getCounters(t testing.TB, app uint32, id string) []counter {
	t.Helper()
	m := h.api(t, app, "get_group_counter", map[string]any{"GroupId": id})
	wantOK(t, m)
	return counters(t, m)
}

// setCounters sets counters of a group and checks that the call succeeds.
func (h *harness) setCounters(t testing.TB, app uint32, id string, cs ...counter) {
	t.Helper()
	items := make([]map[string]any, len(cs))
	for i, c := range cs {
		items[i] = map[string]any{"Key": c.Key, "Value": c.Value}
	}
	wantOK(t, h.api(t, app, "update_group_counter", map[string]any{"GroupId": id, "GroupCounter": items, "Mode": "Set"}))
}

// apiCase is one row of a per-API table: a body, the code it must get and,
// for some, a check of the answer.
type apiCase struct {
	name  string
	app   uint32 // appMain when 0
	body  string
	want  tally.Code
	info  string // a failure's ErrorInfo must contain it: the field or value at fault
	check func(t *testing.T, m map[string]any)
}

func (h *harness) runTable(t *testing.T, cmd string, cases []apiCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := c.app
			if app == 0 {
				app = appMain
			}
			m := h.api(t, app, cmd, c.body)
			wantCode(t, m, c.want)
			if info, _ := m["ErrorInfo"].(string); !strings.Contains(info, c.info) {
				t.Errorf("ErrorInfo %q does not name %q", info, c.info)
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}
