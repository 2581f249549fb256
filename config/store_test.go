package config

import (
	"strings"
	"testing"
)

// TestStoreErrorsHideThePassword gives store settings that are not
// PostgreSQL URLs, each with a password in it: each is refused, and no
// message holds the password, whether from CheckStore or from Parse.
func TestStoreErrorsHideThePassword(t *testing.T) {
	const pw = "Hunter2-pw"
	tests := []struct {
		name, url string
		want      string
	}{
		{"another scheme", "mysql://u:" + pw + "@h/db", `a "mysql" URL`},
		{"scheme in capitals", "Postgres://u:" + pw + "@h/db", `a "Postgres" URL`},
		{"one slash", "postgres:/u:" + pw + "@h/db", "not a URL"},
		{"no colon", "postgres//u:" + pw + "@h/db", "not a URL"},
		{"key-value string", "host=h user=u password=" + pw, "not a URL"},
		{"password before the scheme", "u:" + pw + "@h://db", "not a URL"},
		{"no scheme", "u:" + pw + "@h/db", "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStore(tt.url)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckStore = %v, want an error saying %q", err, tt.want)
			}
			_, perr := Parse([]byte("store: '" + tt.url + "'\n"))
			if perr == nil || !strings.Contains(perr.Error(), "line 1: store: "+tt.want) {
				t.Fatalf("Parse error %v, want one naming line 1 and store", perr)
			}
			for _, e := range []error{err, perr} {
				if strings.Contains(e.Error(), pw) {
					t.Errorf("the error holds the password: %v", e)
				}
			}
		})
	}
	for _, ok := range []string{"postgres://h/db", "postgresql://u:" + pw + "@h1:5432,h2:5433/db?sslmode=require"} {
		if err := CheckStore(ok); err != nil {
			t.Errorf("CheckStore(%q) = %v, want nil", ok, err)
		}
	}
}
