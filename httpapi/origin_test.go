package httpapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
)

// TestWritesRecordTheirOrigin: every write command of an app with a
// callback URL tells the store who made it (the URL's identifier), from
// where (the caller's address, without its port) and when (the server's
// clock), so that its after-events record them; the server is told each
// time. An app without a URL records nothing.
func TestWritesRecordTheirOrigin(t *testing.T) { forFronts(t, testWritesRecordTheirOrigin) }

func testWritesRecordTheirOrigin(t *testing.T, f front) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)
	var told atomic.Int64
	h := startFrontHarness(t, f, httpapi.Limits{}, func(server *httpapi.Server) {
		server.Now = func() time.Time { return now }
		server.EventsRecorded = func() { told.Add(1) }
	})
	apps := slices.Clone(testApps)
	for i := range apps {
		if apps[i].SDKAppID == appMain {
			apps[i].Callback = tally.Callback{URL: "http://127.0.0.1:1/cb", Events: tally.AllEvents}
		}
	}
	h.server.SetApps(apps)

	calls := []struct {
		cmd  string
		body string
		want tally.EventKind
	}{
		{"create_group", `{"Type":"Public","Name":"n","GroupId":"g"}`, tally.EventAfterCreateGroup},
		{"add_group_member", `{"GroupId":"g","MemberList":[{"Member_Account":"bob"}]}`, tally.EventAfterNewMemberJoin},
		{"modify_group_base_info", `{"GroupId":"g","Name":"m"}`, tally.EventAfterGroupInfoChanged},
		{"update_group_counter", `{"GroupId":"g","GroupCounter":[{"Key":"k","Value":1}]}`, tally.EventAfterGroupCounterChanged},
		{"delete_group_counter", `{"GroupId":"g"}`, tally.EventAfterGroupCounterChanged},
		{"delete_group_member", `{"GroupId":"g","MemberToDel_Account":["bob"]}`, tally.EventAfterMemberExit},
		{"destroy_group", `{"GroupId":"g"}`, tally.EventAfterGroupDestroyed},
	}
	for _, c := range calls {
		wantOK(t, h.call(t, c.cmd, query(appMain, "ops"), c.body))
		// The same write by an app without callbacks records nothing.
		wantOK(t, h.call(t, c.cmd, query(appOther, "admin"), c.body))
	}
	if n := told.Load(); n != int64(len(calls)) {
		t.Errorf("EventsRecorded was called %d times, want %d: once per write of the app with callbacks", n, len(calls))
	}

	evs, err := h.store.Events(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(calls) {
		t.Fatalf("%d events recorded, want %d", len(evs), len(calls))
	}
	for i, ev := range evs {
		var body struct{ Operator_Account string }
		if err := json.Unmarshal(ev.Body, &body); err != nil {
			t.Fatal(err)
		}
		if ev.Kind != calls[i].want || ev.App != appMain || ev.ClientIP != "127.0.0.1" || ev.Time != now.UnixMilli() ||
			(ev.Kind != tally.EventAfterGroupDestroyed && body.Operator_Account != "ops") {
			t.Errorf("%s recorded %+v %s; want %s from 127.0.0.1 by ops at %d", calls[i].cmd, ev, ev.Body,
				calls[i].want.Command(), now.UnixMilli())
		}
	}
}
