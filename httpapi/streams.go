package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/stream"
)

// StreamLimits bound the live counter streams. A zero field takes its
// default, so tests can shrink the one they exercise.
type StreamLimits struct {
	// Heartbeat is how often a stream sends something with nothing to
	// say (an SSE comment, a WebSocket ping), so that proxies and load
	// balancers that close idle connections leave it open. Default 15s,
	// under the 30-60s idle timeouts common in front of servers.
	Heartbeat time.Duration
	// Cutoff is how long a stream waits on its client: a write, or a
	// WebSocket ping's pong, that has not gone through in that time ends
	// the stream. A client that stops reading fills its connection's
	// buffers, after which the next write waits; so it is cut off within
	// Cutoff of that, and meanwhile costs a bounded queue in the hub and
	// nothing of anyone else. Default 30s.
	Cutoff time.Duration
}

// The defaults of StreamLimits.
const (
	DefaultStreamHeartbeat = 15 * time.Second
	DefaultStreamCutoff    = 30 * time.Second
)

// streamSendBuffer is the kernel's send buffer of a stream's connection
// (SO_SNDBUF). Left alone, the kernel grows a connection's buffer, up to
// tcp_wmem's maximum (4 MiB on many systems), while its client is slow, so
// that a client that stops reading holds megabytes of the machine's memory
// until the buffer fills and the cutoff runs. A stream's messages are
// small and its hub conflates them; 64 KiB holds many and bounds that.
const streamSendBuffer = 64 << 10

// limitSendBuffer sets c's send buffer to streamSendBuffer, when c is a
// TCP connection, perhaps under TLS and this package's listener: when the
// server is served as NewHTTPServer and WrapListener make it.
func limitSendBuffer(c net.Conn) {
	for {
		switch x := c.(type) {
		case *conn:
			c = x.Conn
		case *headConn:
			c = x.Conn
		case *tls.Conn:
			c = x.NetConn()
		case *net.TCPConn:
			x.SetWriteBuffer(streamSendBuffer)
			return
		default:
			return
		}
	}
}

// streamEndGrace bounds the last writes of a stream that the server ends
// (its goodbye, a WebSocket's close handshake), and any write under way
// then, so that a client that does not read holds no shutdown up.
const streamEndGrace = time.Second

func (lim StreamLimits) withDefaults() StreamLimits {
	if lim.Heartbeat <= 0 {
		lim.Heartbeat = DefaultStreamHeartbeat
	}
	if lim.Cutoff <= 0 {
		lim.Cutoff = DefaultStreamCutoff
	}
	return lim
}

// streams are the server's open streams, which a reload checks again and
// a shutdown ends.
type streams struct {
	mu     sync.Mutex
	open   map[*liveStream]struct{}
	closed bool // no stream may open any more
	// running counts the stream handlers that have not returned: a
	// WebSocket's connection is hijacked, so http.Server.Shutdown does not
	// wait for it.
	running sync.WaitGroup
}

// liveStream is one open stream.
type liveStream struct {
	sub        *stream.Sub
	app        uint32
	identifier string
	usersig    string
	// viaAdmin says some group was let in only because identifier is an
	// admin of the app.
	viaAdmin bool
	// expiresAt is the last Unix second at which the UserSig is valid.
	expiresAt int64
	websocket bool

	mu sync.Mutex
	// setDeadline sets the deadline of the connection's writes; it is nil
	// until the stream has its connection, and again once its handler
	// has returned, after which the connection may serve other requests.
	setDeadline func(time.Time) error
	// ending says the server is ending the stream, so that its writes get
	// streamEndGrace only.
	ending bool
}

// attach gives the stream the deadline setter of its connection.
func (ls *liveStream) attach(setDeadline func(time.Time) error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.setDeadline = setDeadline
}

// deadline sets the deadline of the writes the stream makes next: cutoff
// from now, or streamEndGrace once the server is ending it. It is set
// under the lock that end takes, so that a write can never be given a
// longer deadline after end has shortened it.
func (ls *liveStream) deadline(cutoff time.Duration) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.setDeadline == nil {
		return
	}
	if ls.ending {
		cutoff = streamEndGrace
	}
	ls.setDeadline(time.Now().Add(cutoff))
}

// idle lifts the deadline of the stream's writes once a batch has gone
// through, unless the server is ending the stream: a deadline left
// behind would fail the writes the WebSocket library makes of itself (a
// pong, a close) once it had passed.
func (ls *liveStream) idle() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.setDeadline != nil && !ls.ending {
		ls.setDeadline(time.Time{})
	}
}

