package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/callback"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/usersig"
)

// The golden tests pin every answer of the API byte for byte. Each file
// under testdata/golden runs against a fresh store and a real server on a
// loopback port, and holds requests with the whole answer each must get, so
// that any change to what goes on the wire shows up in review as a diff of
// these files. Run with -update to rewrite them from what the server
// answers now.
//
// Directives (arguments in brackets are optional):
//
//	call [cmd=NAME | path=/raw/path] [app=NAME] [id=IDENTIFIER] [sig=KIND]
//	     [query=RAW] [method=METHOD] [size=BYTES]
//	    The input is the body; the output is the answer. size pads the
//	    body with spaces to that many bytes.
//	each-command [app=…] [id=…] [sig=…] [query=…] [method=…]
//	    Sends the input to every command and gives one "command: answer"
//	    line each, for the checks that come before a command's own.
//	raw
//	    The input's lines, ended by CRLF and a blank line, are sent as a
//	    request head on a connection of its own; the output is the answer.
//	close-store
//	    Closes the store, so that later calls meet an internal error.
//	advance seconds=N
//	    Moves the server's clock N seconds on, for the times that writes
//	    record (CreateTime, JoinTime, LastInfoTime).
//
// app is one of goldenApps' names (default main), or a number; id is the
// identifier (default admin). sig is the UserSig: valid (default) made at
// goldenSignTime, or expired, malformed, bad-hmac, other-id (made for
// another identifier) or other-app (made for another sdkappid). query
// replaces the whole URL query; $sig in it stands for a valid sig.
//
// The server's clock starts at goldenNow in every file, so the times an
// answer holds are the same in every run. One thing varies, and is masked
// after it is checked: a generated GroupId, which must have the generated
// form and reads <generated:N> for the Nth of the file. An input may name
// one so.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden from the answers the server gives now")

// goldenCommands are the commands each-command sends to, in the order of
// the protocol's pages.
var goldenCommands = []string{
	"create_group", "destroy_group", "get_group_info", "get_appid_group_list",
	"modify_group_base_info", "add_group_member", "delete_group_member",
	"get_group_member_info", "get_joined_group_list", "get_role_in_group",
	"update_group_counter", "get_group_counter", "delete_group_counter",
}

// goldenApps are the apps of the golden server. The rate-limited ones allow
// one call a second, so that a second call made at once is refused however
// slow the machine.
var goldenApps = map[string]tally.App{
	"main":     {SDKAppID: 1400000001, SecretKey: "main-secret-key", Admins: []string{"admin", "ops"}, Edition: tally.EditionUltimate},
	"standard": {SDKAppID: 1400000002, SecretKey: "standard-secret-key", Admins: []string{"admin"}, Edition: tally.EditionStandard},
	"disabled": {SDKAppID: 1400000003, SecretKey: "disabled-secret-key", Admins: []string{"admin"}, Edition: tally.EditionUltimate, Disabled: true},
	"per-api":  {SDKAppID: 1400000004, SecretKey: "per-api-secret-key", Admins: []string{"admin"}, Edition: tally.EditionUltimate, RateLimitPerAPI: 1},
	"per-app":  {SDKAppID: 1400000005, SecretKey: "per-app-secret-key", Admins: []string{"admin"}, Edition: tally.EditionUltimate, RateLimitPerApp: 1},
	// callback asks goldenReceiver before each create_group; its URL is
	// set when the receiver listens.
	"callback": {SDKAppID: 1400000006, SecretKey: "callback-secret-key", Admins: []string{"admin"}, Edition: tally.EditionUltimate,
		Callback: tally.Callback{BeforeCreateGroup: true}},
}

// goldenReceiver is the back end of the callback app: a real handler on a
// loopback port that answers Group.CallbackBeforeCreateGroup as the
// group's Name asks, so that the golden files pin what a caller gets for
// each answer a back end may give.
func goldenReceiver(t *testing.T) string {
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Name string }
		json.NewDecoder(r.Body).Decode(&body)
		switch body.Name {
		case "refuse":
			io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":""}`)
		case "refuse-saying-why":
			io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":"no more groups today"}`)
		case "refuse-10150":
			io.WriteString(w, `{"ActionStatus":"FAIL","ErrorCode":10150,"ErrorInfo":"banned word in the name"}`)
		case "fail":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
		}
	}))
	t.Cleanup(rc.Close)
	return rc.URL
}

