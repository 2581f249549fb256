package usersig

import (
	"crypto/hmac"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tallyserver/tally"
)

// Verify checks that s, as Decode returned it, is a valid UserSig for
// identifier in app sdkappid under the app's secret key at time now. It
// returns nil or a *tally.Error whose code is the one Tencent answers
// with, checking in Tencent's order after decoding (ErrUserSigMalformed,
// from Decode): the app (ErrUserSigSDKAppID), the identifier
// (ErrUserSigIdentifier), the MAC (ErrUserSigBadHMAC) and last expiry
// (ErrUserSigExpired), so that only a genuine sig is ever reported as
// expired. Decoding is a step of its own so that a caller can read the
// claimed fields, to find the app's key say, before verifying.
func (s *Sig) Verify(sdkappid uint32, identifier, key string, now time.Time) error {
	if s.SDKAppID != sdkappid {
		return tally.Errorf(tally.ErrUserSigSDKAppID,
			"the UserSig was issued for sdkappid %d, not %d", s.SDKAppID, sdkappid)
	}
	if s.Identifier != identifier {
		return tally.Errorf(tally.ErrUserSigIdentifier,
			"the UserSig was issued for identifier %s, not %s", quoteShort(s.Identifier), quoteShort(identifier))
	}
	mac := computeMAC(key, s.SDKAppID, s.Identifier, s.Time, s.Expire, s.UserBuf)
	if !hmac.Equal(mac[:], s.mac[:]) {
		return tally.Errorf(tally.ErrUserSigBadHMAC,
			"the UserSig's TLS.sig does not match its fields under the app's secret key")
	}
	if last, ever := s.expiry(); !ever || now.Unix() > last {
		return tally.Errorf(tally.ErrUserSigExpired,
			"the UserSig expired: issued at Unix time %d for %d seconds, and it is now %d",
			s.Time, s.Expire, now.Unix())
	}
	return nil
}

// ExpiresAt returns the last Unix second at which s is valid: Time +
// Expire, held to the int64 range, so that a caller that remembers a
// verified sig can tell when to stop trusting it without decoding it again.
// A sig whose sum lies below the range gives math.MinInt64, though it is
// valid at no second; Verify refuses it at every one.
func (s *Sig) ExpiresAt() int64 {
	last, _ := s.expiry()
	return last
}

// expiry returns ExpiresAt, and whether s is valid at any second at all.
// The sum is computed without wrapping: both terms come from the sig, and a
// sum that overflowed could otherwise turn a long-dead sig into a valid one
// or the reverse.
func (s *Sig) expiry() (last int64, ever bool) {
	t, e := s.Time, s.Expire
	switch {
	case e >= 0 && t > math.MaxInt64-e:
		return math.MaxInt64, true // valid through every int64 second
	case e < 0 && t < math.MinInt64-e:
		return math.MinInt64, false // expired before every int64 second
	}
	return t + e, true
}

// quoteShort quotes s for an error message, cut to a readable length: the
// identifiers come from the request and may be up to a few kilobytes.
func quoteShort(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
