package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
)

// TestStreamEveryChange: a subscriber gets the group's counters first,
// then every change, in Seq order (or, if the hub falls behind, a later
// state in place of several), from writers racing each other, while
// other subscribers join, and ends on what get_group_counter answers; on
// both transports. Each joining subscriber's first message is a state at
// least as new as the last write answered before it joined.
func TestStreamEveryChange(t *testing.T) { forFronts(t, testStreamEveryChange) }

func testStreamEveryChange(t *testing.T, f front) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			h := newFrontHarness(t, f)
			id := h.createGroup(t, appMain, "Public", "")
			h.setCounters(t, appMain, id, counter{"likes", 5}, counter{"views", 1})
			c, refused := tr.open(h, t, h.streamURL(appMain, "admin", id))
			if refused != nil {
				t.Fatalf("refused: %v", refused)
			}
			first := c.next(t)
			want := fmt.Sprintf(`{"GroupId":%q,"Seq":1,"GroupCounter":[{"Key":"likes","Value":5},{"Key":"views","Value":1}]}`, id)
			if first.raw != want {
				t.Fatalf("first message %s, want %s", first.raw, want)
			}

			const writers, each = 4, 50
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						h.increase(t, appMain, id, counter{"likes", 1}, counter{fmt.Sprint("w", w), 1})
					}
				}()
			}
			for range 10 {
				before := h.getCounters(t, appMain, id)[0].Value
				joined, refused := tr.open(h, t, h.streamURL(appMain, "admin", id))
				if refused != nil {
					t.Fatalf("refused: %v", refused)
				}
				if m := joined.next(t); m.GroupCounter[0].Value < before {
					t.Fatalf("a subscriber joining after likes=%d was answered %s", before, m.raw)
				}
				joined.close()
			}
			wg.Wait()
			// Each change adds one to likes, so a message's Seq says what
			// likes must be. The hub tells each change on its own while a
			// group keeps within its budget of messages, as it does here,
			// but may tell several as one if the fan-out falls behind,
			// which a loaded machine can make it do.
			seq, likes, msgs := first.Seq, int64(5), 0
			for seq < 1+writers*each {
				m := c.next(t)
				msgs++
				if m.Seq <= seq {
					t.Fatalf("Seq %d after %d: out of order (%s)", m.Seq, seq, m.raw)
				}
				seq = m.Seq
				if len(m.GroupCounter) < 2 || m.GroupCounter[0] != (counter{"likes", 4 + int64(seq)}) {
					t.Fatalf("change %s after likes=%d; at Seq %d likes is %d", m.raw, likes, seq, 4+seq)
				}
				likes = m.GroupCounter[0].Value
			}
			if msgs != writers*each {
				t.Logf("%d changes came in %d messages", writers*each, msgs)
			}
			if got := h.getCounters(t, appMain, id); got[0] != (counter{"likes", likes}) {
				t.Fatalf("the stream ended on likes=%d; get_group_counter answers %v", likes, got)
			}
		})
	}
}

// TestStreamSameOnBoth: the WebSocket carries exactly the SSE stream's
// messages, byte for byte and in the same order: the groups' states in
// the order named, then the changes as the store told them.
func TestStreamSameOnBoth(t *testing.T) { forFronts(t, testStreamSameOnBoth) }

func testStreamSameOnBoth(t *testing.T, f front) {
	h := newFrontHarness(t, f)
	a := h.createGroup(t, appMain, "Public", "")
	b := h.createGroup(t, appMain, "AVChatRoom", "")
	h.setCounters(t, appMain, a, counter{"k", 1})
	url := h.streamURL(appMain, "admin", a, b)
	sse, _ := h.openSSE(t, url)
	ws, _ := h.openWS(t, url)
	var got [2][]string
	for i, c := range []*client{sse, ws} {
		for range 2 {
			got[i] = append(got[i], c.next(t).raw)
		}
	}
	h.increase(t, appMain, a, counter{"k", 2})
	h.setCounters(t, appMain, b, counter{"x", -7})
	wantOK(t, h.api(t, appMain, "delete_group_counter", map[string]any{"GroupId": a}))
	for i, c := range []*client{sse, ws} {
		for range 3 {
			got[i] = append(got[i], c.next(t).raw)
		}
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
		t.Fatalf("SSE:\n%s\nWebSocket:\n%s", strings.Join(got[0], "\n"), strings.Join(got[1], "\n"))
	}
	for _, m := range got[0] {
		t.Log(m)
	}
}

