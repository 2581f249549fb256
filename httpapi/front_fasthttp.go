package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// ServeFastHTTP answers a request that came in on fasthttp (see
// NewFastHTTPServer). The REST calls, every path under /v4/, are answered
// here, by the same core as ServeHTTP's; everything else (/healthz,
// /metrics, the stream with its SSE and WebSocket, the live page) is
// handed to ServeHTTP through fasthttp's net/http adaptor, which supports
// Flush and Hijack: those paths are rare or long-lived, and keeping one
// implementation of them is worth the adaptor's cost.
func (s *Server) ServeFastHTTP(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if !bytes.HasPrefix(path, []byte("/v4/")) {
		s.netFront(ctx)
		return
	}
	start := time.Now()
	id := fastRequestID(ctx)
	cmd := lookupCommandBytes(path)
	// fasthttp recycles ctx and every byte slice it hands out once this
	// handler returns, so what may outlive the call is copied: the query,
	// whose values an Origin carries into the store, and the address. The
	// body is only parsed, and fastjson copies what it parses.
	q := request{
		// The call's context is not ctx, which fasthttp recycles; a REST
		// call's own waits are bounded by the store and the callbacks.
		ctx:        context.Background(),
		method:     fastMethod(ctx.Method()),
		path:       cmd.path,
		rawQuery:   string(ctx.URI().QueryString()),
		remoteAddr: ctx.RemoteAddr().String(),
		body:       ctx.PostBody(),
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
