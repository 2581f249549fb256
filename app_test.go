package tally

import (
	"errors"
	"testing"
)

// TestValidateNamesTheField checks that Validate's errors carry the setting
// at fault as a value, spelled as in the config file, for the config
// reader to find its line by.
func TestValidateNamesTheField(t *testing.T) {
	ok := App{SDKAppID: 1, SecretKey: "k", Admins: []string{"a"}, Edition: DefaultEdition}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate of a good app: %v", err)
	}
	tests := []struct {
		name   string
		spoil  func(*App)
		field  string
		errStr string
	}{
		{"no sdkappid", func(a *App) { a.SDKAppID = 0 }, "sdkappid", "sdkappid: required, a number from 1 to 4294967295"},
		{"old key repeats the key", func(a *App) { a.OldSecretKey = "k" }, "old_secret_key", "old_secret_key: the same as secret_key; give the key being replaced, or leave it out"},
		{"eleven admins", func(a *App) { a.Admins = make([]string, 11) }, "admins", "admins: 11 given; an app needs 1 to 10"},
		{"an empty admin", func(a *App) { a.Admins = []string{"a", "b", ""} }, "admins[2]", "admins[2]: empty identifier"},
		{"negative app limit", func(a *App) { a.RateLimitPerApp = -1 }, "rate_limit_per_app", "rate_limit_per_app: -1; must be 0 (unlimited) or more"},
		{"edition in capitals", func(a *App) { a.Edition = "Pro" }, "edition", `edition: "Pro"; must be one of [developer standard pro pro_plus enterprise ultimate]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ok
			tt.spoil(&a)
			err := a.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v (%T), want a *FieldError", err, err)
			}
			if fe.Field != tt.field || err.Error() != tt.errStr {
				t.Errorf("Validate = field %q, %q; want field %q, %q", fe.Field, err, tt.field, tt.errStr)
			}
		})
	}
}
