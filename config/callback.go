package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tallyserver/tally"
)

// DefaultCallbackMaxAge is how long an after-event is retried before it is
// dropped. An hour outlasts a handler's deploy or restart, and most
// outages of the network between; an event older than that is mostly
// stale to a back end that syncs state from it, while the outbox that
// keeps it grows with every write, on the disk the API needs.
const DefaultCallbackMaxAge = time.Hour

// beforeCreateGroup is the name in callback_events of the before-callback,
// which no outbox keeps and so is no tally.EventKind.
const beforeCreateGroup = "Group.CallbackBeforeCreateGroup"

// callbackURL checks an app's callback_url: an absolute http or https URL
// with a host. Anything else would only fail at the first event, long
// after the file was written.
func callbackURL(fl field) (string, error) {
	s, err := stringValue(fl)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", errAt(fl.key, fl.path, "%s is not a URL: %v", show(fl.val), unwrapURLError(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errAt(fl.key, fl.path, "%s; must be an absolute http:// or https:// URL", show(fl.val))
	case u.Host == "" || u.Hostname() == "":
		return "", errAt(fl.key, fl.path, "%s has no host", show(fl.val))
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", errAt(fl.key, fl.path, "%s has a #fragment, which is never sent; leave it out", show(fl.val))
	}
	return s, nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// callbackEvents reads an app's callback_events: CallbackCommand names,
// the after-events to send and Group.CallbackBeforeCreateGroup.
func callbackEvents(fl field) (events tally.EventSet, before bool, err error) {
	names, err := stringList(fl)
	if err != nil {
		return 0, false, err
	}
	if len(names) == 0 {
		return 0, false, errAt(fl.key, fl.path, "an empty list; leave it out for every after-event, or leave out callback_url for none")
	}
	for i, name := range names {
		if name == beforeCreateGroup {
			before = true
			continue
		}
		k, ok := tally.ParseEventKind(name)
		if !ok {
			return 0, false, errAt(fl.key, fmt.Sprintf("%s[%d]", fl.path, i), "%q is not a callback Tally sends; use %s",
				name, strings.Join(CallbackCommands(), ", "))
		}
		events = events.With(k)
	}
	return events, before, nil
}

// CallbackCommands lists the names callback_events takes.
func CallbackCommands() []string {
	names := []string{beforeCreateGroup}
	for _, k := range tally.EventKinds {
		names = append(names, k.Command())
	}
	return names
}

// durationValue reads a positive duration written as Go writes one, such
// as "90s", "30m" or "1h".
func durationValue(fl field) (time.Duration, error) {
	s, err := stringValue(fl)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errAt(fl.key, fl.path, "%s; must be a duration such as 30m or 1h", show(fl.val))
	}
	return d, nil
}
