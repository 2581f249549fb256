// Package natstest runs a NATS server in the test's process, on a loopback
// port of its own that it keeps across a stop and a start, so that a test
// can cut the bus under its clients and bring it back where they look.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server that a test may stop and start again.
type Server struct {
	t    testing.TB
	opts server.Options
	s    *server.Server
}

// New starts a server for one test and shuts it down when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{t: t, opts: server.Options{
		Host:   "127.0.0.1",
		Port:   port,
		NoLog:  true,
		NoSigs: true,
		// No monitoring or cluster ports: the test needs the client
		// port alone.
		HTTPPort: -1,
	}}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL returns the server's client URL, the same after a restart.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Start starts the server, after New or Stop, and returns once it takes
// clients.
func (s *Server) Start() {
	s.t.Helper()
	if s.s != nil {
		return
	}
	opts := s.opts // the server keeps and changes the options it is given
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		s.t.Fatalf("natstest: the server on %s did not start", s.URL())
	}
	s.s = srv
}

// Stop shuts the server down, cutting its clients off, and returns once it
// has stopped.
func (s *Server) Stop() {
	if s.s == nil {
		return
	}
	s.s.Shutdown()
	s.s.WaitForShutdown()
	s.s = nil
}
