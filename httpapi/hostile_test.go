package httpapi_test

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
)

// hostileCase is one malformed request, as raw bytes built around a valid
// call. Each of them, if it got through, would increase counter "a" of
// group "g".
type hostileCase struct {
	name string
	raw  string
	want tally.Code // ErrBadHTTPRequest when 0
	info string     // the ErrorInfo must contain it
	// refused marks a request net/http refuses before the handler runs:
	// its answer, made by the listener, must close the connection.
	refused bool
}

// wire holds the parts of a valid call to build a broken one from.
type wire struct {
	host  string
	path  string // the command's path and query
	query url.Values
	body  string
}

// request assembles a request from its line, its header lines and a body.
func request(line string, headers []string, body string) string {
	return line + "\r\n" + strings.Join(headers, "") + "\r\n" + body
}

// line, headers and cl give the request line, the usual headers and the
// Content-Length of the valid call; withQuery and withBody give the whole
// call with its query or its body changed.
func (w wire) line() string { return "POST " + w.path + " HTTP/1.1" }
func (w wire) headers(extra ...string) []string {
	return append([]string{"Host: " + w.host + "\r\n", "Content-Type: application/json\r\n"}, extra...)
}
func (w wire) cl() string { return fmt.Sprintf("Content-Length: %d\r\n", len(w.body)) }
func (w wire) withQuery(mod func(url.Values)) string {
	q := url.Values{}
	for k, v := range w.query {
		q[k] = append([]string(nil), v...)
	}
	mod(q)
	return request("POST "+commandPath("update_group_counter")+"?"+q.Encode()+" HTTP/1.1", w.headers(w.cl()), w.body)
}
func (w wire) withBody(body string) string {
	return request(w.line(), w.headers(fmt.Sprintf("Content-Length: %d\r\n", len(body))), body)
}