// end ends the stream from outside its handler: its subscription ends
// with err, which the handler then tells the client, and a write under
// way gets streamEndGrace to finish.
func (ls *liveStream) end(err error) {
	ls.sub.End(err)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if !ls.ending {
		ls.ending = true
		if ls.setDeadline != nil {
			ls.setDeadline(time.Now().Add(streamEndGrace))
		}
	}
}

// addStream subscribes ls to ids and counts it open, unless the server is
// ending its streams.
func (s *Server) addStream(ls *liveStream, ids []string) bool {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	if s.streams.closed {
		return false
	}
	ls.sub = s.hub.Subscribe(ls.app, ids)
	s.streams.open[ls] = struct{}{}
	s.streams.running.Add(1)
	s.metrics.streams.Inc()
	return true
}

// closeStream is the last thing a stream's handler does.
func (s *Server) closeStream(ls *liveStream) {
	ls.attach(nil)
	ls.sub.Close()
	s.streams.mu.Lock()
	delete(s.streams.open, ls)
	s.streams.mu.Unlock()
	s.metrics.streams.Dec()
	s.streams.running.Done()
}

// Hub returns the hub of the server's streams, nil when its store tells
// of no changes: a bus between nodes publishes the changes made through
// other nodes to it, and resyncs it when it may have missed some.
func (s *Server) Hub() *stream.Hub { return s.hub }

// OpenStreams returns how many streams are open.
func (s *Server) OpenStreams() int {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	return len(s.streams.open)
}

// endStreams ends every stream, and refuses new ones: the first step of
// a shutdown, which NewHTTPServer has http.Server.Shutdown take, since
// Shutdown would otherwise wait for streams that never end by
// themselves. It waits for the hub's reads, not for the streams.
func (s *Server) endStreams() {
	s.streams.mu.Lock()
	s.streams.closed = true
	open := make([]*liveStream, 0, len(s.streams.open))
	for ls := range s.streams.open {
		open = append(open, ls)
	}
	s.streams.mu.Unlock()
	for _, ls := range open {
		ls.end(stream.ErrClosed)
	}
	if s.hub != nil {
		s.hub.Close()
	}
}

// CloseStreams ends every stream and waits, until ctx is done, for their
// handlers to return and for the hub to stop reading the store: after
// http.Server.Shutdown, which does not wait for a WebSocket, and before
// the store is closed.
func (s *Server) CloseStreams(ctx context.Context) error {
	s.endStreams()
	done := make(chan struct{})
	go func() {
		s.streams.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("streams still open after the wait: " + ctx.Err().Error())
	}
}

// recheckStreams ends the streams that the apps now in force no longer
// let in: their app is gone, disabled or without counters, their UserSig
// does not verify under its keys (an old key removed), or they were let
// in as an admin who no longer is one. now is the reload's time.
func (s *Server) recheckStreams(now time.Time) {
	s.streams.mu.Lock()
	open := make([]*liveStream, 0, len(s.streams.open))
	for ls := range s.streams.open {
		open = append(open, ls)
	}
	s.streams.mu.Unlock()
	for _, ls := range open {
		if err := s.stillValid(ls, now); err != nil {
			ls.end(err)
		}
	}
}

// stillValid returns why ls may not stay open under the apps in force, or
// nil.
func (s *Server) stillValid(ls *liveStream, now time.Time) error {
	st := s.app(ls.app)
	switch {
	case st == nil:
		return tally.Errorf(tally.ErrNoSuchApp, "app %d was removed from the server", ls.app)
	case st.Disabled:
		return tally.Errorf(tally.ErrAppDisabled, "app %d is disabled", ls.app)
	case !st.Edition.HasGroupCounters():
		return tally.Errorf(tally.ErrEditionRequired, "app %d no longer has an edition with group counters", ls.app)
	case ls.viaAdmin && !st.IsAdmin(ls.identifier):
		return tally.Errorf(tally.ErrNoPermission, "%q is no longer an admin of app %d", ls.identifier, ls.app)
	}
	return st.verify(ls.usersig, ls.identifier, now)
}

// SetStreamBudget sets how many messages a second the fan-outs of one
// group may send to its streams (stream.Options.Budget); 0 is the
// default. It applies at once, and may be called while serving.
func (s *Server) SetStreamBudget(messagesPerSecond int) {
	if s.hub != nil {
		s.hub.SetBudget(messagesPerSecond)
	}
}
