package httpapi

import (
	"golang.org/x/time/rate"

	"github.com/tallyserver/tally"
)

// appState is an app with its rate limiters.
type appState struct {
	tally.App
	perAPI []*rate.Limiter // By command index; nil when unlimited.
	perApp *rate.Limiter
}

func newAppState(a tally.App) *appState {
	st := &appState{App: a, perAPI: make([]*rate.Limiter, len(commands))}
	for i := range st.perAPI {
		st.perAPI[i] = newLimiter(a.RateLimitPerAPI)
	}
	st.perApp = newLimiter(a.RateLimitPerApp)
	return st
}

// newLimiter allows perSecond calls each second, a second's worth of them
// at once; 0 means unlimited.
func newLimiter(perSecond int) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), perSecond)
}

// admit takes a token for command c from both limiters, or none: a call
// refused by the app-wide limit must not use up the per-API allowance.
func (st *appState) admit(c int) error {
	api := st.perAPI[c]
	var r *rate.Reservation
	if api != nil {
		if r = api.Reserve(); r.Delay() > 0 {
			r.Cancel()
			return tally.Errorf(tally.ErrAPIRateLimit, "%s is limited to %d calls per second for app %d",
				commands[c].name, st.RateLimitPerAPI, st.SDKAppID)
		}
	}
	if st.perApp != nil && !st.perApp.Allow() {
		if r != nil {
			r.Cancel()
		}
		return tally.Errorf(tally.ErrAppRateLimit, "app %d is limited to %d calls per second", st.SDKAppID, st.RateLimitPerApp)
	}
	return nil
}
