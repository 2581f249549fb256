package httpapi

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/usersig"
)

// StreamPath is the URL path of the live counter stream. One URL serves
// Server-Sent Events and, to a request that asks to upgrade, a WebSocket;
// both carry the same JSON messages (package stream says what they hold).
const StreamPath = "/stream/group_counter"

// MaxStreamGroups bounds the groups one stream watches.
const MaxStreamGroups = 100

// streamCommand stands for the stream in the metrics and in the log line of
// a stream refused. Its rate limits are get_group_counter's, whose index
// rateCommand gives: opening a stream counts as one call of it.
var streamCommand = &command{index: len(commands) + 1, name: "stream_group_counter", counters: true}

var rateCommand = lookupCommand("/v4/" + groupService + "/get_group_counter")

// serveStream answers the stream's URL. The checks are the REST API's, in
// its order, and a refusal is an envelope like any call's; once they pass,
// the answer is the stream, until the client goes, its groups are all
// destroyed, its app or UserSig stops being valid, or the server stops.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := s.requestID(r)
	c := s.newCall(r.Context(), streamCommand)
	ls, err := s.openStream(r, c, s.Now())
	if err != nil {
		code := tally.ErrorCode(err)
		q := netRequest(r)
		s.logFailure(&q, c, id, code, err)
		c.answer.fail(err)
		writeAnswer(w, id, c.answer.end())
		s.freeCall(c)
		s.metrics.observe(streamCommand, code, time.Since(start))
		return
	}
	s.freeCall(c)
	// The stream's time in the handler is its whole life; what the
	// histogram shows is how long it took to let it in.
	s.metrics.observe(streamCommand, tally.OK, time.Since(start))
	defer s.closeStream(ls)
	if ls.websocket {
		s.serveWebSocket(w, r, ls, id)
	} else {
		s.serveSSE(w, r, ls, id)
	}
}

// openStream runs a stream's checks, and subscribes it.
func (s *Server) openStream(r *http.Request, c *call, now time.Time) (*liveStream, error) {
	if r.Method != http.MethodGet {
		return nil, tally.Errorf(tally.ErrBadHTTPRequest, "method %s is not allowed; the stream takes GET", r.Method)
	}
	ws, err := wantsWebSocket(r)
	if err != nil {
		return nil, err
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	c.sdkappid, c.identifier, c.queryRead = q.sdkappid, q.identifier, true
	st, err := s.authenticateUser(q, now)
	if err != nil {
		return nil, err
	}
	if err := st.admit(c.ctx, rateCommand, now); err != nil {
		return nil, err
	}
	if !st.Edition.HasGroupCounters() {
		return nil, tally.Errorf(tally.ErrEditionRequired, "%s needs the pro edition or above; app %d has %s",
			streamCommand.name, st.SDKAppID, st.Edition)
	}
	ids, err := streamGroupIDs(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	viaAdmin, err := s.mayWatch(r, st, q.identifier, ids)
	if err != nil {
		return nil, err
	}
	if s.hub == nil {
		return nil, tally.Errorf(tally.ErrInternal, "the store tells of no changes (it implements no tally.ChangeFeed), so it cannot be streamed")
	}
	// The sig verified, so it decodes.
	sig, _ := usersig.Decode(q.usersig)
	ls := &liveStream{
		app:        st.SDKAppID,
		identifier: q.identifier,
		usersig:    q.usersig,
		viaAdmin:   viaAdmin,
		expiresAt:  sig.ExpiresAt(),
		websocket:  ws,
	}
	if !s.addStream(ls, ids) {
		return nil, tally.Errorf(tally.ErrInternal, "the server is shutting down")
	}
	return ls, nil
}

// streamGroupIDs returns the groups a stream's query names, each once, in
// the order first named: 1 to MaxStreamGroups GroupId parameters of valid
// ids. The query has passed parseQuery, so every part unescapes.
func streamGroupIDs(raw string) ([]string, error) {
	var ids []string
	n := 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		name, value, _ := strings.Cut(pair, "=")
		if name, _ = unescapeQuery(name); name != "GroupId" {
			continue
		}
		n++
		id, _ := unescapeQuery(value)
		if err := tally.CheckGroupID(id); err != nil {
			return nil, err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	switch {
	case n == 0:
		return nil, invalid("GroupId is required in the URL: name 1 to %d groups, as GroupId=A&GroupId=B", MaxStreamGroups)
	case n > MaxStreamGroups:
		return nil, invalid("the URL names %d GroupIds; a stream watches at most %d", n, MaxStreamGroups)
	}
	return ids, nil
}

// mayWatch checks that identifier may watch each group, in order: an
// admin any group, anyone an AVChatRoom (whose audience joins through the
// SDK and is not kept), and anyone else a group they are a member of; a
// Community's counters no one. It reports whether some group was let in
// only because identifier is an admin, which a reload that takes the
// admin away must undo.
func (s *Server) mayWatch(r *http.Request, st *appState, identifier string, ids []string) (viaAdmin bool, err error) {
	lookups, err := s.store.Groups(r.Context(), st.SDKAppID, ids, false)
	if err != nil {
		return false, err
	}
	admin := st.IsAdmin(identifier)
	for _, l := range lookups {
		switch {
		case l.Err != nil:
			return false, l.Err
		case l.Group.Type == tally.GroupCommunity:
			return false, tally.Errorf(tally.ErrNoPermission, "group %q is a Community, which has no group counters to watch", l.ID)
		case l.Group.Type == tally.GroupAVChatRoom:
			continue
		case admin:
			viaAdmin = true
			continue
		}
		roles, err := s.store.Roles(r.Context(), st.SDKAppID, l.ID, []string{identifier})
		if err != nil {
			return false, err
		}
		if roles[0] == tally.RoleNone {
			return false, tally.Errorf(tally.ErrNoPermission, "%q is not a member of group %q, nor an admin of app %d, so may not watch it",
				identifier, l.ID, st.SDKAppID)
		}
	}
	return viaAdmin, nil
}

// wantsWebSocket reports whether r asks to upgrade to a WebSocket, and
// refuses a handshake that is not one WebSocket's version 13 accepts: the
// library would refuse it with a plain-text 4xx, and every refusal here is
// an envelope.
func wantsWebSocket(r *http.Request) (bool, error) {
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		return false, nil
	}
	bad := func(why string) error {
		return tally.Errorf(tally.ErrBadHTTPRequest, "the WebSocket handshake is malformed: %s", why)
	}
	switch keys := r.Header.Values("Sec-WebSocket-Key"); {
	case !r.ProtoAtLeast(1, 1):
		return false, bad("it needs HTTP/1.1")
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return false, bad("Connection does not name Upgrade")
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return false, bad("Sec-WebSocket-Version must be 13")
	case len(keys) != 1 || !validWebSocketKey(strings.TrimSpace(keys[0])):
		return false, bad("there must be one Sec-WebSocket-Key of 16 bytes in base64")
	}
	return true, nil
}

// validWebSocketKey reports whether k is 16 bytes in base64, as the
// WebSocket library checks it.
func validWebSocketKey(k string) bool {
	b, err := base64.StdEncoding.DecodeString(k)
	return err == nil && len(b) == 16
}

// headerHasToken reports whether a comma-separated header names token,
// matched without regard to case.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}
