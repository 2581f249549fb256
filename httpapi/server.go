// Package httpapi serves Tencent Cloud Chat's REST API over HTTP: the
// envelope, authentication, rate limits and the group and counter commands,
// on a tally.Store.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"github.com/valyala/fastjson"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/callback"
	"github.com/tallyserver/tally/httpapi/live"
	"github.com/tallyserver/tally/stream"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// Server answers the REST API. It is an http.Handler for every path under
// /v4/, and answers /healthz, the counter stream, the page that watches it
// (package live) and, when Metrics is set, /metrics. It is a
// prometheus.Collector of its own calls (metrics.go), and logs one line for
// every call that fails (requestlog.go).
type Server struct {
	store tally.Store
	// ledger keeps the rate limits with the other nodes on the store,
	// when the store is one that many nodes share.
	ledger tally.RateLedger
	apps   atomic.Pointer[map[uint32]*appState]
	// setAppsMu orders SetApps calls, so that each carries state over from
	// the one before it.
	setAppsMu sync.Mutex
	log       *slog.Logger
	// Now is the clock that UserSigs and rate limits are checked
	// against; tests fix or move it.
	Now func() time.Time
	// Metrics, if not nil, answers GET /metrics: a Prometheus handler
	// such as promhttp.HandlerFor a registry that holds the server.
	Metrics http.Handler

	// Streams bounds the live counter streams; set it before serving.
	Streams StreamLimits

	// BeforeCreateGroup, when set, is asked before each create_group of
	// an app whose Callback.BeforeCreateGroup is set, once every field
	// of the request has been checked and before the store is called: a
	// *tally.Error it returns refuses the call with its code. It is the
	// app's Group.CallbackBeforeCreateGroup, which a callback.Client
	// asks. Set it before serving.
	BeforeCreateGroup func(ctx context.Context, app *tally.App, q *callback.BeforeCreateGroup) error
	// EventsRecorded, when set, is called after each write of an app
	// whose writes record after-events, so that their delivery starts at
	// once rather than at its next poll. It must not block: the call's
	// answer waits for it. Set it before serving.
	EventsRecorded func()

	metrics *metrics
	parsers fastjson.ParserPool
	calls   sync.Pool // of *call
	// hub fans the store's changes out to the streams; nil when the store
	// tells of none.
	hub     *stream.Hub
	streams streams
	// netFront serves, on fasthttp, the requests ServeFastHTTP hands to
	// ServeHTTP.
	netFront fasthttp.RequestHandler
}

// NewServer returns a server for apps on store. apps must have passed
// tally.App.Validate. When the store tells of its changes (a
// tally.ChangeFeed), the server takes them for its streams: a store tells
// one function, so of servers made on one store, the last one made serves
// streams.
func NewServer(store tally.Store, apps []tally.App, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: store, log: log, Now: time.Now, metrics: newMetrics()}
	s.ledger, _ = store.(tally.RateLedger)
	s.netFront = fasthttpadaptor.NewFastHTTPHandler(s)
	s.streams.open = make(map[*liveStream]struct{})
	if feed, ok := store.(tally.ChangeFeed); ok {
		s.hub = stream.New(feed.CounterState, stream.Options{})
		feed.OnChange(s.hub.Publish)
	}
	s.SetApps(apps)
	return s
}

// SetApps replaces the apps the server knows; apps must have passed
// tally.App.Validate. Calls in progress finish under the apps they started
// with, and every later call sees the new ones. An app that stays keeps its
// rate windows when its limits are unchanged, its verified UserSigs when its
// keys are, and its rate-limit counters; those of an app that is gone are
// dropped. Open streams stay open, unless the new apps would not let them
// in: their app is gone or disabled, their UserSig no longer verifies (its
// key was removed), or they watch as an admin who no longer is one.
func (s *Server) SetApps(apps []tally.App) {
	s.setAppsMu.Lock()
	defer s.setAppsMu.Unlock()
	var old map[uint32]*appState
	if p := s.apps.Load(); p != nil {
		old = *p
	}
	m := make(map[uint32]*appState, len(apps))
	for _, a := range apps {
		m[a.SDKAppID] = newAppState(a, old[a.SDKAppID], s.metrics, s.ledger)
	}
	s.apps.Store(&m)
	for id := range old {
		if m[id] == nil {
			s.metrics.forget(id)
		}
	}
	s.recheckStreams(s.Now())
}

func (s *Server) app(id uint32) *appState { return (*s.apps.Load())[id] }

// ServeHTTP answers every request with HTTP 200 and an envelope, as
// Tencent does, except /healthz, /metrics, the stream and a GET of the live
// page. Every call's answer carries its request id; every call is counted,
// and every failed one logged.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		s.health(w)
		return
	case "/metrics":
		if s.Metrics != nil {
			s.Metrics.ServeHTTP(w, r)
			return
		}
	case StreamPath:
		s.serveStream(w, r)
		return
	default:
		// The page that watches the stream; any other request under
		// its path is the REST API's, and answered as before.
		if live.Serve(w, r) {
			return
		}
	}
	start := time.Now()
	id := s.requestID(r)
	c := s.newCall(r.Context(), lookupCommand(r.URL.Path))
	defer s.freeCall(c)
	q := netRequest(r)
	body, code := s.serveCall(&q, c, id)
	writeAnswer(w, id, body)
	s.observe(c, code, start)
}

