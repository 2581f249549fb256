package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/tallyserver/tally"
)

// FastHTTPServer is the fasthttp front of a Server: the same API as
// NewHTTPServer's, on github.com/valyala/fasthttp, which costs a call
// less CPU than net/http. Serve it with Serve on a plain listener (or a
// TLS one): it writes its own parse errors as envelopes (refuse), so it
// needs no WrapListener; Serve's connections keep each request's head so
// that the envelopes say what net/http's front says.
type FastHTTPServer struct {
	*fasthttp.Server
	api *Server
}

// NewFastHTTPServer returns the fasthttp server that serves api within
// lim. The limits map onto fasthttp's options as follows:
//
//   - ReadHeaderTimeout is fasthttp's ReadTimeout, which runs from a new
//     connection's start, or from the first byte of a kept-alive
//     connection's next request, to the end of the head; then
//     HeaderReceived gives the body ReadTimeout of its own. net/http
//     counts ReadTimeout from the request's first byte instead, so a
//     body here may take up to ReadHeaderTimeout longer.
//   - WriteTimeout is set by fasthttp when it starts to write the answer,
//     not at the end of the head as net/http does: the handler's own time
//     is not counted.
//   - IdleTimeout is fasthttp's.
//   - MaxHeaderBytes is the connection's read buffer: a head that does not
//     fit it is refused (net/http allows 4 KiB of slack over it).
//     ReduceMemoryUsage gives the buffer back while a connection is idle,
//     so that thousands of idle connections hold little, as on net/http;
//     without it each would pin 68 KiB. It costs a call about 2µs of CPU
//     (tallybench load, get: 0.91× the fasthttp no-op with it, 0.95×
//     without).
//
// As NewHTTPServer's, the server caps no connections: Concurrency is
// fasthttp's cap, answered with 503 beyond it, and is set out of reach,
// and no cap per address is set. Shutdown ends api's streams first.
func NewFastHTTPServer(api *Server, log *slog.Logger, lim Limits) *FastHTTPServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim = lim.withDefaults()
	srv := &fasthttp.Server{
		Handler:      api.ServeFastHTTP,
		ErrorHandler: refuse(lim),
		ConnState:    trackHead,
		HeaderReceived: func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{ReadTimeout: lim.ReadTimeout}
		},
		ReadTimeout:        lim.ReadHeaderTimeout,
		WriteTimeout:       lim.WriteTimeout,
		IdleTimeout:        lim.IdleTimeout,
		ReadBufferSize:     lim.MaxHeaderBytes,
		ReduceMemoryUsage:  true,
		MaxRequestBodySize: MaxBodyBytes,
		Concurrency:        math.MaxInt32,
		// The REST API reads JSON bodies only; a multipart one is not
		// parsed before the handler refuses it.
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		// Parse errors are answered by refuse, which words them itself;
		// the request's bytes are not quoted in the errors it reads.
		SecureErrorLogMessage: true,
		Logger:                fastLogger{log},
	}
	return &FastHTTPServer{Server: srv, api: api}
}

// Shutdown stops the server gracefully, as http.Server's Shutdown does
// with NewHTTPServer's hook: the streams are told to end first, since
// fasthttp waits for every handler, and a stream's ends only when told.
// Server.CloseStreams then waits for them.
func (f *FastHTTPServer) Shutdown(ctx context.Context) error {
	f.api.endStreams()
	return f.ShutdownWithContext(ctx)
}

// fastLogger passes fasthttp's own complaints to log, at warning level.
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}

// Serve serves ln, on connections that keep each request's head for
// refuse's explanations.
func (f *FastHTTPServer) Serve(ln net.Listener) error {
	return f.Server.Serve(&headListener{Listener: ln, max: f.ReadBufferSize})
}

