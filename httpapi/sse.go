package httpapi

import (
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"
)

// serveSSE serves a stream as Server-Sent Events: each message is one
// event-less data frame, which a browser's EventSource hands to its
// onmessage, and heartbeats are comments, which it ignores. A stream the
// server ends says why in a last comment; EventSource then reconnects by
// itself, and gets either a fresh snapshot or, when it may no longer
// watch, an envelope, which ends it for good.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request, ls *liveStream, id string) {
	lim := s.Streams.withDefaults()
	rc := http.NewResponseController(w)
	// The server's WriteTimeout would cut the stream off: the stream sets
	// a deadline of its own for each write. (Its ReadTimeout does not
	// bite: net/http clears the read deadline when it starts the read
	// that watches for the client to go, which ends the stream, through
	// r's context, when it does.)
	ls.attach(rc.SetWriteDeadline)
	if c, ok := r.Context().Value(connKey{}).(*conn); ok {
		limitSendBuffer(c)
	} else if fc, ok := r.Context().(*fasthttp.RequestCtx); ok {
		// On the fasthttp front, through its net/http adaptor, whose
		// requests carry the fasthttp request as their context.
		limitSendBuffer(fc.Conn())
	}
	h := w.Header()
	h["Content-Type"] = []string{"text/event-stream"}
	h["Cache-Control"] = []string{"no-cache"}
	// nginx buffers answers unless told not to, which would hold events
	// back.
	h["X-Accel-Buffering"] = []string{"no"}
	// The URL carries its own credentials, so a page of any origin may
	// read what its holder could read anyway; no cookie is involved.
	h["Access-Control-Allow-Origin"] = []string{"*"}
	h[RequestIDHeader] = []string{id}
	ls.deadline(lim.Cutoff)
	w.WriteHeader(http.StatusOK)
	sc := &sseConn{w: w, rc: rc}
	if err := sc.flush(); err != nil {
		return
	}
	err := s.pump(r.Context(), ls, sc, lim)
	if endedByServer(err) {
		ls.deadline(streamEndGrace)
		sc.comment("end: " + endReason(err))
	}
}

// sseConn writes a stream's frames into the answer, which buffers them
// until flush.
type sseConn struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

var (
	sseData = []byte("data: ")
	sseEnd  = []byte("\n\n")
	ssePing = []byte(": ping\n\n")
)

// write writes one message as a data frame. A message is one line of
// JSON, whose strings have their line breaks escaped.
func (c *sseConn) write(msg []byte) error {
	if _, err := c.w.Write(sseData); err != nil {
		return err
	}
	if _, err := c.w.Write(msg); err != nil {
		return err
	}
	_, err := c.w.Write(sseEnd)
	return err
}

func (c *sseConn) flush() error { return c.rc.Flush() }

func (c *sseConn) heartbeat() error {
	if _, err := c.w.Write(ssePing); err != nil {
		return err
	}
	return c.flush()
}

// comment writes a comment of one line, and flushes it.
func (c *sseConn) comment(text string) error {
	text = strings.NewReplacer("\r", " ", "\n", " ").Replace(text)
	if _, err := c.w.Write([]byte(": " + text + "\n\n")); err != nil {
		return err
	}
	return c.flush()
}
