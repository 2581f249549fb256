package main

import (
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// serveFastNoop serves the no-op handler on fasthttp: the second ceiling,
// which shows what net/http itself costs a call (issue 15 weighs a front
// on another HTTP server against it). Its timeouts are Tally's defaults,
// as the net/http ceiling's are.
func serveFastNoop(ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json; charset=utf-8")
			ctx.SetBody(noopAnswer(ctx.PostBody(), nil))
		},
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		MaxRequestBodySize:    1 << 20,
		NoDefaultServerHeader: true,
	}
	return srv.Serve(ln)
}
