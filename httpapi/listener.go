package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// net/http answers a request it cannot parse (a broken request line, a bad
// escape in the path, a bad Content-Length, an unsupported
// Transfer-Encoding, a head over MaxHeaderBytes, an Expect other than
// 100-continue) itself, before any handler runs, with a plain-text 4xx or
// 5xx written straight to the connection. The protocol promises HTTP 200
// and an envelope for every answer, so the connections of WrapListener
// replace those answers on their way out; see refusal.go for how they are
// recognised and what replaces them.

// WrapListener returns ln with connections that turn net/http's own
// refusals into HTTP 200 answers with an ErrBadHTTPRequest envelope. lim
// must be the limits of the server from NewHTTPServer that serves it.
func WrapListener(ln net.Listener, lim Limits) net.Listener {
	lim = lim.withDefaults()
	return &listener{Listener: ln, lim: lim}
}

type listener struct {
	net.Listener
	lim Limits
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, lim: &l.lim}, nil
}

// keptHead is the start of a request as its connection read it, kept so
// that a refusal of the request can say what was wrong with it. Both
// fronts' connections keep one (conn here, headConn on fasthttp).
type keptHead []byte

// keep adds what a read brought, until max bytes are kept: only a
// request's first bytes are ever needed, and the bound keeps a large body
// from costing more than one small copy.
func (h *keptHead) keep(p []byte, max int) {
	if room := max - len(*h); len(p) > 0 && room > 0 {
		*h = append(*h, p[:min(len(p), room)]...)
	}
}

// reset empties h for the next request, and gives back what a large
// request grew, so that thousands of idle connections hold little.
func (h *keptHead) reset() {
	if cap(*h) > 8<<10 {
		*h = nil
	} else {
		*h = (*h)[:0]
	}
}

// readAhead remembers, across a connection's requests, the head kept for
// the last request that brought any bytes, and how many requests have
// ended since it began: a pipelined request comes in the read-ahead of an
// earlier one's read, without a read of its own, so its head is there.
type readAhead struct {
	prev keptHead
	// done counts the requests that ended since prev began; -1 when prev
	// was too large to keep.
	done int
}

// next is called as a request ends, with the head kept for it, which it
// takes over and empties.
func (r *readAhead) next(head *keptHead) {
	switch {
	case len(*head) == 0:
		if r.done >= 0 {
			r.done++
		}
	case cap(*head) > 8<<10:
		// Not kept while the connection idles, as reset would not.
		*head, r.prev, r.done = nil, nil, -1
	default:
		r.prev, *head, r.done = *head, r.prev, 1
	}
	head.reset()
}

// refusedHEAD reports whether the request a refusal answers, whose head
// kept since it began is head, is a HEAD as Go's own parser reads it
// (http.ReadRequest): its client reads no body after the answer's head,
// and would read one sent as the next answer. A head that parses as no
// request is no HEAD, as a cut-short one is not to a client still sending
// it. An empty head is a pipelined request's: the one after the done
// requests in prev.
func (r *readAhead) refusedHEAD(head []byte) bool {
	src, skip := head, 0
	if len(head) == 0 {
		if r.done < 0 {
			return false
		}
		src, skip = r.prev, r.done
	}
	br := bufio.NewReader(bytes.NewReader(src))
	for i := 0; ; i++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return false
		}
		if i == skip {
			return req.Method == http.MethodHead
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return false
		}
	}
}

// conn keeps what it has read of the current request's head, so that when
// net/http refuses the request the answer can say what was wrong with it:
// net/http's own answer mostly says only "400 Bad Request".
type conn struct {
	net.Conn
	lim *Limits

	// head holds the bytes read since the connection last went idle,
	// that is since the current request began, up to headCap bytes: as
	// much as net/http reads before it gives up on a head.
	//
	// It and readErr are touched only by Read, by the ConnState hook and
	// by a refusal's Write. net/http never runs those at the same time: its
	// background read of the next request's first byte runs while the
	// handler writes, but the handler's answers never take the refusal
	// path, and net/http waits for that read to end before it calls the
	// hook or reads again.
	head keptHead
	// ahead holds the heads of earlier requests that a pipelined one
	// may have come with; the same goroutines touch it as head.
	ahead readAhead
	// readErr is the error of the last read, which tells a head that
	// net/http refused because it was cut short by a timeout or by the
	// client's end of input from one that arrived whole but malformed.
	readErr error
	// hijacked says a handler has taken the connection over (a
	// WebSocket): what it reads is no request head any more, and is not
	// kept. The hook sets it before the handler has the connection, so
	// it needs no lock.
	hijacked bool
	// handled is set while a handler answers the current request, from
	// when it starts until the connection goes idle, by which time its
	// answer has been written whole. An answer written then is the
	// handler's, whatever its status: /healthz's 503 must reach the load
	// balancer as it is, not as a refusal's envelope. Only the
	// connection's own goroutine touches it; it is atomic so that this
	// need not be argued again should net/http change.
	handled atomic.Bool
	// answered says something was written since the request began, and
	// cutShort that the client's input ended within the request's head.
	// Close reads them, perhaps from another goroutine (Server.Close
	// closes every connection), hence atomic.
	answered, cutShort atomic.Bool
}

