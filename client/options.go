package client

import (
	"net/http"
	"time"
)

// Option sets up a Client in New.
type Option func(*config)

// config is what the options set, checked by New before it builds a
// Client.
type config struct {
	key, sig    string
	keySet      bool
	sigSet      bool
	lifetime    time.Duration
	lifetimeSet bool
	hc          *http.Client
	now         func() time.Time
}

// WithSecretKey makes the client sign its own UserSigs with the app's
// secret key, as the console shows it, and sign a new one shortly before
// the last expires. A client needs this or WithUserSig.
func WithSecretKey(key string) Option {
	return func(c *config) { c.key, c.keySet = key, true }
}

// WithUserSig makes the client send sig with every call, as it is. A
// client needs this or WithSecretKey; with this one, the calls fail with
// tally.ErrUserSigExpired once sig expires.
func WithUserSig(sig string) Option {
	return func(c *config) { c.sig, c.sigSet = sig, true }
}

// WithSigLifetime sets how long the UserSigs that WithSecretKey makes are
// valid: at least a second, DefaultSigLifetime when not given.
func WithSigLifetime(d time.Duration) Option {
	return func(c *config) { c.lifetime, c.lifetimeSet = d, true }
}

// WithHTTPClient makes the calls through hc instead of the package's own
// http.Client, which has no timeout of its own (the context is the
// timeout) and keeps up to 64 idle connections per host.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.hc = hc }
}

// WithClock gives the client the clock it signs UserSigs by, instead of
// time.Now: tests move it to make a sig expire or come due for renewal.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}
