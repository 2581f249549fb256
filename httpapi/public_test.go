package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/usersig"
)

// TestPublicCodes covers the gateway's codes, one request each. Every case
// starts from a well-formed call of get_appid_group_list by the main app's
// admin and breaks one thing, or two to show which check comes first: the
// URL, then authentication, then the command, the rate limit and only then
// the body.
func TestPublicCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	now := time.Now()
	sig := func(app uint32, key, identifier string, expire int64, at time.Time) func(q url.Values) {
		return func(q url.Values) { q.Set("usersig", usersig.Sign(app, key, identifier, expire, at)) }
	}
	set := func(name, value string) func(q url.Values) { return func(q url.Values) { q.Set(name, value) } }
	del := func(name string) func(q url.Values) { return func(q url.Values) { q.Del(name) } }
	rename := func(from, to string) func(q url.Values) {
		return func(q url.Values) { q[to] = q[from]; delete(q, from) }
	}
	badKey := sig(appMain, "wrong-key", "admin", 3600, now)

	const mib = httpapi.MaxBodyBytes
	// padded is a valid body of exactly n bytes: an object padded with
	// whitespace inside.
	padded := func(n int) []byte {
		b := append([]byte(`{"Limit":1`), bytes.Repeat([]byte(" \n\t\r"), n/4)...)
		return append(b[:n-1], '}')
	}
	deep := `{"a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`

	cases := []struct {
		name    string
		method  string // POST when empty
		path    string // get_appid_group_list when empty
		app     uint32 // appMain when 0
		id      string // admin when empty
		mods    []func(url.Values)
		raw     string // a raw query suffix appended after the encoded one
		body    []byte // {} when nil
		chunked bool   // send the body without a Content-Length
		want    tally.Code
	}{
		{name: "well formed"},
		{name: "second admin", id: "ops"},
		{name: "random 0", mods: []func(url.Values){set("random", "0")}},
		{name: "random max", mods: []func(url.Values){set("random", "4294967295")}},
		{name: "random and contenttype absent", mods: []func(url.Values){del("random"), del("contenttype")}},
		{name: "unknown parameter", raw: "&Extra=1"},
		{name: "body exactly 1 MiB", body: padded(mib)},
		{name: "body exactly 1 MiB chunked", body: padded(mib), chunked: true},
		{name: "whitespace around the object", body: []byte(" \r\n\t{}\n ")},

		{name: "GET", method: http.MethodGet, want: tally.ErrBadHTTPRequest},
		{name: "PUT", method: http.MethodPut, want: tally.ErrBadHTTPRequest},
		{name: "random -1", mods: []func(url.Values){set("random", "-1")}, want: tally.ErrBadHTTPRequest},
		{name: "random 2^32", mods: []func(url.Values){set("random", "4294967296")}, want: tally.ErrBadHTTPRequest},
		{name: "random abc", mods: []func(url.Values){set("random", "abc")}, want: tally.ErrBadHTTPRequest},
		{name: "random empty", mods: []func(url.Values){set("random", "")}, want: tally.ErrBadHTTPRequest},
		{name: "contenttype xml", mods: []func(url.Values){set("contenttype", "xml")}, want: tally.ErrBadHTTPRequest},
		{name: "contenttype JSON", mods: []func(url.Values){set("contenttype", "JSON")}, want: tally.ErrBadHTTPRequest},
		{name: "bad escape in the query", raw: "&x=%zz", want: tally.ErrBadHTTPRequest},
		{name: "body 1 MiB + 1", body: padded(mib + 1), want: tally.ErrBadHTTPRequest},
		{name: "body 1 MiB + 1 chunked", body: padded(mib + 1), chunked: true, want: tally.ErrBadHTTPRequest},
		{name: "body 3 MiB", body: padded(3 * mib), want: tally.ErrBadHTTPRequest},

		{name: "not JSON", body: []byte("not json"), want: tally.ErrBadJSON},
		{name: "empty body", body: []byte{}, want: tally.ErrBadJSON},
		{name: "whitespace only", body: []byte(" \n"), want: tally.ErrBadJSON},
		{name: "JSON array", body: []byte(`[{}]`), want: tally.ErrBadJSON},
		{name: "JSON string", body: []byte(`"{}"`), want: tally.ErrBadJSON},
		{name: "JSON number", body: []byte(`1`), want: tally.ErrBadJSON},
		{name: "JSON null", body: []byte(`null`), want: tally.ErrBadJSON},
		{name: "trailing garbage", body: []byte(`{} x`), want: tally.ErrBadJSON},
		{name: "two objects", body: []byte(`{}{}`), want: tally.ErrBadJSON},
		{name: "trailing comma", body: []byte(`{"Limit":1,}`), want: tally.ErrBadJSON},
		{name: "single quotes", body: []byte(`{'Limit':1}`), want: tally.ErrBadJSON},
		{name: "leading zero", body: []byte(`{"Limit":01}`), want: tally.ErrBadJSON},
		{name: "NaN", body: []byte(`{"Limit":NaN}`), want: tally.ErrBadJSON},
		{name: "bad escape", body: []byte(`{"GroupType":"\x"}`), want: tally.ErrBadJSON},
		{name: "control byte in a string", body: []byte("{\"GroupType\":\"a\x01\"}"), want: tally.ErrBadJSON},
		{name: "unterminated", body: []byte(`{"Limit":1`), want: tally.ErrBadJSON},
		{name: "invalid UTF-8", body: []byte("{\"GroupType\":\"\xff\"}"), want: tally.ErrBadJSON},
		{name: "deeply nested", body: []byte(deep), want: tally.ErrBadJSON},
		{name: "deeply nested objects", body: []byte(strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)), want: tally.ErrBadJSON},

		{name: "identifier missing", mods: []func(url.Values){del("identifier")}, want: tally.ErrMissingAuth},
		{name: "identifier empty", mods: []func(url.Values){set("identifier", "")}, want: tally.ErrMissingAuth},
		{name: "usersig missing", mods: []func(url.Values){del("usersig")}, want: tally.ErrMissingAuth},
		{name: "usersig empty", mods: []func(url.Values){set("usersig", "")}, want: tally.ErrMissingAuth},
		{name: "sdkappid abc", mods: []func(url.Values){set("sdkappid", "abc")}, want: tally.ErrNoSuchApp},
		{name: "sdkappid negative", mods: []func(url.Values){set("sdkappid", "-1")}, want: tally.ErrNoSuchApp},
		{name: "sdkappid 2^32", mods: []func(url.Values){set("sdkappid", "4294967296")}, want: tally.ErrNoSuchApp},
		{name: "unknown app", app: 1400009999, want: tally.ErrNoSuchApp},
		{name: "unknown command", path: groupSvc + "get_group_counters", want: tally.ErrUnknownCommand},
		{name: "mis-cased command", path: groupSvc + "Get_AppID_Group_List", want: tally.ErrUnknownCommand},
		{name: "unknown service", path: "/v4/group_svc/get_appid_group_list", want: tally.ErrUnknownCommand},
		{name: "trailing slash", path: groupSvc + "get_appid_group_list/", want: tally.ErrUnknownCommand},
		{name: "root", path: "/", want: tally.ErrUnknownCommand},
		{name: "not an admin", id: "bob", want: tally.ErrNotAdmin},
		{name: "sdkappid missing", mods: []func(url.Values){del("sdkappid")}, want: tally.ErrMissingSDKAppID},
		{name: "sdkappid empty", mods: []func(url.Values){set("sdkappid", "")}, want: tally.ErrMissingSDKAppID},
		{name: "SdkAppId is not sdkappid", mods: []func(url.Values){rename("sdkappid", "SdkAppId")}, want: tally.ErrMissingSDKAppID},
		{name: "Identifier is not identifier", mods: []func(url.Values){rename("identifier", "Identifier")}, want: tally.ErrMissingAuth},
		{name: "UserSig is not usersig", mods: []func(url.Values){rename("usersig", "UserSig")}, want: tally.ErrMissingAuth},
		{name: "Random is not random", mods: []func(url.Values){del("random")}, raw: "&Random=abc"},
		{name: "disabled app", app: appDisabled, want: tally.ErrAppDisabled},
		{name: "expired", mods: []func(url.Values){sig(appMain, appKey(appMain), "admin", 60, now.Add(-time.Hour))}, want: tally.ErrUserSigExpired},
		{name: "garbage usersig", mods: []func(url.Values){set("usersig", "garbage!")}, want: tally.ErrUserSigMalformed},
		{name: "base64 of nothing useful", mods: []func(url.Values){set("usersig", "eJwrSS0uAQAEXQHB")}, want: tally.ErrUserSigMalformed},
		{name: "wrong key", mods: []func(url.Values){badKey}, want: tally.ErrUserSigBadHMAC},
		{name: "sig of another identifier", mods: []func(url.Values){sig(appMain, appKey(appMain), "ops", 3600, now)}, want: tally.ErrUserSigIdentifier},
		{name: "sig of another app", mods: []func(url.Values){sig(appOther, appKey(appMain), "admin", 3600, now)}, want: tally.ErrUserSigSDKAppID},

		// Which check comes first.
		{name: "GET before auth", method: http.MethodGet, mods: []func(url.Values){badKey}, want: tally.ErrBadHTTPRequest},
		{name: "random before auth", mods: []func(url.Values){badKey, set("random", "x")}, want: tally.ErrBadHTTPRequest},
		{name: "sdkappid missing before usersig missing", mods: []func(url.Values){del("sdkappid"), del("usersig")}, want: tally.ErrMissingSDKAppID},
		{name: "unknown app before usersig missing", app: 1400009999, mods: []func(url.Values){del("usersig")}, want: tally.ErrNoSuchApp},
		{name: "auth before command", path: groupSvc + "nope", mods: []func(url.Values){badKey}, want: tally.ErrUserSigBadHMAC},
		{name: "auth before body: bad JSON", mods: []func(url.Values){badKey}, body: []byte("not json"), want: tally.ErrUserSigBadHMAC},
		{name: "auth before body: bad field", mods: []func(url.Values){badKey}, body: []byte(`{"Limit":0}`), want: tally.ErrUserSigBadHMAC},
		{name: "auth before body: too large", mods: []func(url.Values){badKey}, body: padded(mib + 1), want: tally.ErrUserSigBadHMAC},
		{name: "expired before body", mods: []func(url.Values){sig(appMain, appKey(appMain), "admin", 60, now.Add(-time.Hour))}, body: []byte("["), want: tally.ErrUserSigExpired},
		{name: "admin before body", id: "bob", body: []byte("["), want: tally.ErrNotAdmin},
		{name: "disabled before body", app: appDisabled, body: []byte("["), want: tally.ErrAppDisabled},
		{name: "command before body", path: groupSvc + "nope", body: []byte("["), want: tally.ErrUnknownCommand},
		{name: "body before edition", app: appStandard, path: groupSvc + "get_group_counter", body: []byte("["), want: tally.ErrBadJSON},
		{name: "edition before fields", app: appStandard, path: groupSvc + "get_group_counter", body: []byte(`{"GroupId":5}`), want: tally.ErrEditionRequired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app, id := c.app, c.id
			if app == 0 {
				app = appMain
			}
			if id == "" {
				id = "admin"
			}
			q := query(app, id)
			for _, m := range c.mods {
				m(q)
			}
			method, path, body := c.method, c.path, c.body
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "get_appid_group_list"
			}
			if body == nil {
				body = []byte("{}")
			}
			var r io.Reader = bytes.NewReader(body)
			if c.chunked {
				r = iotest.HalfReader(r) // not a type whose length net/http knows
			}
			m := h.do(t, method, path, q.Encode()+c.raw, r)
			wantCode(t, m, c.want)
		})
	}
}