// The server's clock for UserSigs is fixed, so that a sig and what an
// answer says of its times are the same in every run.
var (
	goldenSignTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	goldenNow      = goldenSignTime.Add(time.Hour)
)

func TestGolden(t *testing.T) {
	if *update {
		// datadriven rewrites the files under its own flag.
		if err := flag.Set("rewrite", "true"); err != nil {
			t.Fatal(err)
		}
	}
	// The answers are the same, byte for byte, on either front. Only the
	// net/http front rewrites the files, so that fasthttp is held to them.
	forFronts(t, func(t *testing.T, f front) {
		if *update && f != netFront {
			t.Skip("-update rewrites the files on net/http only")
		}
		datadriven.Walk(t, "testdata/golden", func(t *testing.T, path string) {
			g := newGolden(t, f)
			datadriven.RunTest(t, path, g.run)
		})
	})
}

// golden is the server of one golden file.
type golden struct {
	url    string
	store  *pebble.Store
	closed bool
	client *http.Client
	// clock is how far the server's clock is past goldenNow.
	clock atomic.Int64
	// generated are the generated GroupIds seen so far, in order.
	generated []string
}

func newGolden(t *testing.T, f front) *golden {
	store, err := pebble.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	apps := make([]tally.App, 0, len(goldenApps))
	for _, a := range goldenApps {
		if a.Callback.BeforeCreateGroup {
			a.Callback.URL = goldenReceiver(t)
		}
		apps = append(apps, a)
	}
	server := httpapi.NewServer(store, apps, nil)
	asker := callback.NewClient("golden")
	server.BeforeCreateGroup = func(ctx context.Context, app *tally.App, q *callback.BeforeCreateGroup) error {
		refused, _ := asker.BeforeCreateGroup(ctx, app, q)
		return refused
	}
	g := &golden{store: store, client: &http.Client{Timeout: time.Minute}}
	server.Now = func() time.Time { return goldenNow.Add(time.Duration(g.clock.Load()) * time.Second) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var closeFront func()
	if f == fastFront {
		srv := httpapi.NewFastHTTPServer(server, nil, httpapi.Limits{})
		go srv.Serve(ln)
		closeFront = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		}
	} else {
		srv := httpapi.NewHTTPServer(server, nil, httpapi.Limits{})
		go srv.Serve(httpapi.WrapListener(ln, httpapi.Limits{}))
		closeFront = func() { srv.Close() }
	}
	g.url = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		closeFront()
		if !g.closed {
			if err := store.Close(); err != nil {
				t.Errorf("closing the store: %v", err)
			}
		}
	})
	return g
}

func (g *golden) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "call":
		path := groupSvc + argOr(d, "cmd", "")
		if d.HasArg("path") {
			path = argOr(d, "path", "")
		}
		body := g.expand(d.Input)
		if d.HasArg("size") {
			var n int
			d.ScanArgs(t, "size", &n)
			body += strings.Repeat(" ", n-len(body))
		}
		answer := g.call(t, d, path, body)
		if argOr(d, "cmd", "") == "create_group" {
			g.learnGenerated(t, body, answer)
		}
		return g.mask(t, answer)
	case "each-command":
		var out strings.Builder
		for _, cmd := range goldenCommands {
			fmt.Fprintf(&out, "%s: %s\n", cmd, g.mask(t, g.call(t, d, groupSvc+cmd, g.expand(d.Input))))
		}
		return out.String()
	case "raw":
		return g.mask(t, g.raw(t, strings.ReplaceAll(d.Input, "\n", "\r\n")+"\r\n\r\n"))
	case "close-store":
		g.closed = true
		if err := g.store.Close(); err != nil {
			t.Fatal(err)
		}
		return ""
	case "advance":
		var n int64
		d.ScanArgs(t, "seconds", &n)
		g.clock.Add(n)
		return ""
	}
	d.Fatalf(t, "unknown directive %s", d.Cmd)
	return ""
}

