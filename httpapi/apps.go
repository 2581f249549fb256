package httpapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tallyserver/tally"
)

// appState is an app with its rate limiters and the UserSigs that have
// verified under its keys.
type appState struct {
	tally.App
	perAPI []*window // By command.index; nil when unlimited.
	perApp *window
	sigs   *sigCache
	// apiLimited and appLimited count the calls each limit refused, and
	// oldKeyCalls those admitted with a UserSig made with OldSecretKey.
	apiLimited, appLimited, oldKeyCalls prometheus.Counter
}

// newAppState returns the state of app a. When the app was served before
// (prev is its old state, or nil), what still holds is carried over: the
// rate windows when the limits are the same, so that a reload does not hand
// out a second allowance within the same second, and the verified UserSigs
// when the keys are the same. A change of keys forgets every sig, so that
// one signed with a key just removed stops working at once.
func newAppState(a tally.App, prev *appState, m *metrics) *appState {
	st := &appState{App: a}
	st.apiLimited, st.appLimited = m.limiters(a.SDKAppID)
	st.oldKeyCalls = m.oldKey(a.SDKAppID)
	if prev != nil && prev.RateLimitPerAPI == a.RateLimitPerAPI {
		st.perAPI = prev.perAPI
	} else {
		st.perAPI = make([]*window, len(commands))
		for i := range st.perAPI {
			st.perAPI[i] = newWindow(a.RateLimitPerAPI)
		}
	}
	if prev != nil && prev.RateLimitPerApp == a.RateLimitPerApp {
		st.perApp = prev.perApp
	} else {
		st.perApp = newWindow(a.RateLimitPerApp)
	}
	if prev != nil && prev.SecretKey == a.SecretKey && prev.OldSecretKey == a.OldSecretKey {
		st.sigs = prev.sigs
	} else {
		st.sigs = new(sigCache)
	}
	return st
}

// admit counts a call of cmd against both limits, or against neither: a
// call refused by the app-wide limit must not use up the per-API
// allowance.
func (st *appState) admit(cmd *command, now time.Time) error {
	api := st.perAPI[cmd.index]
	var slot int64
	if api != nil {
		var ok bool
		if slot, ok = api.acquire(now); !ok {
			st.apiLimited.Inc()
			return tally.Errorf(tally.ErrAPIRateLimit, "%s is limited to %d calls per second for app %d",
				cmd.name, st.RateLimitPerAPI, st.SDKAppID)
		}
	}
	if st.perApp != nil {
		if _, ok := st.perApp.acquire(now); !ok {
			if api != nil {
				api.release(slot)
			}
			st.appLimited.Inc()
			return tally.Errorf(tally.ErrAppRateLimit, "app %d is limited to %d calls per second", st.SDKAppID, st.RateLimitPerApp)
		}
	}
	return nil
}
