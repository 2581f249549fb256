package httpapi

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tallyserver/tally"
)

// appState is an app with its rate limiters and the UserSigs that have
// verified under its keys.
type appState struct {
	tally.App
	perAPI []limiter // By command.index; nil when unlimited.
	perApp limiter
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
func newAppState(a tally.App, prev *appState, m *metrics, ledger tally.RateLedger) *appState {
	st := &appState{App: a}
	st.apiLimited, st.appLimited = m.limiters(a.SDKAppID)
	st.oldKeyCalls = m.oldKey(a.SDKAppID)
	if prev != nil && prev.RateLimitPerAPI == a.RateLimitPerAPI {
		st.perAPI = prev.perAPI
	} else {
		st.perAPI = make([]limiter, len(commands))
		for i, cmd := range commands {
			st.perAPI[i] = newLimiter(ledger, tally.RateKey{App: a.SDKAppID, Command: cmd.name}, a.RateLimitPerAPI)
		}
	}
	if prev != nil && prev.RateLimitPerApp == a.RateLimitPerApp {
		st.perApp = prev.perApp
	} else {
		st.perApp = newLimiter(ledger, tally.RateKey{App: a.SDKAppID}, a.RateLimitPerApp)
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
// allowance. A limit kept with other nodes may fail to answer, an
// internal error.
func (st *appState) admit(ctx context.Context, cmd *command, now time.Time) error {
	api := st.perAPI[cmd.index]
	var token int64
	if api != nil {
		ok, err := false, error(nil)
		if token, ok, err = api.acquire(ctx, now); err != nil {
			return err
		}
		if !ok {
			st.apiLimited.Inc()
			return tally.Errorf(tally.ErrAPIRateLimit, "%s is limited to %d calls per second for app %d",
				cmd.name, st.RateLimitPerAPI, st.SDKAppID)
		}
	}
	if st.perApp != nil {
		_, ok, err := st.perApp.acquire(ctx, now)
		if err != nil || !ok {
			if api != nil {
				api.release(token)
			}
		}
		if err != nil {
			return err
		}
		if !ok {
			st.appLimited.Inc()
			return tally.Errorf(tally.ErrAppRateLimit, "app %d is limited to %d calls per second", st.SDKAppID, st.RateLimitPerApp)
		}
	}
	return nil
}
