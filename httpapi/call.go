package httpapi

import (
	"context"
	"net"
	"time"

	"github.com/valyala/fastjson"
)

// call is one REST call on its way through the server: what the checks
// before the handler found out, what the handler reads and the answer it
// builds. One call is taken from the server's pool for each request, with
// the buffer of an earlier answer, so that serving a call allocates neither.
type call struct {
	ctx context.Context
	cmd *command
	// app is the authenticated app, and body the parsed request body;
	// both are set before a handler runs.
	app  *appState
	body *fastjson.Object
	// now is when the call arrived, in Unix seconds by the server's
	// clock: the time a write records (CreateTime, JoinTime).
	now int64
	// at is now to the nanosecond, the time a callback tells; and
	// remoteAddr is the caller's address, whose host is its ClientIP.
	at         time.Time
	remoteAddr string
	// remoteNet is the caller's address on the fasthttp front, which is
	// made a string only when a call needs its ClientIP.
	remoteNet net.Addr
	// answer is built by the handler after the envelope that the server
	// has started.
	answer answer

	// sdkappid and identifier are the URL's, for the log line of a failed
	// call; queryRead says the query parsed, so that they are set.
	sdkappid, identifier string
	queryRead            bool
}

// clientIP is the caller's address without its port: the ClientIP that
// callbacks and after-events tell.
func (c *call) clientIP() string {
	if c.remoteNet != nil {
		return clientIP(c.remoteNet.String())
	}
	return clientIP(c.remoteAddr)
}

// maxPooledAnswer bounds the buffer a call keeps when it goes back to the
// pool: a rare large answer should not pin its memory for good.
const maxPooledAnswer = 64 << 10

// newCall returns a call from the pool for cmd. freeCall has cleared it
// already, all but the answer's buffer, which it has emptied.
func (s *Server) newCall(ctx context.Context, cmd *command) *call {
	c, _ := s.calls.Get().(*call)
	if c == nil {
		c = new(call)
	}
	c.ctx, c.cmd = ctx, cmd
	return c
}

// freeCall returns c to the pool. Nothing of c may be used after.
func (s *Server) freeCall(c *call) {
	b := c.answer.b
	if cap(b) > maxPooledAnswer {
		b = nil
	}
	// Drop the references to the request, which the pool would otherwise
	// keep alive.
	*c = call{answer: answer{b: b[:0]}}
	s.calls.Put(c)
}
