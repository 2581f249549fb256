package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// hookServer is an app's back end on a loopback port: it refuses
// Group.CallbackBeforeCreateGroup for a group named "refuse", and keeps
// the after-events it accepts, unless it is down (503) or slow.
type hookServer struct {
	*httptest.Server
	down  atomic.Bool
	sleep atomic.Int64 // nanoseconds each call takes
	calls atomic.Int64
	mu    sync.Mutex
	got   []hookEvent
}

type hookEvent struct {
	Command  string
	ClientIP string
	GroupID  string
	EventID  string
	Seq      uint64
	Body     map[string]any
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.calls.Add(1)
		data, _ := io.ReadAll(r.Body)
		if d := time.Duration(h.sleep.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if h.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var body map[string]any
		if err := json.Unmarshal(data, &body); err != nil {
			t.Errorf("callback body %s: %v", data, err)
		}
		q := r.URL.Query()
		if q.Get("CallbackCommand") == "Group.CallbackBeforeCreateGroup" {
			if body["Name"] == "refuse" {
				io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":1,"ErrorInfo":"not today"}`)
				return
			}
			io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
			return
		}
		seq, _ := body["Seq"].(float64)
		h.mu.Lock()
		h.got = append(h.got, hookEvent{q.Get("CallbackCommand"), q.Get("ClientIP"), fmt.Sprint(body["GroupId"]),
			fmt.Sprint(body["EventId"]), uint64(seq), body})
		h.mu.Unlock()
		io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) events(group string) []hookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hookEvent
	for _, e := range h.got {
		if group == "" || e.GroupID == group {
			out = append(out, e)
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func callbackConfig(hookURL string, extra ...string) string {
	return testConfig(append([]string{fmt.Sprintf("callback_url: %q", hookURL+"/im"),
		"callback_events: [Group.CallbackBeforeCreateGroup, Group.CallbackAfterCreateGroup, Group.CallbackAfterGroupDestroyed, Group.CallbackAfterGroupInfoChanged, Group.CallbackAfterNewMemberJoin, Group.CallbackAfterMemberExit, Group.CallbackAfterGroupCounterChanged]"},
		extra...)...)
}

// TestCallbacks runs a server whose app has every callback: a refusing
// before-callback leaves no group, every write's after-event arrives in
// order with the caller's address, a reload moves the events to a new
// URL, and the metrics are served.
func TestCallbacks(t *testing.T) {
	h := newHookServer(t)
	m := newMain(t, callbackConfig(h.URL))
	m.Admin = "127.0.0.1:0"
	m.open(t)
	c := m.client(testKey)

	r, err := c.call(t.Context(), "create_group", []byte(`{"Type":"Public","Name":"refuse","GroupId":"no"}`))
	if err != nil || r.ErrorCode != 10016 {
		t.Fatalf("a refused create_group: %+v, %v; want 10016", r, err)
	}
	var info struct{ GroupInfo []struct{ ErrorCode int } }
	raw, err := c.hc.Post(c.url("get_group_info"), "application/json", strings.NewReader(`{"GroupIdList":["no"]}`))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(raw.Body).Decode(&info)
	raw.Body.Close()
	if len(info.GroupInfo) != 1 || info.GroupInfo[0].ErrorCode != 10010 {
		t.Fatalf("the refused group: %+v; want 10010, no group", info)
	}

	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g", "GroupId": "g", "Owner_Account": "owner"})
	c.mustOK(t, "add_group_member", map[string]any{"GroupId": "g", "MemberList": []any{map[string]any{"Member_Account": "bob"}}})
	c.mustOK(t, "modify_group_base_info", map[string]any{"GroupId": "g", "Name": "renamed"})
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "g", "GroupCounter": []counter{{"likes", 1}}})
	c.mustOK(t, "delete_group_counter", map[string]any{"GroupId": "g"})
	c.mustOK(t, "delete_group_member", map[string]any{"GroupId": "g", "MemberToDel_Account": []string{"bob"}})
	c.mustOK(t, "destroy_group", map[string]any{"GroupId": "g"})
	want := []string{"Group.CallbackAfterCreateGroup", "Group.CallbackAfterNewMemberJoin", "Group.CallbackAfterGroupInfoChanged",
		"Group.CallbackAfterGroupCounterChanged", "Group.CallbackAfterGroupCounterChanged", "Group.CallbackAfterMemberExit",
		"Group.CallbackAfterGroupDestroyed"}
	waitUntil(t, "every after-event", 20*time.Second, func() bool { return len(h.events("g")) >= len(want) })
	got := h.events("g")
	for i, e := range got {
		if i >= len(want) || e.Command != want[i] || e.ClientIP != "127.0.0.1" || e.Body["CallbackCommand"] != e.Command {
			t.Fatalf("event %d: %+v; want %s from 127.0.0.1 (all: %+v)", i, e, want[i], got)
		}
	}
	if len(h.events("no")) != 0 {
		t.Errorf("the refused group has events: %+v", h.events("no"))
	}

	// A reload moves the events to a new URL.
	next := newHookServer(t)
	writeFile(t, m.ConfigPath, callbackConfig(next.URL))
	m.Reload()
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g2", "GroupId": "g2"})
	waitUntil(t, "the event at the new URL", 20*time.Second, func() bool { return len(next.events("g2")) == 1 })
	if len(h.events("g2")) != 0 {
		t.Error("an event went to the old URL after the reload")
	}

	resp, err := http.Get("http://" + m.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"tally_callback_backlog", "tally_callback_attempts_total", "tally_callback_failures_total",
		"tally_callback_delivered_total", "tally_callback_oldest_age_seconds"} {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
}

// TestSlowHandlerDoesNotSlowWrites: with a back end that takes 10 s per
// call, and so fails every attempt, writes answer as fast as without one.
// The bound is loose: were delivery in the way, each write would wait 2 s
// for the callback's timeout.
func TestSlowHandlerDoesNotSlowWrites(t *testing.T) {
	h := newHookServer(t)
	h.sleep.Store(int64(10 * time.Second))
	m := newMain(t, testConfig(fmt.Sprintf("callback_url: %q", h.URL)))
	m.open(t)
	c := m.client(testKey)
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g", "GroupId": "g"})
	start := time.Now()
	const writes = 20
	for range writes {
		c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "g", "GroupCounter": []counter{{"n", 1}}})
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("%d writes took %v with a slow callback handler", writes, took)
	}
	waitUntil(t, "an attempt at the slow handler", 10*time.Second, func() bool { return h.calls.Load() > 0 })
}

