package httpapi

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/tallyserver/tally/stream"
)

// serveWebSocket serves a stream as a WebSocket: each message is one text
// frame, and heartbeats are pings, which a client answers with pongs (a
// browser does so by itself). A stream the server ends is closed with a
// status and a reason: 1000 when its groups are all destroyed, 1001 when
// the server shuts down, 1008 when the client may no longer watch (its
// UserSig expired or its key was removed, its app removed); the reason
// starts with the code of the error, as an envelope would give it.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, ls *liveStream, id string) {
	lim := s.Streams.withDefaults()
	w.Header()[RequestIDHeader] = []string{id}
	hj := &hijackRecorder{ResponseWriter: w}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		// The URL carries its own credentials and no cookie is involved,
		// so a page of any origin may open what its holder could open
		// anyway: the origin check guards against pages riding on a
		// browser's cookies, which this stream does not read.
		InsecureSkipVerify: true,
	})
	if err != nil {
		// The handshake was checked before the stream was let in; only a
		// connection that failed under it gets here.
		s.log.Info("WebSocket handshake failed", "request_id", id, "error", err.Error())
		return
	}
	nc := hj.conn
	// The deadline net/http set for the answer's write (WriteTimeout)
	// stays on the hijacked connection, and would fail the library's own
	// writes, a pong or a close; the stream sets its own.
	nc.SetDeadline(time.Time{})
	limitSendBuffer(nc)
	ls.attach(nc.SetWriteDeadline)
	// The client sends nothing but pongs and its close; CloseRead reads
	// them, and its context is done when the connection is.
	ctx := ws.CloseRead(context.Background())
	wc := &wsConn{ws: ws, ls: ls, cutoff: lim.Cutoff}
	err = s.pump(ctx, ls, wc, lim)

	// The close handshake waits for the client's answer: it gets
	// streamEndGrace, like any last write.
	nc.SetDeadline(time.Now().Add(streamEndGrace))
	if !endedByServer(err) {
		ws.CloseNow()
		return
	}
	code := websocket.StatusPolicyViolation
	switch {
	case errors.Is(err, stream.ErrDone):
		code = websocket.StatusNormalClosure
	case errors.Is(err, stream.ErrClosed):
		code = websocket.StatusGoingAway
	}
	reason := endReason(err)
	if len(reason) > maxCloseReason {
		reason = reason[:maxCloseReason]
	}
	if err := ws.Close(code, reason); err != nil {
		s.log.Debug("WebSocket close failed", "request_id", id, "error", err.Error(), slog.Int("status", int(code)))
	}
}

// maxCloseReason is the most a close frame's reason may hold: the frame's
// 125 bytes less the status.
const maxCloseReason = 123

// wsConn writes a stream's messages as text frames.
type wsConn struct {
	ws     *websocket.Conn
	ls     *liveStream
	cutoff time.Duration
	// pinging says a ping waits for its pong.
	pinging atomic.Bool
}

// write sends one frame. Its deadline is the connection's, which the pump
// sets for each batch.
func (c *wsConn) write(msg []byte) error {
	return c.ws.Write(context.Background(), websocket.MessageText, msg)
}

// flush has nothing to do: each frame is written whole.
func (c *wsConn) flush() error { return nil }

// heartbeat sends a ping, unless one still waits for its pong, and ends
// the stream when the pong does not come within the cutoff: a client whose
// connection is gone without a word is found so. The wait is another
// goroutine's, for one at a time, so that messages go on meanwhile.
func (c *wsConn) heartbeat() error {
	if !c.pinging.CompareAndSwap(false, true) {
		return nil
	}
	go func() {
		defer c.pinging.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), c.cutoff)
		defer cancel()
		if err := c.ws.Ping(ctx); err != nil {
			c.ls.sub.End(errNoPong)
		}
	}()
	return nil
}

var errNoPong = errors.New("no pong came back for a ping")

// hijackRecorder hands the WebSocket library the request's connection,
// and keeps it for the stream, which sets its deadlines. It writes the
// handshake's 101 answer itself, on the hijacked connection: net/http
// writes a 101 that WriteHeader announced when the handler hijacks, but
// fasthttp's net/http adaptor, which serves the stream on the fasthttp
// front, drops it.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
	// switching says the library announced 101 Switching Protocols.
	switching bool
}

func (h *hijackRecorder) WriteHeader(code int) {
	if code == http.StatusSwitchingProtocols {
		h.switching = true
		return
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	h.conn = c
	if h.switching {
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
		h.Header().Write(brw)
		brw.WriteString("\r\n")
		if err := brw.Flush(); err != nil {
			c.Close()
			return nil, nil, err
		}
	}
	return c, brw, nil
}
