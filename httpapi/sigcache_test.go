package httpapi_test

import (
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/usersig"
)

// TestVerifiedSigCache shows that remembering verified UserSigs changes no
// answer: a sig that verified still expires on time, still belongs to one
// identifier, and stops verifying when the app's key changes.
func TestVerifiedSigCache(t *testing.T) {
	h := newHarness(t)
	issued := time.Now()
	sig := usersig.Sign(appMain, appKey(appMain), "admin", 60, issued)
	call := func(identifier string) map[string]any {
		q := query(appMain, identifier)
		q.Set("usersig", sig)
		return h.call(t, groupSvc+"get_appid_group_list", q, `{}`)
	}

	// The first call verifies the sig and the second is served from the
	// cache; both are OK.
	wantOK(t, call("admin"))
	wantOK(t, call("admin"))
	// The same sig under another identifier is refused, cached or not.
	wantCode(t, call("ops"), tally.ErrUserSigIdentifier)

	// One second past its expiry the cached sig is refused as expired.
	h.server.Now = func() time.Time { return issued.Add(61 * time.Second) }
	wantCode(t, call("admin"), tally.ErrUserSigExpired)
	h.server.Now = time.Now
	wantOK(t, call("admin"))

	// A new secret key forgets the sigs made with the old one.
	apps := append([]tally.App(nil), testApps...)
	apps[0].SecretKey = "rotated-secret-key"
	h.server.SetApps(apps)
	wantCode(t, call("admin"), tally.ErrUserSigBadHMAC)
}
