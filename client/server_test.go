package client_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/pebble"
)

// The apps the test server serves: one with every feature and no rate
// limit, and one whose edition lacks group counters.
const (
	appMain     uint32 = 1400000001
	keyMain            = "client-test-secret-key"
	appStandard uint32 = 1400000002
	keyStandard        = "client-test-standard-key"
	admin              = "admin"
)

var testApps = []tally.App{
	{SDKAppID: appMain, SecretKey: keyMain, Admins: []string{admin}, Edition: tally.EditionUltimate},
	{SDKAppID: appStandard, SecretKey: keyStandard, Admins: []string{admin}, Edition: tally.EditionStandard},
}

// server is a real Tally, httpapi on a loopback port over a pebble store
// in a temporary directory, that also keeps what each call sent it, so
// that tests can check the requests the client writes.
type server struct {
	URL string
	api *httpapi.Server

	mu       sync.Mutex
	received []received
}

// received is one request as the server got it.
type received struct {
	Path  string
	Query url.Values
	Body  string
}

func startServer(t *testing.T) *server {
	t.Helper()
	store, err := pebble.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range testApps {
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{api: httpapi.NewServer(store, testApps, nil)}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		hs.Close()
		if err := store.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	s.URL = hs.URL
	return s
}

// serve records the request and hands it, body and all, to Tally.
func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.received = append(s.received, received{Path: r.URL.Path, Query: r.URL.Query(), Body: string(body)})
	s.mu.Unlock()
	s.api.ServeHTTP(w, r)
}

// last returns the last request the server got.
func (s *server) last(t *testing.T) received {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.received) == 0 {
		t.Fatal("the server got no request")
	}
	return s.received[len(s.received)-1]
}

// client returns a client of the main app as its admin, signing its own
// sigs, with opts added.
func (s *server) client(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	return s.clientAs(t, appMain, admin, append([]client.Option{client.WithSecretKey(keyMain)}, opts...)...)
}

func (s *server) clientAs(t *testing.T, app uint32, identifier string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, app, identifier, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clock is a time that tests move by hand, for the client and the server
// alike.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// wantCode fails the test unless err is an *client.Error with code.
func wantCode(t *testing.T, err error, code tally.Code) *client.Error {
	t.Helper()
	e, ok := asError(err)
	if !ok {
		t.Fatalf("got %v (%T), want a *client.Error with code %d", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("got code %d (%s: %s), want %d (%s)", e.Code, e.Code, e.Info, code, code)
	}
	return e
}

func asError(err error) (*client.Error, bool) {
	var e *client.Error
	ok := errors.As(err, &e)
	return e, ok
}

// must fails the test on err, naming what failed.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
