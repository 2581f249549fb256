package httpapi

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/tallyserver/tally"
)

// request is what a REST call needs of its HTTP request, whichever front
// received it: net/http (ServeHTTP) or fasthttp (ServeFastHTTP). Both
// fronts fill one in and hand it to the same core, serveCall, so that the
// checks, their order and their answers are the same on either.
type request struct {
	ctx context.Context
	// method is the request's method; path its decoded path; rawQuery
	// its query, still escaped; remoteAddr the caller's host:port.
	method, path, rawQuery, remoteAddr string
	// remote is the caller's address on fasthttp, where remoteAddr is "":
	// its string is made only when a call needs it.
	remote net.Addr
	// httpReq is the net/http request, whose body is read only once the
	// call is let in (after authentication and rate limits, as Tencent
	// checks). It is nil on fasthttp, whose server reads the body with the
	// head, bounded by MaxBodyBytes, and leaves it in body.
	httpReq *http.Request
	body    []byte
}

// netRequest is the request of a call that came in on net/http.
func netRequest(r *http.Request) request {
	return request{ctx: r.Context(), method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, remoteAddr: r.RemoteAddr, httpReq: r}
}

// readBody returns the request's body, read into buf's spare capacity on
// net/http; see readBody.
func (q *request) readBody(buf []byte) ([]byte, error) {
	if q.httpReq == nil {
		return q.body, nil
	}
	return readBody(q.httpReq, buf)
}

// serveCall answers one REST call, whose request id is id, into c: it
// returns the envelope to send and the call's code, having logged the call
// if it failed. The answer is c's buffer, valid until c is freed.
func (s *Server) serveCall(q *request, c *call, id string) ([]byte, tally.Code) {
	code := tally.OK
	if err := s.serve(q, c, s.Now()); err != nil {
		code = tally.ErrorCode(err)
		s.logFailure(q, c, id, code, err)
		c.answer.fail(err)
	}
	return c.answer.end(), code
}

// observe counts a call that started at start, once its answer is written.
func (s *Server) observe(c *call, code tally.Code, start time.Time) {
	s.metrics.observe(c.cmd, code, time.Since(start))
}