// TestStreamDeletedAndDestroyed: a delete names the keys removed, a
// destroyed group's last message says so, and the stream ends once all
// its groups are gone, cleanly.
func TestStreamDeletedAndDestroyed(t *testing.T) { forFronts(t, testStreamDeletedAndDestroyed) }

func testStreamDeletedAndDestroyed(t *testing.T, f front) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			h := newFrontHarness(t, f)
			a := h.createGroup(t, appMain, "Public", "")
			b := h.createGroup(t, appMain, "Public", "")
			h.setCounters(t, appMain, a, counter{"k1", 1}, counter{"k2", 2}, counter{"k3", 3})
			c, _ := tr.open(h, t, h.streamURL(appMain, "admin", a, b))
			c.next(t)
			c.next(t)
			wantOK(t, h.api(t, appMain, "delete_group_counter", map[string]any{"GroupId": a, "GroupCounterKeys": []string{"k1", "k3", "nope"}}))
			m := c.next(t)
			if want := fmt.Sprintf(`{"GroupId":%q,"Seq":2,"GroupCounter":[],"Deleted":["k1","k3"]}`, a); m.raw != want {
				t.Fatalf("after the delete: %s, want %s", m.raw, want)
			}
			wantOK(t, h.api(t, appMain, "destroy_group", map[string]any{"GroupId": a}))
			m = c.next(t)
			if want := fmt.Sprintf(`{"GroupId":%q,"Seq":2,"Destroyed":true}`, a); m.raw != want {
				t.Fatalf("after destroy_group: %s, want %s", m.raw, want)
			}
			h.setCounters(t, appMain, b, counter{"still", 1})
			if m := c.next(t); m.GroupId != b || m.Seq != 1 {
				t.Fatalf("the other group's change: %s", m.raw)
			}
			wantOK(t, h.api(t, appMain, "destroy_group", map[string]any{"GroupId": b}))
			msgs, err := c.end(t)
			if len(msgs) != 1 || !msgs[0].Destroyed || msgs[0].GroupId != b {
				t.Fatalf("the last messages: %+v", msgs)
			}
			wantCleanEnd(t, err, websocket.StatusNormalClosure)
		})
	}
}

// TestStreamWhoMayWatch: an admin watches any group, a member their
// group, anyone an AVChatRoom; a user who is not a member is refused,
// and everyone a Community. Refusals are envelopes on both transports.
func TestStreamWhoMayWatch(t *testing.T) { forFronts(t, testStreamWhoMayWatch) }

func testStreamWhoMayWatch(t *testing.T, f front) {
	h := newFrontHarness(t, f)
	private := h.createGroup(t, appMain, "Private", "")
	public := h.createGroup(t, appMain, "Public", "")
	live := h.createGroup(t, appMain, "AVChatRoom", "")
	community := h.createGroup(t, appMain, "Community", "")
	h.addMembers(t, appMain, private, "alice")
	h.addMembers(t, appMain, public, "bob")
	cases := []struct {
		who  string
		ids  []string
		want tally.Code
	}{
		{"admin", []string{private, public, live}, tally.OK},
		{"alice", []string{private}, tally.OK},
		{"alice", []string{private, live}, tally.OK},
		{"carol", []string{live}, tally.OK},
		{"alice", []string{private, public}, tally.ErrNoPermission},
		{"carol", []string{public}, tally.ErrNoPermission},
		{"admin", []string{community}, tally.ErrNoPermission},
		{"alice", []string{community}, tally.ErrNoPermission},
		{"alice", []string{private, "@TGS#2NOSUCHGROUP"}, tally.ErrGroupNotFound},
	}
	for _, tr := range transports {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%s/%d", tr.name, c.who, c.want), func(t *testing.T) {
				cl, refused := tr.open(h, t, h.streamURL(appMain, c.who, c.ids...))
				if c.want == tally.OK {
					if refused != nil {
						t.Fatalf("refused: %v", refused)
					}
					for range c.ids {
						if m := cl.next(t); m.Seq != 0 || m.GroupCounter == nil {
							t.Fatalf("snapshot %s", m.raw)
						}
					}
					cl.close()
					return
				}
				if refused == nil {
					t.Fatal("the stream opened")
				}
				wantCode(t, refused, c.want)
			})
		}
	}
}

