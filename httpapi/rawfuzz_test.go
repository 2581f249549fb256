package httpapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/httpapi/live"
	"github.com/tallyserver/tally/usersig"
)

// FuzzRawRequest sends fuzzed bytes over a real connection to the server
// cmd/tally runs, listener included: every answer must be HTTP 200 with a
// well-formed envelope and a known code other than an internal error, and
// anything sent must be answered at least once. It seeds itself with the
// valid calls of TestByteFlips and the requests of TestHostileRequests;
// FuzzRequest covers bodies more cheaply.
//
//	go test -run '^$' -fuzz '^FuzzRawRequest$' ./httpapi
func FuzzRawRequest(f *testing.F) {
	// Every input goes to each front.
	var hs []*harness
	for _, fr := range fronts {
		h := newHardenedHarness(f, fr, httpapi.Limits{ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second})
		h.createGroup(f, appMain, "Public", "g")
		h.setCounters(f, appMain, "g", counter{"a", 1})
		hs = append(hs, h)
	}

	// The seeds name a fixed host and carry a UserSig signed at a fixed time to last a century,
	// so that they stay the same from run to run, as a corpus must.
	q := query(appMain, "admin")
	q.Set("usersig", usersig.Sign(appMain, appKey(appMain), "admin", 100*365*86400, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	const host = "tally"
	const body = `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"a","Value":1}]}`
	for _, s := range []struct{ cmd, body string }{
		{"update_group_counter", body},
		{"get_group_counter", `{"GroupId":"g"}`},
		{"delete_group_counter", `{"GroupId":"g","GroupCounterKeys":["b"]}`},
		{"create_group", `{"Type":"Public","Name":"n"}`},
	} {
		f.Add(rawRequest(host, "POST", s.cmd, q, s.body))
	}
	w := wire{host: host, path: commandPath("update_group_counter") + "?" + q.Encode(), query: q, body: body}
	for _, c := range hostileCases(f, w) {
		if raw := c.raw; len(raw) < 4<<10 {
			f.Add([]byte(raw))
		}
	}
	// The live page, its redirect and a request under its path that is
	// the API's, on one connection.
	f.Add([]byte("GET /live/ HTTP/1.1\r\nHost: tally\r\n\r\nHEAD /live HTTP/1.1\r\nHost: tally\r\n\r\nGET /live/x HTTP/1.1\r\nHost: tally\r\n\r\n"))
	// Two requests on one connection, the second refused.
	f.Add(append(rawRequest(host, "POST", "get_group_counter", q, `{"GroupId":"g"}`), "GARBAGE\r\n\r\n"...))

	f.Fuzz(func(t *testing.T, raw []byte) {
		for i, h := range hs {
			if err := checkRawExchange(h, raw); err != nil {
				t.Fatalf("%s front: %v", fronts[i], err)
			}
		}
	})
}

// checkRawExchange sends raw to h and checks every answer is an envelope
// with a known code other than an internal error.
func checkRawExchange(h *harness, raw []byte) error {
	answers, err := exchange(h.addr(), raw, requestMethods(raw)...)
	if err != nil {
		return err
	}
	if len(answers) == 0 && len(raw) > 0 {
		return fmt.Errorf("the connection closed without an answer")
	}
	for i, a := range answers {
		if isLivePage(a) {
			// A GET of the live page, which TestLivePage checks,
			// is no call of the API.
			continue
		}
		if a.resp.Request.Method == "HEAD" {
			// An answer to HEAD has no body, as HTTP demands.
			if a.resp.StatusCode != 200 {
				return fmt.Errorf("answer %d: HEAD answered %d", i, a.resp.StatusCode)
			}
			continue
		}
		m, err := checkAnswer(a)
		if err != nil {
			return fmt.Errorf("answer %d: %v", i, err)
		}
		c := tally.Code(code(m))
		if _, known := c.Info(); !known || c == tally.ErrInternal {
			return fmt.Errorf("answer %d: ErrorCode %d: %v", i, c, m["ErrorInfo"])
		}
	}
	return nil
}

// isLivePage reports whether a is the live page's answer, one of its files
// or the redirect to it, known by the headers only they carry.
func isLivePage(a rawAnswer) bool {
	h := a.resp.Header
	return a.resp.StatusCode == 200 && h.Get("Content-Security-Policy") == live.CSP ||
		a.resp.StatusCode == 301 && h.Get("Location") == live.Path[1:]
}