// argOr returns the value of the directive's argument key, or def.
func argOr(d *datadriven.TestData, key, def string) string {
	if a, ok := d.Arg(key); ok && len(a.Vals) > 0 {
		return a.Vals[0]
	}
	return def
}

// call sends one request as the directive's arguments describe it and
// returns the answer's body, which must be a well-formed envelope.
func (g *golden) call(t *testing.T, d *datadriven.TestData, path, body string) string {
	t.Helper()
	app := goldenApp(t, argOr(d, "app", "main"))
	id := argOr(d, "id", "admin")
	sig := goldenSig(t, app, id, argOr(d, "sig", "valid"))
	rawQuery := url.Values{
		"sdkappid":    {strconv.FormatUint(uint64(app.SDKAppID), 10)},
		"identifier":  {id},
		"usersig":     {sig},
		"random":      {"12345678"},
		"contenttype": {"json"},
	}.Encode()
	if d.HasArg("query") {
		rawQuery = strings.ReplaceAll(argOr(d, "query", ""), "$sig", url.QueryEscape(sig))
	}
	req, err := http.NewRequest(argOr(d, "method", http.MethodPost), g.url+path+"?"+rawQuery, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return readAnswer(t, resp)
}

// raw sends head on a connection of its own and returns the answer's body.
func (g *golden) raw(t *testing.T, head string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return readAnswer(t, resp)
}

func readAnswer(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkEnvelope(resp.StatusCode, resp.Header, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goldenApp returns the app a directive names: one of goldenApps, or an
// app of that number that the server does not have.
func goldenApp(t *testing.T, name string) tally.App {
	if a, ok := goldenApps[name]; ok {
		return a
	}
	n, err := strconv.ParseUint(name, 10, 32)
	if err != nil {
		t.Fatalf("app %q is neither a golden app nor a number", name)
	}
	return tally.App{SDKAppID: uint32(n), SecretKey: "unknown-app-key"}
}

// goldenSig returns a UserSig of the kind named for identifier id of app.
func goldenSig(t *testing.T, app tally.App, id, kind string) string {
	const year = 365 * 24 * 3600
	switch kind {
	case "valid":
		return usersig.Sign(app.SDKAppID, app.SecretKey, id, year, goldenSignTime)
	case "expired":
		return usersig.Sign(app.SDKAppID, app.SecretKey, id, 60, goldenSignTime)
	case "malformed":
		return "not-a-usersig"
	case "bad-hmac":
		return usersig.Sign(app.SDKAppID, app.SecretKey+"x", id, year, goldenSignTime)
	case "other-id":
		return usersig.Sign(app.SDKAppID, app.SecretKey, id+"-other", year, goldenSignTime)
	case "other-app":
		return usersig.Sign(app.SDKAppID+1, app.SecretKey, id, year, goldenSignTime)
	}
	t.Fatalf("unknown sig kind %q", kind)
	return ""
}

var (
	generatedID = regexp.MustCompile(`^@TGS#[123a_][A-Z0-9]{9}$`)
	answerID    = regexp.MustCompile(`"GroupId":"([^"]*)"`)
)

// learnGenerated records the GroupId of a create_group answer when the
// request did not choose it.
func (g *golden) learnGenerated(t *testing.T, body, answer string) {
	m := answerID.FindStringSubmatch(answer)
	if m == nil || strings.Contains(body, m[0]) {
		return
	}
	if !generatedID.MatchString(m[1]) {
		t.Fatalf("generated GroupId %q does not have the form @TGS#, a type character and 9 of A-Z0-9", m[1])
	}
	g.generated = append(g.generated, m[1])
}

// expand replaces <generated:N> in an input by the Nth generated GroupId.
func (g *golden) expand(s string) string {
	for i, id := range g.generated {
		s = strings.ReplaceAll(s, fmt.Sprintf("<generated:%d>", i+1), id)
	}
	return s
}

// mask replaces the generated GroupIds, which vary between runs, by
// placeholders.
func (g *golden) mask(t *testing.T, answer string) string {
	for i, id := range g.generated {
		answer = strings.ReplaceAll(answer, id, fmt.Sprintf("<generated:%d>", i+1))
	}
	return answer
}
