package httpapi

import (
	"time"

	"github.com/tallyserver/tally"
)

// appState is an app with its rate limiters.
type appState struct {
	tally.App
	perAPI []*window // By command index; nil when unlimited.
	perApp *window
	sigs   sigCache
}

func newAppState(a tally.App) *appState {
	st := &appState{App: a, perAPI: make([]*window, len(commands)), perApp: newWindow(a.RateLimitPerApp)}
	for i := range st.perAPI {
		st.perAPI[i] = newWindow(a.RateLimitPerAPI)
	}
	return st
}

// admit counts a call of command c against both limits, or against
// neither: a call refused by the app-wide limit must not use up the
// per-API allowance.
func (st *appState) admit(c int, now time.Time) error {
	api := st.perAPI[c]
	var slot int64
	if api != nil {
		var ok bool
		if slot, ok = api.acquire(now); !ok {
			return tally.Errorf(tally.ErrAPIRateLimit, "%s is limited to %d calls per second for app %d",
				commands[c].name, st.RateLimitPerAPI, st.SDKAppID)
		}
	}
	if st.perApp != nil {
		if _, ok := st.perApp.acquire(now); !ok {
			if api != nil {
				api.release(slot)
			}
			return tally.Errorf(tally.ErrAppRateLimit, "app %d is limited to %d calls per second", st.SDKAppID, st.RateLimitPerApp)
		}
	}
	return nil
}
