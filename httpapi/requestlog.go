package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/tallyserver/tally"
)

// RequestIDHeader carries a call's request id, which the failed call's log
// line also holds: a client that reports a failure can name the line.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a client's own request id, which is echoed and
// logged: a longer one is replaced rather than trusted.
const maxRequestIDLen = 64

// requestIDs makes request ids: a random prefix drawn once per server, so
// that the ids of two processes, or of one process before and after a
// restart, do not collide, and a counter, so that making one costs an
// atomic add rather than a read of the random source.
type requestIDs struct {
	prefix string // 8 hex digits and a dash
	next   atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var r [4]byte
	rand.Read(r[:]) // crypto/rand.Read never fails.
	return &requestIDs{prefix: fmt.Sprintf("%08x-", binary.BigEndian.Uint32(r[:]))}
}

// make returns the next id, such as "5f2c9a01-1b". The digits are built on
// the stack, so the string is the only allocation.
func (ids *requestIDs) make() string {
	var b [32]byte
	return string(strconv.AppendUint(append(b[:0], ids.prefix...), ids.next.Add(1), 16))
}

// requestID returns the id of r: the client's own X-Request-Id when it is
// one that is safe to echo and log, or a new one.
func (s *Server) requestID(r *http.Request) string {
	if v := r.Header[RequestIDHeader]; len(v) == 1 && saneRequestID(v[0]) {
		return v[0]
	}
	return s.ids.make()
}

// saneRequestID reports whether a client's request id may be used: 1 to 64
// bytes of printable ASCII other than space, which no log format needs to
// escape or can be misled by.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// callInfo is what the log line of a failed call names beyond its
// command: serve fills it in as far as it gets.
type callInfo struct {
	sdkappid, identifier string
	parsed               bool // the query parsed, so the fields above are from it
}

// logFailure writes the one line that every failed call gets. Client
// errors are Info, since the server is fine and only the caller can act;
// internal errors are Error. Neither the UserSig nor any secret key can
// reach the line: the query is read only for sdkappid and identifier, and
// no error of authentication quotes a sig or a key (a test holds the log to
// that).
func (s *Server) logFailure(r *http.Request, c int, id string, info *callInfo, code tally.Code, err error) {
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
	if !info.parsed {
		// A query that did not parse is read leniently, for the log only:
		// url.Values skips the pairs it cannot decode.
		q := r.URL.Query()
		info.sdkappid, info.identifier = q.Get("sdkappid"), q.Get("identifier")
	}
	attrs := []slog.Attr{
		slog.String("command", commandName(c)),
		slog.String("sdkappid", info.sdkappid),
		slog.String("identifier", info.identifier),
		slog.Int("code", int(code)),
		slog.String("request_id", id),
		slog.String("error", msg),
	}
	if c == unknownCommand {
		attrs = append(attrs, slog.String("path", r.URL.Path))
	}
	s.log.LogAttrs(context.Background(), level, "request failed", attrs...)
}