// writeAnswer writes an envelope, body, as the answer of request id.
func writeAnswer(w http.ResponseWriter, id string, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h[RequestIDHeader] = []string{id}
	w.Write(body)
}

// health answers /healthz: 200 "ok", or 503 with the reason when the store
// says it cannot serve (a store that can tell implements Health).
func (s *Server) health(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h, ok := s.store.(interface{ Health() error }); ok {
		if err := h.Health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "unavailable: "+err.Error()+"\n")
			return
		}
	}
	io.WriteString(w, "ok\n")
}

// serve runs the checks in Tencent's order: the URL, authentication, rate
// limits, and only then the body; now is the time the call arrived, by the
// server's clock. It fills c in as it goes, so that a failure's log line
// can name what was known of the call, and the handler finds the app and
// body in it.
func (s *Server) serve(r *request, c *call, now time.Time) error {
	if r.method != http.MethodPost {
		return tally.Errorf(tally.ErrBadHTTPRequest, "method %s is not allowed; the REST API takes POST", r.method)
	}
	q, err := parseQuery(r.rawQuery)
	if err != nil {
		return err
	}
	c.sdkappid, c.identifier, c.queryRead = q.sdkappid, q.identifier, true
	if c.app, err = s.authenticate(q, now); err != nil {
		return err
	}
	if c.cmd == unknownCommand {
		return tally.Errorf(tally.ErrUnknownCommand, "unknown service or command %q", r.path)
	}
	if err := c.app.admit(c.ctx, c.cmd, now); err != nil {
		return err
	}

	// fastjson copies what it parses, so the buffer that holds the body
	// can then hold the answer.
	body, err := r.readBody(c.answer.b)
	if err != nil {
		return err
	}
	p := s.parsers.Get()
	defer s.parsers.Put(p)
	if c.body, err = parseBody(p, body); err != nil {
		return err
	}
	if c.cmd.counters && !c.app.Edition.HasGroupCounters() {
		return tally.Errorf(tally.ErrEditionRequired, "%s needs the pro edition or above; app %d has %s",
			c.cmd.name, c.app.SDKAppID, c.app.Edition)
	}
	c.now, c.at, c.remoteAddr, c.remoteNet = now.Unix(), now, r.remoteAddr, r.remote
	c.answer.ok()
	// An app that records no event pays nothing for the feature: its
	// calls carry no Origin, and the store records none.
	events := c.app.Callback.Records()
	if !c.cmd.write || events == 0 {
		return c.cmd.handle(s, c)
	}
	c.ctx = tally.WithOrigin(c.ctx, tally.Origin{Operator: c.identifier, ClientIP: c.clientIP(), Time: now, Events: events})
	err = c.cmd.handle(s, c)
	if err == nil && s.EventsRecorded != nil {
		s.EventsRecorded()
	}
	return err
}

// clientIP is the address of the REST caller, without its port: the
// callback URL's ClientIP.
func clientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// readBody reads at most MaxBodyBytes into buf's spare capacity, so that
// the pooled answer buffer is reused rather than a new one made per request. (A
// bytes.Buffer would grow it on every call: ReadFrom insists on 512 free
// bytes before it reads.)
func readBody(r *http.Request, buf []byte) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, errBodyTooLarge(r.ContentLength)
	}
	b := buf[len(buf):]
	lr := io.LimitReader(r.Body, MaxBodyBytes+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, tally.Errorf(tally.ErrBadHTTPRequest, "reading the body failed: %v", err)
		}
	}
	if len(b) > MaxBodyBytes {
		return nil, errBodyTooLarge(int64(len(b)))
	}
	return b, nil
}

func errBodyTooLarge(n int64) error {
	return tally.Errorf(tally.ErrBadHTTPRequest, "the body is over %d bytes (%d or more); the limit is 1 MiB", MaxBodyBytes, n)
}

// parseBody checks that body is one JSON object and returns it. The depth
// limit of the parser runs first, so that the strict validator, which
// recurses without one, only ever sees shallow input.
func parseBody(p *fastjson.Parser, body []byte) (*fastjson.Object, error) {
	if !utf8.Valid(body) {
		return nil, tally.Errorf(tally.ErrBadJSON, "the body is not valid UTF-8")
	}
	v, err := p.ParseBytes(body)
	if err == nil {
		err = fastjson.ValidateBytes(body)
	}
	if err != nil {
		return nil, tally.Errorf(tally.ErrBadJSON, "the body is not valid JSON: %v", err)
	}
	o, err := v.Object()
	if err != nil {
		return nil, tally.Errorf(tally.ErrBadJSON, "the body must be one JSON object, not %s", v.Type())
	}
	return o, nil
}
