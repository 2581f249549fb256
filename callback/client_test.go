package callback

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// receiver is a callback handler on a loopback port that records what it
// is sent and answers as its handle function says.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []received
}

type received struct {
	method, uri, contentType, userAgent, auth string
	body                                      string
}

func newReceiver(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Method, r.RequestURI, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"),
			r.Header.Get("Authorization"), string(body)})
		rc.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) calls() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func answer(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }
}

const okAnswer = `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`

// fixedClient is a client whose clock reads the time of Tencent's example
// of Sign.
func fixedClient() *Client {
	c := NewClient("test")
	c.Now = func() time.Time { return time.Unix(1669872112, 0) }
	return c
}

func TestSignTencentExample(t *testing.T) {
	// The example of Tencent's page on callback security.
	if got := Sign("xxxxyyyy", 1669872112); got != "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061" {
		t.Fatalf("Sign = %s", got)
	}
}

func TestRequestURL(t *testing.T) {
	now := time.Unix(1669872112, 0)
	for _, c := range []struct {
		base, ip, token, want string
	}{
		{"https://www.example.com", "127.0.0.1", "",
			"https://www.example.com?SdkAppid=1400000001&CallbackCommand=Group.CallbackAfterCreateGroup&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI"},
		{"https://www.example.com/im/cb", "10.0.0.7", "xxxxyyyy",
			"https://www.example.com/im/cb?SdkAppid=1400000001&CallbackCommand=Group.CallbackAfterCreateGroup&contenttype=json&ClientIP=10.0.0.7&OptPlatform=RESTAPI&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112"},
		// A URL with a query keeps it.
		{"https://www.example.com/cb?env=prod", "127.0.0.1", "",
			"https://www.example.com/cb?env=prod&SdkAppid=1400000001&CallbackCommand=Group.CallbackAfterCreateGroup&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI"},
		{"https://www.example.com/cb?", "::1", "",
			"https://www.example.com/cb?SdkAppid=1400000001&CallbackCommand=Group.CallbackAfterCreateGroup&contenttype=json&ClientIP=%3A%3A1&OptPlatform=RESTAPI"},
	} {
		if got := requestURL(c.base, 1400000001, "Group.CallbackAfterCreateGroup", c.ip, c.token, now); got != c.want {
			t.Errorf("requestURL(%q, token %q)\n got %s\nwant %s", c.base, c.token, got, c.want)
		}
	}
}

