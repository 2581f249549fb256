package httpapi

import (
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The fasthttp front keeps what each connection has read of its current
// request's head, as WrapListener's connections do on net/http, so that a
// request fasthttp cannot parse is explained in the words net/http's
// parser finds for it (explainRefusal): fasthttp's own errors mostly lack
// the offending value, and the two fronts should say the same.

// headListener hands out headConns that keep up to max bytes of a head.
type headListener struct {
	net.Listener
	max int
}

func (l *headListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &headConn{Conn: c, max: l.max}, nil
}

// headConn keeps the bytes read since the connection last went idle, up
// to max, and how the last read ended. Only the connection's goroutine
// touches head and readErr: fasthttp reads, calls the ConnState hook and
// the ErrorHandler there. A hijacked connection (a WebSocket) is read by
// another goroutine, so the hook only tells it, atomically, to keep
// nothing more.
type headConn struct {
	net.Conn
	max      int
	head     keptHead
	ahead    readAhead
	readErr  error
	hijacked atomic.Bool
	// read says bytes of a request came since the connection last went
	// idle, and answered that something was written since; Close reads
	// them, perhaps from another goroutine (Shutdown closes idle
	// connections), hence atomic.
	read, answered atomic.Bool
}

func (c *headConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.hijacked.Load() {
		return n, err
	}
	if n > 0 && !c.read.Load() {
		c.read.Store(true)
	}
	c.readErr = err
	c.head.keep(p[:n], c.max)
	return n, err
}

func (c *headConn) Write(p []byte) (int, error) {
	if !c.answered.Load() {
		c.answered.Store(true)
	}
	return c.Conn.Write(p)
}

// Close answers a request that got no answer before it closes: fasthttp
// closes a connection whose input ends after nothing but line ends
// ("\r", "\r\n") without a word, taking them for a sloppy client's
// trailing bytes, and every request is promised an answer. net/http's
// front refuses the same input.
func (c *headConn) Close() error {
	if c.read.Load() && !c.answered.Load() && !c.hijacked.Load() {
		c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		// What came was line ends only, so no HEAD's.
		c.Conn.Write(refusalAnswer([]byte("HTTP/1.1"), "the request ends before its headers do", false))
	}
	return c.Conn.Close()
}

// full reports whether the head kept was cut at max.
func (c *headConn) full() bool { return len(c.head) >= c.max }

// trackHead is the fasthttp server's ConnState hook: a connection that goes
// idle has answered its request, and what it reads next is the next one.
func trackHead(nc net.Conn, state fasthttp.ConnState) {
	c, ok := nc.(*headConn)
	if !ok {
		return
	}
	switch state {
	case fasthttp.StateIdle:
		c.readErr = nil
		c.read.Store(false)
		c.answered.Store(false)
		c.ahead.next(&c.head)
	case fasthttp.StateHijacked:
		c.hijacked.Store(true)
	}
}