// burst sends n calls of cmd at once and returns their answers.
func (h *harness) burst(t *testing.T, n int, cmd string, q url.Values, body string) []map[string]any {
	t.Helper()
	out := make([]map[string]any, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			out[i], errs[i] = h.try(http.MethodPost, cmd, q.Encode(), strings.NewReader(body))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// countCodes counts the answers by ErrorCode and fails on any code not in allowed.
func countCodes(t *testing.T, answers []map[string]any, allowed ...tally.Code) map[tally.Code]int {
	t.Helper()
	n := map[tally.Code]int{}
	for _, m := range answers {
		c := tally.Code(code(m))
		ok := false
		for _, a := range allowed {
			ok = ok || a == c
		}
		if !ok {
			t.Fatalf("ErrorCode %d (%v), want one of %v", c, m["ErrorInfo"], allowed)
		}
		n[c]++
	}
	return n
}

// TestPerAPIRateLimit fires calls at an app that allows 5 a second per API:
// some are refused with 60007, the refused ones change nothing, another API
// of the app is not affected, and the limit is checked after authentication
// but before the body.
func TestPerAPIRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createGroup(t, appPerAPI, "Public", "g")
	q := query(appPerAPI, "admin")

	start := time.Now()
	answers := h.burst(t, 20, "update_group_counter", q, `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"n","Value":1}]}`)
	elapsed := time.Since(start)
	n := countCodes(t, answers, tally.OK, tally.ErrAPIRateLimit)
	if n[tally.ErrAPIRateLimit] == 0 {
		t.Fatalf("20 calls at once were all admitted under a limit of 5 a second")
	}
	if max := 5 + int(5*elapsed.Seconds()) + 1; n[tally.OK] > max {
		t.Fatalf("%d calls admitted in %v; the limit allows %d", n[tally.OK], elapsed, max)
	}
	for _, m := range answers {
		if code(m) == 0 {
			wantFields(t, m, "ActionStatus", "ErrorCode", "ErrorInfo", "GroupCounter")
		}
	}
	// Another API has its own allowance, and the refused calls did not count.
	m := h.call(t, "get_group_counter", q, `{"GroupId":"g"}`)
	wantOK(t, m)
	wantCounters(t, counters(t, m), counter{"n", int64(n[tally.OK])})

	// A refused call's body is not looked at: bad bodies get 60007 or, when
	// admitted, 60003, never anything else.
	n = countCodes(t, h.burst(t, 20, "delete_group_counter", q, "not json"), tally.ErrBadJSON, tally.ErrAPIRateLimit)
	if n[tally.ErrAPIRateLimit] == 0 {
		t.Fatalf("20 bad bodies at once were all admitted under a limit of 5 a second")
	}
	// Authentication comes first: a bad sig is answered 70009 even when the
	// limit is exhausted.
	bad := query(appPerAPI, "admin")
	bad.Set("usersig", usersig.Sign(appPerAPI, "wrong", "admin", 3600, time.Now()))
	countCodes(t, h.burst(t, 10, "delete_group_counter", bad, "{}"), tally.ErrUserSigBadHMAC)

	// Another app is not limited by this one.
	countCodes(t, h.burst(t, 20, "get_appid_group_list", query(appMain, "admin"), "{}"), tally.OK)
}

// TestAppRateLimit fires calls of two APIs at an app that allows 5 a second
// in all: the total admitted is bounded by the app-wide limit, refusals are
// 60011 and change nothing.
func TestAppRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	start := time.Now()
	h.createGroup(t, appPerApp, "Public", "g")
	q := query(appPerApp, "admin")

	var incs, gets, bads []map[string]any
	var wg sync.WaitGroup
	wg.Go(func() {
		incs = h.burst(t, 15, "update_group_counter", q, `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"n","Value":1}]}`)
	})
	wg.Go(func() { gets = h.burst(t, 15, "get_appid_group_list", q, `{}`) })
	wg.Go(func() { bads = h.burst(t, 15, "get_group_info", q, `[`) })
	wg.Wait()
	elapsed := time.Since(start)

	ni := countCodes(t, incs, tally.OK, tally.ErrAppRateLimit)
	ng := countCodes(t, gets, tally.OK, tally.ErrAppRateLimit)
	nb := countCodes(t, bads, tally.ErrBadJSON, tally.ErrAppRateLimit)
	admitted := 1 + ni[tally.OK] + ng[tally.OK] + nb[tally.ErrBadJSON]
	if ni[tally.ErrAppRateLimit]+ng[tally.ErrAppRateLimit]+nb[tally.ErrAppRateLimit] == 0 {
		t.Fatalf("46 calls at once were all admitted under an app-wide limit of 5 a second")
	}
	if max := 5 + int(5*elapsed.Seconds()) + 1; admitted > max {
		t.Fatalf("%d calls admitted in %v; the app-wide limit allows %d", admitted, elapsed, max)
	}

	// The refused increments changed nothing. The app's allowance may be
	// used up, so the store is asked directly.
	cs, err := h.store.Counters(context.Background(), appPerApp, "g", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []tally.Counter{{Key: "n", Value: int64(ni[tally.OK])}}
	if ni[tally.OK] == 0 {
		want = nil
	}
	if !slices.Equal(cs, want) {
		t.Fatalf("counters %v after %d admitted increments", cs, ni[tally.OK])
	}
}

// TestRateLimitsTogether shows that a call refused by the app-wide limit
// does not use up its API's own allowance. The app allows 4 calls a second
// in all and 5 per API: once one API has used the app's 4, calls of another
// API are refused with 60011 however many are made, never with 60007, which
// they would get if each refusal took one of their API's 5 tokens.
func TestRateLimitsTogether(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	q := query(appBoth, "admin")
	start := time.Now()
	var answers []map[string]any
	for range 4 {
		answers = append(answers, h.call(t, "get_appid_group_list", q, `{}`))
	}
	countCodes(t, answers, tally.OK)
	answers = nil
	for range 12 {
		answers = append(answers, h.call(t, "get_group_info", q, `{"GroupIdList":["g"]}`))
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Skipf("16 calls took %v; the limiters refilled too much to tell", elapsed)
	}
	if n := countCodes(t, answers, tally.OK, tally.ErrAppRateLimit); n[tally.ErrAppRateLimit] == 0 {
		t.Fatalf("12 calls after the app's 4 were all admitted")
	}
}

// TestKeepAlive shows that answers, failures included, leave the connection
// open for the next call.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	q := query(appMain, "admin")
	bad := query(appMain, "admin")
	bad.Set("usersig", "garbage")
	for i, c := range []struct {
		q    url.Values
		cmd  string
		body string
		want tally.Code
	}{
		{q, "get_appid_group_list", `{}`, tally.OK},
		{q, "get_appid_group_list", `{"Limit":0}`, tally.ErrInvalidParameter},
		{q, "get_appid_group_list", `not json`, tally.ErrBadJSON},
		{bad, "get_appid_group_list", strings.Repeat(" ", 100<<10), tally.ErrUserSigMalformed},
		{q, "nope", `{}`, tally.ErrUnknownCommand},
		{q, "get_group_counter", `{"GroupId":"nope"}`, tally.ErrGroupNotFound},
		{q, "get_appid_group_list", `{}`, tally.OK},
	} {
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+commandPath(c.cmd)+"?"+c.q.Encode(), strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		m, err := checkEnvelope(resp.StatusCode, resp.Header, b)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, m, c.want)
		if resp.Close || resp.Header.Get("Connection") == "close" {
			t.Errorf("call %d (%d): the server closes the connection", i, c.want)
		}
		if i > 0 && !reused {
			t.Errorf("call %d (%d) did not reuse the connection of the call before", i, c.want)
		}
	}
}