// TestStreamRefusals: the checks of the URL, the app, the UserSig, the
// rate limit and the edition, and of the GroupId parameters, answer as
// the REST API does, before any stream starts.
func TestStreamRefusals(t *testing.T) { forFronts(t, testStreamRefusals) }

func testStreamRefusals(t *testing.T, f front) {
	h := newFrontHarness(t, f)
	id := h.createGroup(t, appMain, "Public", "")
	std := h.createGroup(t, appStandard, "Public", "")
	base := h.url + httpapi.StreamPath + "?"
	withIDs := func(app uint32, who string, ids ...string) string {
		return h.streamURL(app, who, ids...)
	}
	hundred := make([]string, 101)
	for i := range hundred {
		hundred[i] = fmt.Sprintf("g%d", i)
	}
	q := query(appMain, "admin")
	q.Set("usersig", "garbage")
	badSig := base + q.Encode() + "&GroupId=" + id
	otherKey := query(appMain, "admin")
	otherKey.Set("usersig", signWith(appMain, "not-the-key", "admin"))
	for _, c := range []struct {
		name string
		url  string
		want tally.Code
	}{
		{"no sdkappid", base + "GroupId=" + id, tally.ErrMissingSDKAppID},
		{"no such app", withIDs(4000000001, "admin", id), tally.ErrNoSuchApp},
		{"disabled app", withIDs(appDisabled, "admin", id), tally.ErrAppDisabled},
		{"malformed sig", badSig, tally.ErrUserSigMalformed},
		{"sig of another key", base + otherKey.Encode() + "&GroupId=" + id, tally.ErrUserSigBadHMAC},
		{"standard edition", withIDs(appStandard, "admin", std), tally.ErrEditionRequired},
		{"no GroupId", withIDs(appMain, "admin"), tally.ErrInvalidParameter},
		{"101 GroupIds", withIDs(appMain, "admin", hundred...), tally.ErrInvalidParameter},
		{"bad GroupId", withIDs(appMain, "admin", id, "bad\x01id"), tally.ErrInvalidGroupID},
		{"missing group", withIDs(appMain, "admin", id, "nosuch"), tally.ErrGroupNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, refused := h.openSSE(t, c.url)
			if refused == nil {
				t.Fatal("the stream opened")
			}
			wantCode(t, refused, c.want)
		})
	}
	t.Run("POST", func(t *testing.T) {
		m := h.do(t, http.MethodPost, httpapi.StreamPath, strings.SplitN(withIDs(appMain, "admin", id), "?", 2)[1], nil)
		wantCode(t, m, tally.ErrBadHTTPRequest)
	})
	t.Run("bad WebSocket handshake", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, withIDs(appMain, "admin", id), nil)
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Sec-WebSocket-Version", "8")
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 4096)
		n, _ := resp.Body.Read(b)
		m, err := checkEnvelope(resp.StatusCode, resp.Header, b[:n])
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, m, tally.ErrBadHTTPRequest)
	})
	t.Run("100 GroupIds", func(t *testing.T) {
		c, refused := h.openSSE(t, withIDs(appMain, "admin", append(hundred[:99], id)...))
		if refused == nil || code(refused) != int64(tally.ErrGroupNotFound) {
			t.Fatalf("100 GroupIds, 99 missing: %v, %v", c, refused)
		}
	})
}

