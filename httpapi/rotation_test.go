package httpapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/usersig"
)

// TestKeyRotation walks an app through a key rotation by SetApps, as a
// config reload makes it: UserSigs made with either key verify while the
// app holds both, and those made with the old key stop the moment it is
// removed, even ones that had verified and been remembered. Every call
// admitted under the old key is counted, cached or not.
func TestKeyRotation(t *testing.T) {
	h := newMetricsHarness(t, netFront)
	now := time.Now()
	sig := func(key string, expire int64) string { return usersig.Sign(appMain, key, "admin", expire, now) }
	const oldKey, newKey = "main-secret-key", "next-secret-key"
	withKeys := func(key, old string) []tally.App {
		apps := append([]tally.App(nil), testApps...)
		apps[0].SecretKey, apps[0].OldSecretKey = key, old
		if err := apps[0].Validate(); err != nil {
			t.Fatal(err)
		}
		return apps
	}
	steps := []struct {
		name     string
		key, old string
		sigs     map[string]tally.Code // sig -> the code a call with it gets
	}{
		{"before: one key", oldKey, "", map[string]tally.Code{
			sig(oldKey, 3600): tally.OK,
			sig(newKey, 3600): tally.ErrUserSigBadHMAC,
		}},
		{"during: both keys", newKey, oldKey, map[string]tally.Code{
			sig(oldKey, 3600):     tally.OK,
			sig(newKey, 3600):     tally.OK,
			sig("stranger", 3600): tally.ErrUserSigBadHMAC,
			// A genuine sig under the old key that has expired says so.
			usersig.Sign(appMain, oldKey, "admin", 1, now.Add(-time.Hour)): tally.ErrUserSigExpired,
		}},
		{"after: the old key removed", newKey, "", map[string]tally.Code{
			sig(oldKey, 3600): tally.ErrUserSigBadHMAC,
			sig(newKey, 3600): tally.OK,
		}},
	}
	for _, st := range steps {
		h.server.SetApps(withKeys(st.key, st.old))
		for s, want := range st.sigs {
			// Twice: the second call may be answered from the sig cache.
			for range 2 {
				q := query(appMain, "admin")
				q.Set("usersig", s)
				got := h.call(t, groupSvc+"get_appid_group_list", q, `{}`)
				if want == tally.OK {
					wantOK(t, got)
				} else {
					wantCode(t, got, want)
				}
				if t.Failed() {
					t.Fatalf("step %q", st.name)
				}
			}
		}
	}
	// Only the two calls with a sig of the old key while it was the old
	// key count: not those while it was the current one, nor refused ones.
	series := fmt.Sprintf("tally_usersig_old_key_total{sdkappid=%q}", fmt.Sprint(appMain))
	if got := scrape(t, h.client, h.url)[series]; got != 2 {
		t.Errorf("%s = %v, want 2", series, got)
	}
}

// TestSetAppsKeepsRateWindows shows that a reload which leaves an app's
// limits alone does not hand out a fresh allowance within the same second,
// while one that changes them starts the new limit afresh.
func TestSetAppsKeepsRateWindows(t *testing.T) {
	h := newHarness(t)
	call := func() map[string]any {
		return h.call(t, groupSvc+"get_appid_group_list", query(appPerAPI, "admin"), `{}`)
	}
	for range 5 {
		wantOK(t, call())
	}
	wantCode(t, call(), tally.ErrAPIRateLimit)

	h.server.SetApps(testApps)
	wantCode(t, call(), tally.ErrAPIRateLimit)

	apps := append([]tally.App(nil), testApps...)
	for i := range apps {
		if apps[i].SDKAppID == appPerAPI {
			apps[i].RateLimitPerAPI = 6
		}
	}
	h.server.SetApps(apps)
	wantOK(t, call())
}
