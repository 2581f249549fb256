package client

import (
	"sync"
	"time"

	"github.com/tallyserver/tally/usersig"
)

// DefaultSigLifetime is how long the UserSigs that a client signs itself
// are valid, unless WithSigLifetime says otherwise. It is short because the
// client makes new ones for free, and a sig in a URL can end up in the log
// of a proxy.
const DefaultSigLifetime = time.Hour

// maxRenewMargin is how long before its expiry a signed UserSig is
// replaced: enough for a server whose clock runs a few minutes ahead of the
// client's to still take it.
const maxRenewMargin = 5 * time.Minute

// signer makes the UserSigs of one identifier with the app's secret key,
// and keeps the last one until shortly before it expires, so that a call
// costs no HMAC and no zlib, and the server's cache of verified sigs is
// hit.
type signer struct {
	sdkappid        uint32
	key, identifier string
	lifetime        time.Duration
	now             func() time.Time

	mu    sync.Mutex
	sig   string
	renew time.Time // when sig is to be replaced, by the client's clock
}

// renewMargin is how long before its expiry a sig of the given lifetime is
// replaced: a quarter of its life, up to maxRenewMargin, so that a short
// lifetime still leaves most of each sig in use.
func renewMargin(lifetime time.Duration) time.Duration {
	return min(lifetime/4, maxRenewMargin)
}

// userSig returns a sig valid now and for a while yet.
func (s *signer) userSig() string {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sig == "" || !now.Before(s.renew) {
		// The sig says when it was issued in whole seconds, so it
		// lapses up to a second before now+lifetime; the margin
		// covers that.
		s.sig = usersig.Sign(s.sdkappid, s.key, s.identifier, int64(s.lifetime/time.Second), now)
		s.renew = now.Add(s.lifetime - renewMargin(s.lifetime))
	}
	return s.sig
}