// forgeUserSig extends a UserSig's lifetime without recomputing its HMAC,
// as someone without the key would.
func forgeUserSig(t testing.TB, sig string) string {
	t.Helper()
	dec := strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(sig)
	z, err := base64.StdEncoding.DecodeString(dec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	expire := regexp.MustCompile(`"TLS.expire":[0-9]+`)
	if !expire.Match(doc) {
		t.Fatalf("the UserSig document %s has no TLS.expire", doc)
	}
	doc = expire.ReplaceAll(doc, []byte(`"TLS.expire":999999999`))
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(doc)
	zw.Close()
	return strings.NewReplacer("+", "*", "/", "-", "=", "_").Replace(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// TestHostileRequests sends malformed requests over raw connections. Each
// must be answered HTTP 200 with a well-formed envelope and the code and
// ErrorInfo of its fault, must change nothing, and must leave the server
// serving. The ones net/http refuses by itself are answered by the
// listener; the rest by the handler. Malformed bodies and UserSigs that
// TestPublicCodes and the per-command tables already cover are not
// repeated here.
func TestHostileRequests(t *testing.T) { forFronts(t, testHostileRequests) }

func testHostileRequests(t *testing.T, f front) {
	t.Parallel()
	h := newHardenedHarness(t, f, httpapi.Limits{})
	h.createGroup(t, appMain, "Public", "g")
	h.setCounters(t, appMain, "g", counter{"a", 1})
	before := h.snapshot(t)

	q := query(appMain, "admin")
	w := wire{
		host:  h.addr(),
		path:  commandPath("update_group_counter") + "?" + q.Encode(),
		query: q,
		body:  `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"a","Value":1}]}`,
	}
	cases := hostileCases(t, w)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := c.raw
			answers, err := exchange(h.addr(), []byte(raw))
			if err != nil {
				t.Fatalf("%v; sent %.200q", err, raw)
			}
			if len(answers) == 0 {
				t.Fatalf("the server closed the connection without an answer to %.200q", raw)
			}
			m, err := checkAnswer(answers[0])
			if err != nil {
				t.Fatalf("%v; sent %.200q", err, raw)
			}
			want := c.want
			if want == 0 {
				want = tally.ErrBadHTTPRequest
			}
			wantCode(t, m, want)
			if info := m["ErrorInfo"].(string); !strings.Contains(info, c.info) {
				t.Errorf("ErrorInfo %q does not say %q", info, c.info)
			}
			if c.refused {
				if !answers[0].resp.Close {
					t.Errorf("the answer to a refused request does not close the connection: %v", answers[0].resp.Header)
				}
				if len(answers) > 1 {
					t.Errorf("%d answers to a refused request", len(answers))
				}
			}
			wantOK(t, h.api(t, appMain, "get_appid_group_list", `{}`))
			if after := h.snapshot(t); after != before {
				t.Fatalf("the store changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

// hostileCases are the malformed requests of TestHostileRequests, built
// around the valid call w, which FuzzRawRequest takes for seeds.
func hostileCases(t testing.TB, w wire) []hostileCase {
	big := strings.Repeat("x", 70<<10)
	q := w.query
	sig := q.Get("usersig")
	setQ := func(name, value string) func(url.Values) { return func(q url.Values) { q.Set(name, value) } }

	return []hostileCase{
		// The request line.
		{name: "garbage request line", raw: "GARBAGE\r\n\r\n",
			info: "the request line is malformed", refused: true},
		{name: "HTTP/0.9 request line", raw: "GET " + w.path + "\r\n\r\n",
			info: "the request line is malformed", refused: true},
		{name: "HTTP/0.9 version", raw: request("POST "+w.path+" HTTP/0.9", w.headers(w.cl()), w.body),
			info: `"HTTP/0.9" is not supported`, refused: true},
		{name: "HTTP/2.0 without the preface", raw: request("POST "+w.path+" HTTP/2.0", w.headers(w.cl()), w.body),
			info: `"HTTP/2.0" is not supported`, refused: true},
		{name: "malformed version", raw: request("POST "+w.path+" HTTP/1.1x", w.headers(w.cl()), w.body),
			info: `the HTTP version "HTTP/1.1x" is malformed`, refused: true},
		{name: "bad method token", raw: request("PO(ST "+w.path+" HTTP/1.1", w.headers(w.cl()), w.body),
			info: `the method "PO(ST" is not a valid token`, refused: true},
		{name: "bad escape in the path", raw: request("POST /v4/group_open_http_svc/%zz?"+q.Encode()+" HTTP/1.1", w.headers(w.cl()), w.body),
			info: `invalid URL escape "%zz"`, refused: true},
		{name: "control byte in the path", raw: request("POST /v4/\x01?"+q.Encode()+" HTTP/1.1", w.headers(w.cl()), w.body),
			info: "invalid control character in URL", refused: true},
		{name: "NUL in the request line", raw: request("POST /v4/\x00 HTTP/1.1", w.headers(w.cl()), w.body),
			info: "invalid control character in URL", refused: true},
		{name: "NUL bytes", raw: "\x00\x00\x00\x00\r\n\r\n",
			info: "the request line is malformed", refused: true},
		{name: "garbage bytes", raw: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xd7\x8a\r\n\r\n",
			info: "the request line is malformed", refused: true},
		{name: "URL over 64 KiB", raw: request("POST "+w.path+"&pad="+big+" HTTP/1.1", w.headers(w.cl()), w.body),
			info: "the URL and headers are over 64 KiB", refused: true},

		// The headers.
		{name: "header over 64 KiB", raw: request(w.line(), w.headers(w.cl(), "X-Big: "+big+"\r\n"), w.body),
			info: "the URL and headers are over 64 KiB", refused: true},
		{name: "headers over 64 KiB in all", raw: request(w.line(), w.headers(w.cl(), strings.Repeat("X-Many: 0123456789\r\n", 4000)), w.body),
			info: "the URL and headers are over 64 KiB", refused: true},
		{name: "Host missing", raw: request(w.line(), []string{w.cl()}, w.body),
			info: "the Host header is missing", refused: true},
		{name: "two Hosts", raw: request(w.line(), w.headers(w.cl(), "Host: other\r\n"), w.body),
			info: "the Host header is given more than once", refused: true},
		{name: "malformed Host", raw: request(w.line(), []string{"Host: a b\r\n", w.cl()}, w.body),
			info: "the Host header is malformed", refused: true},
		{name: "header without a colon", raw: request(w.line(), w.headers(w.cl(), "NoColon\r\n"), w.body),
			info: `the header line "NoColon" has no colon`, refused: true},
		{name: "space in a header name", raw: request(w.line(), w.headers(w.cl(), "Bad Name: x\r\n"), w.body),
			info: "a header name is not a valid token", refused: true},
		{name: "first header folded", raw: request(w.line(), append([]string{" folded\r\n"}, w.headers(w.cl())...), w.body),
			info: "starts with a space", refused: true},
		{name: "NUL in a header value", raw: request(w.line(), w.headers(w.cl(), "X-A: a\x00b\r\n"), w.body),
			info: `the header line "X-A: a\x00b" is malformed`, refused: true},
		{name: "garbage without a line end", raw: "\x16\x03\x01\x02\x00\x01",
			info: "the request ends before its headers do", refused: true},
		{name: "head cut short", raw: w.line() + "\r\nHost: " + w.host + "\r\n",
			info: "the request ends before its headers do", refused: true},
		// net/http drops this one without a word: the line fills its 4
		// KiB buffer exactly, and the end of input that follows is taken
		// for a client gone. The connection answers it as it closes.
		{name: "a request line of 4 KiB without a line end", raw: fourKiBLine,
			info: "the request ends before its headers do", refused: true},
		{name: "Expect other than 100-continue", raw: request(w.line(), w.headers(w.cl(), "Expect: teapot\r\n"), w.body),
			info: `Expect "teapot" is not supported`, refused: true},

		// The body's framing.
		{name: "Content-Length not a number", raw: request(w.line(), w.headers("Content-Length: abc\r\n"), w.body),
			info: `Content-Length "abc" is not a number`, refused: true},
		{name: "Content-Length negative", raw: request(w.line(), w.headers("Content-Length: -1\r\n"), w.body),
			info: `Content-Length "-1" is not a number`, refused: true},
		{name: "Content-Length over int64", raw: request(w.line(), w.headers("Content-Length: 99999999999999999999\r\n"), w.body),
			info: `Content-Length "99999999999999999999" is not a number`, refused: true},
		{name: "Content-Length empty", raw: request(w.line(), w.headers("Content-Length: \r\n"), w.body),
			info: "Content-Length is empty", refused: true},
		{name: "two Content-Lengths", raw: request(w.line(), w.headers(w.cl(), "Content-Length: 3\r\n"), w.body),
			info: "Content-Length is given more than once", refused: true},
		{name: "Transfer-Encoding gzip", raw: request(w.line(), w.headers("Transfer-Encoding: gzip\r\n"), w.body),
			info: `Transfer-Encoding "gzip" is not supported`, refused: true},
		{name: "two Transfer-Encodings", raw: request(w.line(), w.headers("Transfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\r\n"), w.body),
			info: "Transfer-Encoding is given more than once", refused: true},
		{name: "Content-Length as a trailer", raw: request(w.line(), w.headers("Transfer-Encoding: chunked\r\n", "Trailer: Content-Length\r\n"), "0\r\n\r\n"),
			info: "the Trailer header names", refused: true},
		{name: "bad chunk size", raw: request(w.line(), w.headers("Transfer-Encoding: chunked\r\n"), "zz\r\n{}\r\n0\r\n\r\n"),
			info: "reading the body failed"},
		{name: "body shorter than its Content-Length", raw: request(w.line(), w.headers("Content-Length: 1000\r\n"), w.body),
			info: "reading the body failed: unexpected EOF"},
		{name: "Content-Length 2^63-1", raw: request(w.line(), w.headers("Content-Length: 9223372036854775807\r\n"), w.body),
			info: "the limit is 1 MiB"},

		// Methods net/http would have answered by itself.
		{name: "OPTIONS *", raw: request("OPTIONS * HTTP/1.1", w.headers(), ""),
			info: "method OPTIONS is not allowed"},
		{name: "HTTP/2 preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
			info: "method PRI is not allowed"},
		{name: "CONNECT", raw: request("CONNECT "+w.host+" HTTP/1.1", w.headers(), ""),
			info: "method CONNECT is not allowed"},

		// UserSigs and bodies no other table sends.
		{name: "UserSig truncated", raw: w.withQuery(setQ("usersig", sig[:len(sig)/2])),
			want: tally.ErrUserSigMalformed},
		{name: "UserSig forged", raw: w.withQuery(setQ("usersig", forgeUserSig(t, sig))), want: tally.ErrUserSigBadHMAC},
		{name: "UserSig of invalid UTF-8", raw: w.withQuery(setQ("usersig", "\xff\xfe")),
			want: tally.ErrUserSigMalformed},
		{name: "UserSig of 60 KiB", raw: w.withQuery(setQ("usersig", strings.Repeat("eJw", 20<<10))),
			want: tally.ErrUserSigMalformed},
		{name: "identifier of invalid UTF-8", raw: w.withQuery(setQ("identifier", "\xff")),
			want: tally.ErrUserSigIdentifier},
		{name: "Value 1e400", raw: w.withBody(`{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1e400}]}`),
			want: tally.ErrInvalidParameter, info: "1e400"},
		{name: "Value of 400 digits", raw: w.withBody(`{"GroupId":"g","GroupCounter":[{"Key":"a","Value":` + strings.Repeat("9", 400) + `}]}`),
			want: tally.ErrInvalidParameter, info: "Value"},
		{name: "Value -0", raw: w.withBody(`{"GroupId":"g","Mode":"Set","GroupCounter":[{"Key":"a","Value":-0.0}]}`),
			want: tally.ErrInvalidParameter},
		{name: "GroupId a huge number", raw: w.withBody(`{"GroupId":1e999,"GroupCounter":[{"Key":"a","Value":1}]}`),
			want: tally.ErrInvalidParameter, info: "GroupId"},
		{name: "Key of invalid UTF-8", raw: w.withBody("{\"GroupId\":\"g\",\"GroupCounter\":[{\"Key\":\"a\xc3\",\"Value\":1}]}"),
			want: tally.ErrBadJSON, info: "UTF-8"},
		{name: "GroupCounter nested 10000 deep", raw: w.withBody(`{"GroupId":"g","GroupCounter":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`),
			want: tally.ErrBadJSON},
	}
}

// TestPipelinedRefusal sends a valid call and a malformed one in one
// write, as a pipelining client does: the first is answered, the second
// refused with an envelope, and the connection closed.
func TestPipelinedRefusal(t *testing.T) { forFronts(t, testPipelinedRefusal) }

func testPipelinedRefusal(t *testing.T, f front) {
	t.Parallel()
	h := newHardenedHarness(t, f, httpapi.Limits{})
	raw := append(rawRequest(h.addr(), "POST", "get_appid_group_list", query(appMain, "admin"), `{}`), "GARBAGE\r\n\r\n"...)
	answers, err := exchange(h.addr(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != 2 {
		t.Fatalf("%d answers, want 2", len(answers))
	}
	for i, want := range []tally.Code{tally.OK, tally.ErrBadHTTPRequest} {
		m, err := checkAnswer(answers[i])
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		wantCode(t, m, want)
	}
	if !answers[1].resp.Close {
		t.Errorf("the refusal does not close the connection")
	}
}

// fourKiBLine is a request line of exactly 4,096 bytes, net/http's read
// buffer, with no line end.
var fourKiBLine = func() string {
	const head = "POST /v4/group_open_http_svc/get_group_counter?a="
	return head + strings.Repeat("a", 4096-len(head))
}()