// TestStreamRateLimit: opening a stream is a call of get_group_counter,
// under its per-API limit.
func TestStreamRateLimit(t *testing.T) { forFronts(t, testStreamRateLimit) }

func testStreamRateLimit(t *testing.T, f front) {
	h := newFrontHarness(t, f)
	id := h.createGroup(t, appPerAPI, "Public", "")
	refused := 0
	var open []*client
	for range 5 {
		m := h.api(t, appPerAPI, "get_group_counter", map[string]any{"GroupId": id})
		if code(m) == int64(tally.ErrAPIRateLimit) {
			refused++
		}
		c, m2 := h.openSSE(t, h.streamURL(appPerAPI, "admin", id))
		if m2 != nil {
			wantCode(t, m2, tally.ErrAPIRateLimit)
			refused++
		} else {
			open = append(open, c)
		}
	}
	// Ten calls within a second or two at 5 a second: whatever the
	// windows' edges, some are refused, and no more than five are let
	// through in one second.
	if refused == 0 {
		t.Fatalf("10 calls of get_group_counter and streams at 5/s: none refused")
	}
	for _, c := range open {
		c.next(t)
	}
}

// TestStreamHeartbeatAndTimeouts: an idle stream gets heartbeats, and
// outlives the server's read and write timeouts, which bound requests,
// not streams; on both transports, through the hardened listener.
func TestStreamHeartbeatAndTimeouts(t *testing.T) { forFronts(t, testStreamHeartbeatAndTimeouts) }

func testStreamHeartbeatAndTimeouts(t *testing.T, f front) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			lim := httpapi.Limits{ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}
			h := newStreamHarness(t, f, lim, httpapi.StreamLimits{Heartbeat: 100 * time.Millisecond, Cutoff: time.Second})
			id := h.createGroup(t, appMain, "Public", "")
			c, refused := tr.open(h, t, h.streamURL(appMain, "admin", id))
			if refused != nil {
				t.Fatalf("refused: %v", refused)
			}
			c.next(t)
			time.Sleep(time.Second)
			if tr.name == "SSE" {
				if n := len(c.comments); n < 5 {
					t.Errorf("%d heartbeats in 1s at one per 100ms", n)
				}
				if got := <-c.comments; got != "ping" {
					t.Errorf("heartbeat %q", got)
				}
			}
			h.setCounters(t, appMain, id, counter{"late", 1})
			if m := c.next(t); m.Seq != 1 {
				t.Fatalf("after 1s: %s", m.raw)
			}
			if n := h.server.OpenStreams(); n != 1 {
				t.Fatalf("%d streams open", n)
			}
		})
	}
}

// TestStreamReload: a reload keeps the streams it still lets in, and ends
// those whose app is removed, whose key was removed, or whose identifier
// watched as an admin and is one no more.
func TestStreamReload(t *testing.T) { forFronts(t, testStreamReload) }

