package callback

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

func beforeRequest() *BeforeCreateGroup {
	return &BeforeCreateGroup{
		Operator: "leckie", ClientIP: "192.0.2.7", Time: time.UnixMilli(1670574414123),
		Group:   &tally.Group{ID: "g1", Type: tally.GroupPublic, Name: "MyFirstGroup", Owner: "leckie"},
		Members: []tally.Member{{Account: "bob"}, {Account: "peter"}},
	}
}

func beforeApp(url string) *tally.App {
	a := testApp(url, "")
	a.Callback.BeforeCreateGroup = true
	return a
}

func TestBeforeCreateGroupWire(t *testing.T) {
	rc := newReceiver(t, answer(okAnswer))
	refused, failed := fixedClient().BeforeCreateGroup(context.Background(), beforeApp(rc.URL), beforeRequest())
	if refused != nil || failed != nil {
		t.Fatalf("BeforeCreateGroup = %v, %v", refused, failed)
	}
	got := rc.calls()
	if len(got) != 1 {
		t.Fatalf("%d calls, want 1", len(got))
	}
	// Tencent's example (page 34368) with its values, EventTime a number.
	want := received{
		method:      "POST",
		uri:         "/?SdkAppid=1400000001&CallbackCommand=Group.CallbackBeforeCreateGroup&contenttype=json&ClientIP=192.0.2.7&OptPlatform=RESTAPI",
		contentType: "application/json",
		userAgent:   "Tally/test (third-party callback)",
		body:        `{"CallbackCommand":"Group.CallbackBeforeCreateGroup","Operator_Account":"leckie","Owner_Account":"leckie","Type":"Public","Name":"MyFirstGroup","CreateGroupNum":0,"MemberList":[{"Member_Account":"bob"},{"Member_Account":"peter"}],"EventTime":1670574414123}`,
	}
	if got[0] != want {
		t.Errorf("sent\n%+v\nwant\n%+v", got[0], want)
	}
}

func TestBeforeCreateGroupOutcomes(t *testing.T) {
	for _, c := range []struct {
		name       string
		handle     func(http.ResponseWriter, *http.Request)
		code       tally.Code // of the refusal; OK allows
		info       string
		failed     bool
		notAsked   bool
		noCallback bool
	}{
		{name: "allows", handle: answer(okAnswer)},
		{name: "refuses", handle: answer(`{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":""}`),
			code: tally.ErrCallbackRefused, info: "the app's back end refused the operation through a third-party callback"},
		{name: "refuses and says why", handle: answer(`{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":"no more groups today"}`),
			code: tally.ErrCallbackRefused, info: "the app's back end refused the group: no more groups today"},
		{name: "refuses with its own code", handle: answer(`{"ActionStatus":"FAIL","ErrorCode":10150,"ErrorInfo":"banned word in the name"}`),
			code: 10150, info: "banned word in the name"},
		{name: "lowest own code", handle: answer(`{"ActionStatus":"OK","ErrorCode":10100,"ErrorInfo":"a"}`), code: 10100, info: "a"},
		{name: "highest own code", handle: answer(`{"ActionStatus":"OK","ErrorCode":10200,"ErrorInfo":"b"}`), code: 10200, info: "b"},
		// Whatever is not an answer Tencent defines allows, as Tencent's
		// default is when a callback fails.
		{name: "code past the app's range", handle: answer(`{"ActionStatus":"OK","ErrorCode":10201,"ErrorInfo":"c"}`), failed: true},
		{name: "status 500", handle: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, failed: true},
		{name: "not JSON", handle: answer(`refused`), failed: true},
		{name: "lower-case names", handle: answer(`{"actionstatus":"OK","errorcode":1}`), failed: true},
		{name: "slow", handle: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":1}`)
		}, failed: true},
		{name: "not configured", handle: answer(`{"ActionStatus":"OK","ErrorCode":1}`), noCallback: true, notAsked: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t, c.handle)
			app := beforeApp(rc.URL)
			if c.noCallback {
				app.Callback.BeforeCreateGroup = false
			}
			refused, failed := fixedClient().BeforeCreateGroup(context.Background(), app, beforeRequest())
			if got := tally.ErrorCode(refused); got != c.code || (refused != nil && tally.ErrorInfo(refused) != c.info) {
				t.Errorf("refused = %v; want code %d, info %q", refused, c.code, c.info)
			}
			if (failed != nil) != c.failed {
				t.Errorf("failed = %v; want a failure: %v", failed, c.failed)
			}
			// A before-callback is never retried.
			if n, want := len(rc.calls()), map[bool]int{true: 0, false: 1}[c.notAsked]; n != want {
				t.Errorf("%d calls; want %d", n, want)
			}
		})
	}
}
