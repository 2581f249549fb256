package httpapi_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/httpapi/live"
)

// TestLivePage shows that the API server serves the live page's files to a
// GET or HEAD, with their types and a strict Content-Security-Policy, and
// redirects /live to it; and that every other request under the page's
// path is the REST API's, answered with an envelope as before the page. On
// the hardened server the page's answers must get through the listener
// that turns net/http's own refusals into envelopes.
func TestLivePage(t *testing.T) {
	t.Parallel()
	files := live.Files()
	for _, hc := range []struct {
		name  string
		start func(t testing.TB) *harness
	}{
		{"plain", newHarness},
		{"hardened", func(t testing.TB) *harness { return newHardenedHarness(t, netFront, httpapi.Limits{}) }},
		{"fasthttp", func(t testing.TB) *harness { return newHardenedHarness(t, fastFront, httpapi.Limits{}) }},
	} {
		t.Run(hc.name, func(t *testing.T) {
			t.Parallel()
			h := hc.start(t)
			client := *h.client
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			for _, tc := range []struct {
				method, target string
				status         int    // 0: an envelope with code
				contentType    string // of a file of the page
				location       string // of a redirect
				code           tally.Code
			}{
				{method: "GET", target: "/live/", status: 200, contentType: "text/html; charset=utf-8"},
				{method: "GET", target: "/live/live.js", status: 200, contentType: "text/javascript; charset=utf-8"},
				{method: "GET", target: "/live/live.css", status: 200, contentType: "text/css; charset=utf-8"},
				{method: "HEAD", target: "/live/", status: 200, contentType: "text/html; charset=utf-8"},
				{method: "GET", target: "/live/?ignored=1", status: 200, contentType: "text/html; charset=utf-8"},
				{method: "GET", target: "/live", status: 301, location: "live/"},
				{method: "HEAD", target: "/live", status: 301, location: "live/"},
				{method: "GET", target: "/live?a=b", status: 301, location: "live/?a=b"},

				// The REST API's answers, as before the page.
				{method: "POST", target: "/live/", code: tally.ErrMissingSDKAppID},
				{method: "PUT", target: "/live/live.js", code: tally.ErrBadHTTPRequest},
				{method: "DELETE", target: "/live", code: tally.ErrBadHTTPRequest},
				{method: "GET", target: "/live/index.html", code: tally.ErrBadHTTPRequest},
				{method: "GET", target: "/live/../v4/group_open_http_svc/get_group_counter", code: tally.ErrBadHTTPRequest},
				{method: "GET", target: "/lively", code: tally.ErrBadHTTPRequest},
				{method: "POST", target: "/live/?" + query(appMain, "admin").Encode(), code: tally.ErrUnknownCommand},
			} {
				req, err := http.NewRequest(tc.method, h.url+tc.target, strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", tc.method, tc.target, err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatalf("%s %s: reading the answer: %v", tc.method, tc.target, err)
				}
				if tc.status == 0 {
					m, err := checkEnvelope(resp.StatusCode, resp.Header, body)
					if err != nil {
						t.Errorf("%s %s: %v", tc.method, tc.target, err)
					} else if got := tally.Code(code(m)); got != tc.code {
						t.Errorf("%s %s: ErrorCode %d (%v), want %d", tc.method, tc.target, got, m["ErrorInfo"], tc.code)
					}
					continue
				}
				if resp.StatusCode != tc.status {
					t.Errorf("%s %s: HTTP %d, want %d; body %.200q", tc.method, tc.target, resp.StatusCode, tc.status, body)
					continue
				}
				if tc.location != "" {
					if got := resp.Header.Get("Location"); got != tc.location {
						t.Errorf("%s %s: Location %q, want %q", tc.method, tc.target, got, tc.location)
					}
					continue
				}
				path, _, _ := strings.Cut(tc.target, "?")
				want := files[path]
				if tc.method == "HEAD" {
					if len(body) != 0 {
						t.Errorf("HEAD %s: a body of %d bytes", tc.target, len(body))
					}
				} else if string(body) != string(want) {
					t.Errorf("GET %s: the body is not the embedded file", tc.target)
				}
				for name, value := range map[string]string{
					"Content-Type":            tc.contentType,
					"Content-Length":          strconv.Itoa(len(want)),
					"Content-Security-Policy": live.CSP,
					"X-Content-Type-Options":  "nosniff",
				} {
					if got := resp.Header.Values(name); len(got) != 1 || got[0] != value {
						t.Errorf("%s %s: %s %q, want %q", tc.method, tc.target, name, got, value)
					}
				}
			}
			for _, directive := range []string{"default-src 'self'", "connect-src 'self'"} {
				if !strings.Contains(live.CSP, directive) {
					t.Errorf("the Content-Security-Policy %q lacks %q", live.CSP, directive)
				}
			}
		})
	}
}

// TestLivePageHoldsNoSecret shows that the page asks only for what a user
// of the stream holds, a UserSig, never a secret key, and signs nothing;
// and that it loads nothing from another origin and runs nothing inline,
// which its Content-Security-Policy would refuse.
func TestLivePageHoldsNoSecret(t *testing.T) {
	t.Parallel()
	files := live.Files()
	page := string(files[live.Path])
	var inputs []string
	for _, m := range regexp.MustCompile(`<(?:input|textarea)[^>]*\bname="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		inputs = append(inputs, m[1])
	}
	if got := strings.Join(inputs, " "); got != "sdkappid identifier usersig GroupId" {
		t.Errorf("the form asks for %q; want sdkappid identifier usersig GroupId and nothing else", got)
	}
	for _, m := range regexp.MustCompile(`\b(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if _, ok := files[live.Path+m[1]]; !ok {
			t.Errorf("the page loads %q, which is not one of its own files", m[1])
		}
	}
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(page) || regexp.MustCompile(`\s(?:style|on[a-z]+)=`).MatchString(page) {
		t.Errorf("the page has an inline script, style or event handler, which its CSP refuses")
	}
	for path, b := range files {
		for _, a := range testApps {
			if strings.Contains(string(b), a.SecretKey) {
				t.Errorf("%s holds the secret key of app %d", path, a.SDKAppID)
			}
		}
		for _, s := range []string{"http://", "https://", "ws://", "wss://", "crypto.subtle", "HMAC", "secret_key", "SecretKey"} {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds %q: the page must load nothing from elsewhere and sign nothing", path, s)
			}
		}
	}
}
