package tally

import "fmt"

// App is a tenant: everything else is scoped to one SDKAppID, so two apps can
// hold groups with the same GroupId.
type App struct {
	SDKAppID  uint32
	SecretKey string
	// OldSecretKey, when set, is a second key that UserSigs may be signed
	// with while the app's key is rotated: clients that still sign with the
	// old key keep working until it is removed. Tally itself only ever signs
	// with SecretKey.
	OldSecretKey string
	// Admins are the identifiers allowed to call the REST API (1..10).
	Admins  []string
	Edition Edition
	// RateLimitPerAPI caps calls per second of each command, and
	// RateLimitPerApp all calls of the app together; 0 means unlimited.
	RateLimitPerAPI int
	RateLimitPerApp int
	Disabled        bool
	// Callback is where the app's third-party callbacks go; its zero
	// value sends none.
	Callback Callback
}

// Callback is an app's third-party callback settings, as Tencent's console
// keeps them, with what Tally adds.
type Callback struct {
	// URL receives the callbacks: an absolute http or https URL. Empty
	// sends none.
	URL string
	// Token, when set, signs each callback URL (Sign and RequestTime).
	Token string
	// Events are the after-events sent; BeforeCreateGroup says whether
	// Group.CallbackBeforeCreateGroup is asked before each create_group.
	Events            EventSet
	BeforeCreateGroup bool
}

// Records returns the after-events the app's writes are to record in the
// store's outbox: none without a URL.
func (c *Callback) Records() EventSet {
	if c.URL == "" {
		return 0
	}
	return c.Events
}

// Default values of an app's optional settings.
const (
	DefaultEdition         = EditionUltimate
	DefaultRateLimitPerAPI = 200
	DefaultRateLimitPerApp = 0
	MaxAdmins              = 10
)

// IsAdmin reports whether identifier may call the REST API of the app.
func (a *App) IsAdmin(identifier string) bool {
	for _, id := range a.Admins {
		if id == identifier {
			return true
		}
	}
	return false
}

// Validate reports the first setting of a that a server cannot run with,
// as a *FieldError.
func (a *App) Validate() error {
	switch {
	case a.SDKAppID == 0:
		return &FieldError{"sdkappid", "required, a number from 1 to 4294967295"}
	case a.SecretKey == "":
		return &FieldError{"secret_key", "required"}
	case a.OldSecretKey != "" && a.OldSecretKey == a.SecretKey:
		// Most likely the new key was pasted into both settings, which
		// would lock out every client still signing with the real old key.
		return &FieldError{"old_secret_key", "the same as secret_key; give the key being replaced, or leave it out"}
	case len(a.Admins) == 0 || len(a.Admins) > MaxAdmins:
		return &FieldError{"admins", fmt.Sprintf("%d given; an app needs 1 to %d", len(a.Admins), MaxAdmins)}
	case a.RateLimitPerAPI < 0:
		return &FieldError{"rate_limit_per_api", fmt.Sprintf("%d; must be 0 (unlimited) or more", a.RateLimitPerAPI)}
	case a.RateLimitPerApp < 0:
		return &FieldError{"rate_limit_per_app", fmt.Sprintf("%d; must be 0 (unlimited) or more", a.RateLimitPerApp)}
	}
	for i, id := range a.Admins {
		if id == "" {
			return &FieldError{fmt.Sprintf("admins[%d]", i), "empty identifier"}
		}
	}
	if _, ok := ParseEdition(string(a.Edition)); !ok {
		return &FieldError{"edition", fmt.Sprintf("%q; must be one of %v", a.Edition, editions)}
	}
	return nil
}

// FieldError is a setting of an app that a server cannot run with. Field
// names it as the config file spells it, such as "edition" or "admins[2]",
// so that a reader of the file can point at its line.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Edition is the purchased edition of an app; it gates features.
type Edition string

// Editions, lowest first.
const (
	EditionDeveloper  Edition = "developer"
	EditionStandard   Edition = "standard"
	EditionPro        Edition = "pro"
	EditionProPlus    Edition = "pro_plus"
	EditionEnterprise Edition = "enterprise"
	EditionUltimate   Edition = "ultimate"
)

var editions = []Edition{EditionDeveloper, EditionStandard, EditionPro, EditionProPlus, EditionEnterprise, EditionUltimate}

// ParseEdition returns the edition named s.
func ParseEdition(s string) (Edition, bool) {
	for _, e := range editions {
		if string(e) == s {
			return e, true
		}
	}
	return "", false
}

func (e Edition) rank() int {
	for i, x := range editions {
		if x == e {
			return i
		}
	}
	return -1
}

// HasGroupCounters reports whether the edition includes group counters,
// which Tencent sells from Pro up.
func (e Edition) HasGroupCounters() bool { return e.rank() >= EditionPro.rank() }
