package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tallyserver/tally/httpapi/live"
)

// ServeFastHTTP answers a request that came in on fasthttp (see
// NewFastHTTPServer). The REST calls are answered here, by the same core
// as ServeHTTP's. /healthz, /metrics, the stream with its SSE and
// WebSocket, and the live page's path are handed to ServeHTTP through
// fasthttp's net/http adaptor, which supports Flush and Hijack: those
// paths are rare or long-lived, and one implementation of them is worth
// the adaptor's cost.
func (s *Server) ServeFastHTTP(ctx *fasthttp.RequestCtx) {
	if info, ok := checkFastHead(ctx); !ok {
		writeRefusal(ctx, info)
		return
	}
	path := ctx.Path()
	switch string(path) {
	case "/healthz", "/metrics", StreamPath:
		s.netFront(ctx)
		return
	}
	if bytes.HasPrefix(path, []byte(live.Path[:len(live.Path)-1])) {
		s.netFront(ctx)
		return
	}
	start := time.Now()
	id := fastRequestID(ctx)
	cmd := lookupCommandBytes(path)
	// fasthttp recycles ctx and every byte slice it hands out once this
	// handler returns, so what may outlive the call is copied: the query,
	// whose values an Origin carries into the store and the UserSig cache
	// keeps. The body is only parsed, and fastjson copies what it parses;
	// the address is the connection's own.
	q := request{
		// The call's context is not ctx, which fasthttp recycles; a REST
		// call's own waits are bounded by the store and the callbacks.
		ctx:      context.Background(),
		method:   fastMethod(ctx.Method()),
		path:     cmd.path,
		rawQuery: string(ctx.URI().QueryString()),
		remote:   ctx.RemoteAddr(),
		body:     ctx.PostBody(),
	}
	if cmd == unknownCommand {
		q.path = string(path)
	}
	c := s.newCall(q.ctx, cmd)
	defer s.freeCall(c)
	body, code := s.serveCall(&q, c, id)
	h := &ctx.Response.Header
	h.SetContentType("application/json; charset=utf-8")
	h.Set(RequestIDHeader, id)
	// SetBody copies: c's buffer goes back to the pool before fasthttp
	// writes the answer.
	ctx.SetBody(body)
	s.observe(c, code, start)
}

// checkFastHead refuses, with the words of the net/http front, what
// net/http refuses before any handler runs and fasthttp lets through: an
// HTTP version other than 1.0 and 1.1, an Expect other than 100-continue,
// a header name that is not a token, and a bad escape in the URL, which
// fasthttp decodes leniently.
func checkFastHead(ctx *fasthttp.RequestCtx) (info string, ok bool) {
	h := &ctx.Request.Header
	if p := h.Protocol(); string(p) != "HTTP/1.1" && string(p) != "HTTP/1.0" {
		return fmt.Sprintf("%s is not supported; use HTTP/1.1", quote(string(p))), false
	}
	if e := h.Peek("Expect"); len(e) > 0 && !strings.EqualFold(string(e), "100-continue") {
		return fmt.Sprintf("Expect %s is not supported; only 100-continue is", quote(string(e))), false
	}
	for k := range h.All() {
		if !isToken(k) {
			return explainBadRequest("invalid header name"), false
		}
	}
	if uri := h.RequestURI(); bytes.IndexByte(uri, '%') >= 0 {
		if _, err := url.ParseRequestURI(string(uri)); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				return fmt.Sprintf("the URL %s is malformed: %v", quote(ue.URL), ue.Err), false
			}
			return "the URL is malformed: " + err.Error(), false
		}
	}
	return "", true
}

// isToken reports whether b is an HTTP token (RFC 9110, 5.6.2), as a
// header name must be.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// fastMethod returns the method as a string, without allocating for POST,
// the only one the REST API takes.
func fastMethod(m []byte) string {
	if string(m) == http.MethodPost {
		return http.MethodPost
	}
	return string(m)
}

// fastRequestID is requestID for a request on fasthttp: the client's own
// X-Request-Id when it sent exactly one that is safe to echo, or a new one.
func fastRequestID(ctx *fasthttp.RequestCtx) string {
	if v := ctx.Request.Header.PeekAll(RequestIDHeader); len(v) == 1 && saneRequestID(v[0]) {
		return string(v[0])
	}
	return newRequestID()
}