// headCap is how much of a request conn keeps: net/http reads at most
// MaxHeaderBytes plus 4 KiB of slack for its buffer before it refuses a
// head as too large.
func (c *conn) headCap() int { return c.lim.MaxHeaderBytes + 4<<10 }

// Read keeps a copy of what it reads until headCap bytes are kept.
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.readErr = err
	if !c.hijacked {
		c.head.keep(p[:n], c.headCap())
	}
	if err == io.EOF && len(c.head) > 0 && !c.hijacked && !bytes.Contains(c.head, []byte("\r\n\r\n")) {
		c.cutShort.Store(true)
	}
	return n, err
}

// Close answers a request whose head the client's input ended within,
// if nothing answered it, before it closes. net/http drops such a request
// without a word when its request line fills its 4 KiB buffer before the
// input ends (a shorter one it refuses, and Write replaces the refusal),
// and every request is promised an answer.
func (c *conn) Close() error {
	if c.cutShort.Load() && !c.answered.Load() {
		c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		// A head cut short is no HEAD yet to the client still sending it.
		c.Conn.Write(refusalAnswer([]byte("HTTP/1.1"), "the request ends before its headers do", false))
	}
	return c.Conn.Close()
}

// Write passes everything through except a refusal by net/http itself,
// which it replaces. The API's handler answers every call with status
// 200, so on the hot path this costs one byte test: only a write whose
// status would start with 4 or 5 is looked at further, and only when no
// handler is answering (/healthz answers 503 when the store cannot serve).
func (c *conn) Write(p []byte) (int, error) {
	if !c.answered.Load() {
		c.answered.Store(true)
	}
	if len(p) > len("HTTP/1.1 400 ") && (p[9] == '4' || p[9] == '5') && string(p[:7]) == "HTTP/1." && !c.handled.Load() {
		if answer, ok := c.replaceRefusal(p); ok {
			if _, err := c.Conn.Write(answer); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// CloseWrite passes the half-close net/http does after refusing a head as
// too large through to the TCP connection. Without it net/http would skip
// the half-close, and a client still sending its head would more likely
// lose the answer to a reset.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// trackRequestStart is the ConnState hook of NewHTTPServer. net/http makes
// a connection idle when it has finished a request, body included, and
// before it reads the next: what the connection reads from then on is the
// next request. A connection starts with nothing kept, so the first
// request needs no hook. A hijacked connection reads no more requests.
func trackRequestStart(c net.Conn, state http.ConnState) {
	if state == http.StateHijacked {
		// A WebSocket may stay open for days: give back its head, and
		// keep nothing more of it.
		if hc, ok := c.(*conn); ok {
			hc.hijacked, hc.head = true, nil
		}
		return
	}
	if state != http.StateIdle {
		return
	}
	if hc, ok := c.(*conn); ok {
		hc.handled.Store(false)
		hc.answered.Store(false)
		hc.cutShort.Store(false)
		hc.ahead.next(&hc.head)
	}
}

// connKey is the context key under which withConn keeps a request's conn.
type connKey struct{}

// withConn is the ConnContext hook of NewHTTPServer: it keeps each
// connection of WrapListener in its requests' contexts, for handled.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*conn); ok {
		return context.WithValue(ctx, connKey{}, hc)
	}
	return ctx
}

// handled tells the connection of each request that h answers it, so that
// an answer of h's with a status of 4xx or 5xx is not taken for one of
// net/http's refusals and replaced.
func handled(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*conn); ok {
			c.handled.Store(true)
		}
		h.ServeHTTP(w, r)
	})
}