// TestCallbacksSurviveKillNine writes from several clients while the
// back end is down, kills the server with SIGKILL, restarts it with the
// back end up, and checks that every acknowledged write's after-event
// arrives, each group's in order.
func TestCallbacksSurviveKillNine(t *testing.T) {
	needBinary(t)
	h := newHookServer(t)
	h.down.Store(true)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig(fmt.Sprintf("callback_url: %q", h.URL),
		"rate_limit_per_api: 0", "rate_limit_per_app: 0"))
	args := []string{"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data")}
	s := startServer(t, args...)

	const groups = 4
	c := newAPI(s.base, testAppID, testKey, testAdmin)
	for g := range groups {
		c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "n", "GroupId": fmt.Sprintf("k%d", g)})
	}
	var (
		acked [groups]atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"GroupId": fmt.Sprintf("k%d", g), "Mode": "Increase", "GroupCounter": []counter{{"n", 1}}})
			for !stop.Load() {
				r, err := c.call(t.Context(), "update_group_counter", body)
				if err != nil {
					return // the kill
				}
				if r.ErrorCode != 0 {
					t.Errorf("update_group_counter: %+v", r)
					return
				}
				acked[g].Add(1)
			}
		}()
	}
	waitUntil(t, "attempts at the handler that is down", 20*time.Second, func() bool { return h.calls.Load() > 0 })
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	s.kill()
	wg.Wait()

	h.down.Store(false)
	s = startServer(t, args...)
	for g := range groups {
		id := fmt.Sprintf("k%d", g)
		n := acked[g].Load()
		waitUntil(t, fmt.Sprintf("the events of %s's %d acknowledged writes", id, n), 60*time.Second, func() bool {
			evs := h.events(id)
			return len(evs) > 0 && int64(evs[len(evs)-1].Seq) >= n
		})
		evs := h.events(id)
		if evs[0].Command != "Group.CallbackAfterCreateGroup" {
			t.Errorf("%s: first event %s", id, evs[0].Command)
		}
		// In order, none missing: the Seqs run 1, 2, 3, ... (a write in
		// doubt at the kill may add one more at the end).
		for i, e := range evs[1:] {
			if e.Seq != uint64(i+1) {
				t.Fatalf("%s: event %d has Seq %d, want %d", id, i+1, e.Seq, i+1)
			}
		}
		t.Logf("%s: %d writes acknowledged, %d events delivered", id, n, len(evs)-1)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.wait(15 * time.Second)
}
