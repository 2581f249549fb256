package httpapi

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"

	"github.com/tallyserver/tally"
)

// RequestIDHeader carries a call's request id, which the failed call's log
// line also holds: a client that reports a failure can name the line.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a client's own request id, which is echoed and
// logged: a longer one is replaced rather than trusted.
const maxRequestIDLen = 64

// newRequestID returns a request id made by the server: 64 random bits in
// 16 hex digits, such as "5f2c9a01e3b4d7c8". The bits come from the
// runtime's per-thread generator, so that making one writes no memory that
// the other cores share, as a process-wide counter would (in a profile of
// two cores serving one hot key, the counter's cache line bounced between
// them on every call); at 64 bits two ids collide about once in 2^32 ids.
func newRequestID() string {
	var b [16]byte
	const hex = "0123456789abcdef"
	n := rand.Uint64()
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = hex[n&15]
		n >>= 4
	}
	return string(b[:])
}

// requestID returns the id of r: the client's own X-Request-Id when it is
// one that is safe to echo and log, or a new one.
func (s *Server) requestID(r *http.Request) string {
	if v := r.Header[RequestIDHeader]; len(v) == 1 && saneRequestID(v[0]) {
		return v[0]
	}
	return newRequestID()
}

// saneRequestID reports whether a client's request id may be used: 1 to 64
// bytes of printable ASCII other than space, which no log format needs to
// escape or can be misled by.
func saneRequestID[T string | []byte](id T) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// logFailure writes the one line that every failed call gets. Client
// errors are Info, since the server is fine and only the caller can act;
// internal errors are Error. Neither the UserSig nor any secret key can
// reach the line: the query is read only for sdkappid and identifier, and
// no error of authentication quotes a sig or a key (a test holds the log to
// that).
func (s *Server) logFailure(r *request, c *call, id string, code tally.Code, err error) {
	level := slog.LevelInfo
	msg := tally.ErrorInfo(err)
	if code == tally.ErrInternal {
		level = slog.LevelError
		// The client is told only the generic message; the operator
		// needs the cause.
		msg = err.Error()
	}
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	if !c.queryRead {
		// A query that did not parse is read leniently, for the log only:
		// url.Values skips the pairs it cannot decode.
		q, _ := url.ParseQuery(r.rawQuery)
		c.sdkappid, c.identifier = q.Get("sdkappid"), q.Get("identifier")
	}
	attrs := []slog.Attr{
		slog.String("command", c.cmd.name),
		slog.String("sdkappid", c.sdkappid),
		slog.String("identifier", c.identifier),
		slog.Int("code", int(code)),
		slog.String("request_id", id),
		slog.String("error", msg),
	}
	if c.cmd == unknownCommand {
		attrs = append(attrs, slog.String("path", r.path))
	}
	s.log.LogAttrs(context.Background(), level, "request failed", attrs...)
}