func TestWithEventID(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"g","EventTime":1670574414123}`,
			`{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"g","EventId":"18446744073709551615","EventTime":1670574414123}`},
		// A name that reads like the field is a string's contents, and
		// the field that ends the body is the one found.
		{`{"CallbackCommand":"x","Name":",\"EventTime\":","EventTime":5}`,
			`{"CallbackCommand":"x","Name":",\"EventTime\":","EventId":"18446744073709551615","EventTime":5}`},
		// A body without EventTime gets the id last.
		{`{"a":1}`, `{"a":1,"EventId":"18446744073709551615"}`},
		{`{}`, `{"EventId":"18446744073709551615"}`},
	} {
		if got := string(WithEventID([]byte(c.body), 1<<64-1)); got != c.want {
			t.Errorf("WithEventID\n got %s\nwant %s", got, c.want)
		}
	}
}

func testEvent() *tally.Event {
	o := tally.Origin{Operator: "leckie", ClientIP: "192.0.2.7", Time: time.UnixMilli(1670574414123)}
	ev := tally.MemberExitEvent(1400000001, o, &tally.Group{ID: "@TGS#2J4SZEAEL", Type: tally.GroupPublic}, []string{"jared", "tommy"})
	ev.ID = 42
	return &ev
}

func testApp(url, token string) *tally.App {
	return &tally.App{SDKAppID: 1400000001, SecretKey: "the-secret-key-never-sent", Admins: []string{"admin"},
		Callback: tally.Callback{URL: url, Token: token, Events: tally.AllEvents}}
}

func TestSendWire(t *testing.T) {
	rc := newReceiver(t, answer(okAnswer))
	c := fixedClient()
	if err := c.Send(context.Background(), testApp(rc.URL+"/cb", "xxxxyyyy"), testEvent()); err != nil {
		t.Fatal(err)
	}
	got := rc.calls()
	if len(got) != 1 {
		t.Fatalf("%d calls, want 1", len(got))
	}
	want := received{
		method:      "POST",
		uri:         "/cb?SdkAppid=1400000001&CallbackCommand=Group.CallbackAfterMemberExit&contenttype=json&ClientIP=192.0.2.7&OptPlatform=RESTAPI&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112",
		contentType: "application/json",
		userAgent:   "Tally/test (third-party callback)",
		body:        `{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"@TGS#2J4SZEAEL","Type":"Public","ExitType":"Kicked","Operator_Account":"leckie","ExitMemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventId":"42","EventTime":1670574414123}`,
	}
	if got[0] != want {
		t.Errorf("sent\n%+v\nwant\n%+v", got[0], want)
	}
}

func TestSendOutcomes(t *testing.T) {
	other := newReceiver(t, answer(okAnswer))
	for _, c := range []struct {
		name   string
		handle func(http.ResponseWriter, *http.Request)
		ok     bool
	}{
		{"ok", answer(okAnswer), true},
		{"ok without ErrorInfo", answer(`{"ActionStatus":"OK","ErrorCode":0}`), true},
		{"ok in another order, with more", answer(`{"ErrorCode":0,"Extra":[1],"ActionStatus":"OK"}`), true},
		{"status 500", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, okAnswer)
		}, false},
		{"status 204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, false},
		{"not JSON", answer(`OK`), false},
		{"empty", answer(``), false},
		{"an array", answer(`[]`), false},
		{"FAIL", answer(`{"ActionStatus":"FAIL","ErrorCode":0,"ErrorInfo":""}`), false},
		{"ErrorCode 1", answer(`{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":""}`), false},
		{"ErrorCode a string", answer(`{"ActionStatus":"OK","ErrorCode":"0"}`), false},
		{"ErrorCode a fraction", answer(`{"ActionStatus":"OK","ErrorCode":0.5}`), false},
		// encoding/json would match these names case-insensitively.
		{"lower-case names", answer(`{"actionstatus":"OK","errorcode":0,"errorinfo":""}`), false},
		{"no ActionStatus", answer(`{"ErrorCode":0}`), false},
		{"too long", answer(`{"ActionStatus":"OK","ErrorCode":0,"Pad":"` + string(make([]byte, maxAnswer)) + `"}`), false},
		{"redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/elsewhere", http.StatusTemporaryRedirect)
		}, false},
		{"redirect within the host", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/cb" {
				http.Redirect(w, r, "/moved?"+r.URL.RawQuery, http.StatusPermanentRedirect)
				return
			}
			io.WriteString(w, okAnswer)
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t, c.handle)
			err := fixedClient().Send(context.Background(), testApp(rc.URL+"/cb", ""), testEvent())
			if (err == nil) != c.ok {
				t.Fatalf("Send = %v; want ok %v", err, c.ok)
			}
			var ae *AttemptError
			if err != nil && !errors.As(err, &ae) {
				t.Fatalf("Send = %T %v; want an *AttemptError", err, err)
			}
		})
	}
	if n := len(other.calls()); n != 0 {
		t.Errorf("the other host got %d calls; a redirect to it must not be followed", n)
	}
}

func TestSendSlowHandler(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, okAnswer)
	})
	defer close(release)
	start := time.Now()
	err := fixedClient().Send(context.Background(), testApp(rc.URL, ""), testEvent())
	if err == nil {
		t.Fatal("a handler that takes 10 s was taken as accepting")
	}
	if took := time.Since(start); took < Timeout || took > Timeout+3*time.Second {
		t.Errorf("gave up after %v; want about %v", took, Timeout)
	}
}

func TestSendNoSecret(t *testing.T) {
	rc := newReceiver(t, answer(okAnswer))
	if err := fixedClient().Send(context.Background(), testApp(rc.URL, "tok"), testEvent()); err != nil {
		t.Fatal(err)
	}
	for _, r := range rc.calls() {
		for _, s := range []string{r.uri, r.body, r.auth, r.userAgent} {
			if strings.Contains(s, "the-secret-key-never-sent") {
				t.Fatalf("the app's secret key was sent: %+v", r)
			}
		}
	}
}

func TestAttemptErrorHidesTheURL(t *testing.T) {
	// A port nothing listens on: the dial fails.
	rc := newReceiver(t, answer(okAnswer))
	dead := rc.URL
	rc.Close()
	err := fixedClient().Send(context.Background(), testApp(dead+"/cb?pw=hunter2", "xxxxyyyy"), testEvent())
	if err == nil {
		t.Fatal("a send to a closed port succeeded")
	}
	for _, s := range []string{"Sign=", "17773bc3", "hunter2", "SdkAppid"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("the error %q quotes %q of the URL", err, s)
		}
	}
}