// refuse returns fasthttp's ErrorHandler, which answers a request the
// server could not read: with HTTP 200 and an ErrBadHTTPRequest envelope,
// as every refusal on net/http's front is answered (refusal.go), rather
// than fasthttp's plain-text 4xx. fasthttp closes the connection after it.
func refuse(lim Limits) func(ctx *fasthttp.RequestCtx, err error) {
	return func(ctx *fasthttp.RequestCtx, err error) {
		hc, _ := ctx.Conn().(*headConn)
		if hc != nil && len(hc.head) == 0 && ctx.ConnRequestNum() == 1 && isBareNetError(err) {
			// A new connection that sent nothing in time: net/http
			// closes it without a word, and so does this front.
			ctx.Conn().Close()
			return
		}
		ctx.Response.Reset()
		writeRefusal(ctx, explainFastError(ctx, hc, err, lim))
	}
}

// writeRefusal answers a request that is refused before it is a call: HTTP
// 200, an ErrBadHTTPRequest envelope saying info, and the connection
// closed, as net/http's front answers what net/http refuses; to a HEAD,
// as the net/http front tells one (readAhead.refusedHEAD), the answer's
// head alone.
func writeRefusal(ctx *fasthttp.RequestCtx, info string) {
	var a answer
	a.fail(&tally.Error{Code: tally.ErrBadHTTPRequest, Info: info})
	ctx.Response.Header.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(a.end())
	if hc, ok := ctx.Conn().(*headConn); ok {
		ctx.Response.SkipBody = hc.ahead.refusedHEAD(hc.head)
	}
	ctx.SetConnectionClose()
}

// explainFastError says what was wrong with a request fasthttp could not
// read, in the words the net/http front finds for it. hc holds what the
// connection read of the request; it is nil only on a connection that did
// not come from Serve.
func explainFastError(ctx *fasthttp.RequestCtx, hc *headConn, err error, lim Limits) string {
	var head []byte
	var readErr error
	full := false
	if hc != nil {
		head, readErr, full = hc.head, hc.readErr, hc.full()
	}
	var small *fasthttp.ErrSmallBuffer
	var badHost fasthttp.InvalidHostError
	inner := innermost(err)
	// fasthttp words every failure to read a head so; what fails after
	// the head is the request's URI or its body.
	inHead := strings.HasPrefix(err.Error(), "error when reading request headers")
	var info string
	switch {
	case errors.As(err, &small):
		info = explainRefusal(http.StatusRequestHeaderFieldsTooLarge, "", head, full, readErr, lim)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		n := int64(ctx.Request.Header.ContentLength())
		if n <= MaxBodyBytes {
			n = MaxBodyBytes + 1
		}
		info = tally.ErrorInfo(errBodyTooLarge(n))
	case errors.As(err, &badHost):
		info = explainBadRequest("malformed Host header")
	case inner.Error() == "missing required host header in request":
		info = explainBadRequest("missing required Host header")
	case strings.HasPrefix(inner.Error(), "invalid request uri"):
		if req, perr := http.ReadRequest(bufio.NewReader(bytes.NewReader(head))); perr == nil && req.RequestURI == "*" {
			// "OPTIONS *" and HTTP/2's preface, which net/http hands
			// to the handler, and the handler refuses for their method.
			info = fmt.Sprintf("method %s is not allowed; the REST API takes POST", req.Method)
			break
		}
		fallthrough
	case inHead:
		info = explainRefusal(http.StatusBadRequest, "Bad Request", head, full, readErr, lim)
		if info == "the request is not valid HTTP/1.1" {
			// net/http's parser takes what fasthttp's does not: say why
			// fasthttp refused it.
			info += ": " + inner.Error()
		}
	default:
		info = fmt.Sprintf("reading the body failed: %v", inner)
	}
	if len(info) > maxInfo {
		info = info[:maxInfo-3] + "..."
	}
	return info
}

// innermost returns the error at the end of err's chain: fasthttp wraps
// the parser's complaint in text about buffers.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// isBareNetError reports whether err is the connection's own error, as
// fasthttp passes it on when a new connection sent nothing at all, not one
// it wrapped while reading a head or body.
func isBareNetError(err error) bool {
	_, ok := err.(net.Error)
	return ok
}
