package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// Limits bound what one client can make the server hold: how long it may
// take to send a request, how long an idle connection stays open and how
// large a request's head may be. A zero field takes its default, so tests
// can shrink the one limit they exercise and leave the rest alone.
type Limits struct {
	// ReadHeaderTimeout is how long a client has to send a request's line
	// and headers, counted from the connection's first byte or, on a
	// kept-alive connection, from the first byte of the next request.
	// Default 10s. It is what cuts off a slowloris client.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long a client has to send a whole request, head
	// and body. Default 30s: a 1 MiB body at a slow mobile link's pace.
	ReadTimeout time.Duration
	// WriteTimeout is how long the server may take from the end of a
	// request's head to the end of its answer. Default 30s.
	WriteTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request. Default 2m.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and headers together. Default
	// 64 KiB, many times what a call with a UserSig needs.
	MaxHeaderBytes int
}

// The defaults of Limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
)

// withDefaults returns lim with every zero field set to its default.
func (lim Limits) withDefaults() Limits {
	if lim.ReadHeaderTimeout <= 0 {
		lim.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if lim.ReadTimeout <= 0 {
		lim.ReadTimeout = DefaultReadTimeout
	}
	if lim.WriteTimeout <= 0 {
		lim.WriteTimeout = DefaultWriteTimeout
	}
	if lim.IdleTimeout <= 0 {
		lim.IdleTimeout = DefaultIdleTimeout
	}
	if lim.MaxHeaderBytes <= 0 {
		lim.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return lim
}

// NewHTTPServer returns the net/http server that serves h within lim. Serve
// it on a listener from WrapListener with the same limits: its connections
// turn net/http's own plain-text refusals into envelopes, and rely on the
// ConnState and ConnContext hooks set here to tell where each request
// starts and which answers are h's (a caller that sets its own must call
// the ones it replaces). log receives net/http's own complaints, at
// warning level. When h is a *Server, Shutdown ends its streams first;
// then Server.CloseStreams waits for them.
//
// The server does not cap the number of connections. A cap would let a
// client that opens that many idle or slowloris connections shut everyone
// else out, which is the very starvation it is meant to prevent; instead
// every connection that is not sending a request promptly is closed by a
// timeout, so each costs the server only a goroutine and a few KiB for a
// bounded time. Bounding how many connections one client may hold is the
// job of the network in front (a firewall's or proxy's per-address limit),
// which can see who the clients are.
func NewHTTPServer(h http.Handler, log *slog.Logger, lim Limits) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim = lim.withDefaults()
	srv := &http.Server{
		Handler:           handled(h),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// "OPTIONS *" would otherwise get net/http's empty 200 answer;
		// the handler refuses it with an envelope like any other method.
		DisableGeneralOptionsHandler: true,
		ConnState:                    trackRequestStart,
		ConnContext:                  withConn,
	}
	if api, ok := h.(*Server); ok {
		// Shutdown waits for every request to end, and a stream ends
		// only when told to.
		srv.RegisterOnShutdown(api.endStreams)
	}
	return srv
}