// TestInternalError shows that a store failure is answered like any other
// failure, HTTP 200 with code 10002, and that its details stay in the log.
func TestInternalError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createGroup(t, appMain, "Public", "g")
	if err := h.store.Close(); err != nil {
		t.Fatal(err)
	}
	generic, _ := tally.ErrInternal.Info()
	for _, c := range []struct{ cmd, body string }{
		{"create_group", `{"Type":"Public","Name":"n"}`},
		{"get_group_info", `{"GroupIdList":["g"]}`},
		{"update_group_counter", `{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1}]}`},
	} {
		m := h.api(t, appMain, c.cmd, c.body)
		wantCode(t, m, tally.ErrInternal)
		if info := m["ErrorInfo"]; info != generic.Message {
			t.Errorf("%s: ErrorInfo %q tells the client more than that the server failed", c.cmd, info)
		}
	}
}

// TestHealthz shows that /healthz follows the store: ok while it serves,
// 503 with the reason once it cannot (here closed; a storage fault, or a
// database that cannot be reached, answers the same way until the store
// serves again). On the hardened server the 503 must get through the
// listener that turns net/http's own refusals into envelopes, and a
// refusal that follows it on the same connection must still be turned.
func TestHealthz(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		start func(t testing.TB) *harness
	}{
		{"plain", newHarness},
		{"hardened", func(t testing.TB) *harness { return newHardenedHarness(t, netFront, httpapi.Limits{}) }},
		{"fasthttp", func(t testing.TB) *harness { return newHardenedHarness(t, fastFront, httpapi.Limits{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := tc.start(t)
			get := func() (int, string) {
				resp, err := h.client.Get(h.url + "/healthz")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			if code, body := get(); code != http.StatusOK || body != "ok\n" {
				t.Fatalf("/healthz: %d %q", code, body)
			}
			if err := h.store.Close(); err != nil {
				t.Fatal(err)
			}
			if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "closed") {
				t.Fatalf("/healthz of a closed store: %d %q; want 503 naming why", code, body)
			}
			if tc.name != "hardened" {
				return
			}
			raw := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /a b c HTTP/1.1\r\nHost: x\r\n\r\n"
			answers, err := exchange(h.addr(), []byte(raw), http.MethodGet, http.MethodGet)
			if err != nil {
				t.Fatal(err)
			}
			if len(answers) != 2 || answers[0].resp.StatusCode != http.StatusServiceUnavailable ||
				answers[1].resp.StatusCode != http.StatusOK || !strings.Contains(string(answers[1].body), `"ErrorCode":60002`) {
				for i, a := range answers {
					t.Logf("answer %d: %d %s", i, a.resp.StatusCode, a.body)
				}
				t.Fatalf("got %d answers; want /healthz's 503, then the malformed request's envelope", len(answers))
			}
		})
	}
}
