package config

import (
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

func TestParseCallback(t *testing.T) {
	const head = "apps:\n- sdkappid: 1400000001\n  secret_key: k\n  admins: [a]\n"
	for _, c := range []struct {
		name   string
		in     string
		want   tally.Callback
		maxAge time.Duration
	}{
		{"none", head, tally.Callback{}, 0},
		{"a URL sends every after-event", head + "  callback_url: https://hooks.example.com/im\n",
			tally.Callback{URL: "https://hooks.example.com/im", Events: tally.AllEvents}, 0},
		{"with a token and a query", head + "  callback_url: 'http://10.0.0.5:8000/cb?env=prod'\n  callback_token: xxxxyyyy\n",
			tally.Callback{URL: "http://10.0.0.5:8000/cb?env=prod", Token: "xxxxyyyy", Events: tally.AllEvents}, 0},
		{"some events", head + "  callback_url: https://h/cb\n  callback_events: [Group.CallbackAfterCreateGroup, Group.CallbackAfterGroupCounterChanged]\n",
			tally.Callback{URL: "https://h/cb", Events: tally.EventSet(0).With(tally.EventAfterCreateGroup).With(tally.EventAfterGroupCounterChanged)}, 0},
		{"the before-callback alone", head + "  callback_url: https://h/cb\n  callback_events: [Group.CallbackBeforeCreateGroup]\n",
			tally.Callback{URL: "https://h/cb", BeforeCreateGroup: true}, 0},
		{"max age", "callback_max_age: 90m\n" + head, tally.Callback{}, 90 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Apps[0].Callback; got != c.want {
				t.Errorf("Callback = %+v, want %+v", got, c.want)
			}
			if f.CallbackMaxAge != c.maxAge {
				t.Errorf("CallbackMaxAge = %v, want %v", f.CallbackMaxAge, c.maxAge)
			}
		})
	}
}

func TestParseCallbackErrors(t *testing.T) {
	const head = "apps:\n- sdkappid: 1400000001\n  secret_key: k\n  admins: [a]\n"
	for _, c := range []struct{ name, in, want string }{
		{"relative URL", head + "  callback_url: /cb\n", "line 5: apps[0].callback_url: /cb; must be an absolute http:// or https:// URL"},
		{"other scheme", head + "  callback_url: ftp://h/cb\n", "line 5: apps[0].callback_url: ftp://h/cb; must be an absolute"},
		{"no host", head + "  callback_url: 'https:///cb'\n", `line 5: apps[0].callback_url: "https:///cb" has no host`},
		{"not a URL", head + "  callback_url: 'http://h:port/'\n", `line 5: apps[0].callback_url: "http://h:port/" is not a URL`},
		{"fragment", head + "  callback_url: 'https://h/cb#x'\n", "apps[0].callback_url: \"https://h/cb#x\" has a #fragment"},
		{"empty URL", head + "  callback_url: ''\n", "apps[0].callback_url: \"\"; must be an absolute"},
		{"URL a list", head + "  callback_url: [https://h]\n", "apps[0].callback_url: a list; must be a string"},
		{"empty token", head + "  callback_url: https://h\n  callback_token: ''\n", "line 6: apps[0].callback_token: empty"},
		{"token without URL", head + "  callback_token: t\n", "line 5: apps[0].callback_url: missing; callback_token needs it"},
		{"events without URL", head + "  callback_events: [Group.CallbackAfterCreateGroup]\n", "line 5: apps[0].callback_url: missing; callback_events needs it"},
		{"unknown event", head + "  callback_url: https://h\n  callback_events: [Group.CallbackAfterCreateGroup, Group.CallbackAfterSendMsg]\n",
			`line 6: apps[0].callback_events[1]: "Group.CallbackAfterSendMsg" is not a callback Tally sends; use Group.CallbackBeforeCreateGroup, Group.CallbackAfterCreateGroup,`},
		{"event in another case", head + "  callback_url: https://h\n  callback_events: [group.callbackaftercreategroup]\n",
			`apps[0].callback_events[0]: "group.callbackaftercreategroup" is not a callback`},
		{"no events", head + "  callback_url: https://h\n  callback_events: []\n", "line 6: apps[0].callback_events: an empty list"},
		{"events a string", head + "  callback_url: https://h\n  callback_events: Group.CallbackAfterCreateGroup\n", "apps[0].callback_events: Group.CallbackAfterCreateGroup; must be a list"},
		{"max age a number", "callback_max_age: 3600\n", "line 1: callback_max_age: 3600; must be a duration such as 30m or 1h"},
		{"max age zero", "callback_max_age: 0s\n", "callback_max_age: 0s; must be a duration"},
		{"max age negative", "callback_max_age: -1h\n", "callback_max_age: -1h; must be a duration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse([]byte(c.in))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error containing %q", f, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse error %q, want it to contain %q", err, c.want)
			}
		})
	}
}