func testStreamReload(t *testing.T, f front) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			h := newStreamHarness(t, f, httpapi.Limits{}, httpapi.StreamLimits{Heartbeat: 50 * time.Millisecond})
			id := h.createGroup(t, appMain, "Public", "")
			other := h.createGroup(t, appOther, "AVChatRoom", "")
			h.addMembers(t, appMain, id, "member")

			// The harness signs with main-secret-key; streams are opened
			// with a key being rotated out too.
			apps := append([]tally.App(nil), testApps...)
			main := &apps[0]
			main.OldSecretKey = "retired-secret-key"
			h.server.SetApps(apps)

			open := func(app uint32, key, who, id string) *client {
				q := query(app, who)
				q.Set("usersig", signWith(app, key, who))
				q.Add("GroupId", id)
				c, refused := tr.open(h, t, h.url+httpapi.StreamPath+"?"+q.Encode())
				if refused != nil {
					t.Fatalf("refused: %v", refused)
				}
				c.next(t)
				return c
			}
			oldKey := open(appMain, "retired-secret-key", "member", id)
			newKey := open(appMain, "main-secret-key", "member", id)
			asAdmin := open(appMain, "main-secret-key", "ops", id)
			otherApp := open(appOther, "other-secret-key", "anyone", other)
			if n := h.server.OpenStreams(); n != 4 {
				t.Fatalf("%d streams open", n)
			}

			// The same apps again: every stream stays.
			h.server.SetApps(apps)
			// The old key removed, ops no longer an admin, appOther gone.
			main.OldSecretKey = ""
			main.Admins = []string{"admin"}
			var kept []tally.App
			for _, a := range apps {
				if a.SDKAppID != appOther {
					kept = append(kept, a)
				}
			}
			h.server.SetApps(kept)
			for name, c := range map[string]*client{"old key": oldKey, "no longer admin": asAdmin, "app removed": otherApp} {
				msgs, err := c.end(t)
				if len(msgs) != 0 {
					t.Errorf("%s: messages %v", name, msgs)
				}
				wantCleanEnd(t, err, websocket.StatusPolicyViolation)
			}
			h.setCounters(t, appMain, id, counter{"k", 1})
			if m := newKey.next(t); m.Seq != 1 {
				t.Fatalf("the stream that stays: %s", m.raw)
			}
			// A client sees its close before the server's handler has
			// returned and let go of the stream.
			waitFor(t, 5*time.Second, "one stream to stay open", func() bool { return h.server.OpenStreams() == 1 })
		})
	}
}

// TestStreamSigExpires: a stream ends when its UserSig expires.
func TestStreamSigExpires(t *testing.T) { forFronts(t, testStreamSigExpires) }

func testStreamSigExpires(t *testing.T, f front) {
	var later atomic.Int64
	h := startHarness(t, func(_ *httptest.Server, server *httpapi.Server) {
		server.Now = func() time.Time { return time.Now().Add(time.Duration(later.Load())) }
		server.Streams = httpapi.StreamLimits{Heartbeat: 20 * time.Millisecond}
	})
	id := h.createGroup(t, appMain, "Public", "")
	c, _ := h.openSSE(t, h.streamURL(appMain, "admin", id))
	c.next(t)
	later.Store(int64(2 * 86400 * time.Second))
	_, err := c.end(t)
	wantCleanEnd(t, err, 0)
	var last string
	for len(c.comments) > 0 {
		last = <-c.comments
	}
	if !strings.HasPrefix(last, "end: 70001 ") {
		t.Fatalf("the last comment %q does not say the UserSig expired", last)
	}
}

// TestStreamShutdown: http.Server.Shutdown, as NewHTTPServer sets it up,
// ends every stream at once, SSE and WebSocket, each told why, and
// CloseStreams then finds them all ended.
func TestStreamShutdown(t *testing.T) { forFronts(t, testStreamShutdown) }

func testStreamShutdown(t *testing.T, f front) {
	h := newHardenedHarness(t, f, httpapi.Limits{})
	id := h.createGroup(t, appMain, "Public", "")
	var clients []*client
	for _, tr := range transports {
		for range 5 {
			c, _ := tr.open(h, t, h.streamURL(appMain, "admin", id))
			c.next(t)
			clients = append(clients, c)
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := h.server.CloseStreams(ctx); err != nil {
		t.Fatalf("CloseStreams: %v", err)
	}
	took := time.Since(start)
	t.Logf("Shutdown and CloseStreams with 10 streams open: %v", took)
	if took > 3*time.Second {
		t.Errorf("shutting down took %v", took)
	}
	for _, c := range clients {
		_, err := c.end(t)
		wantCleanEnd(t, err, websocket.StatusGoingAway)
	}
	if n := h.server.OpenStreams(); n != 0 {
		t.Fatalf("%d streams open", n)
	}
}
