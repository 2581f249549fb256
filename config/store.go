package config

import (
	"errors"
	"fmt"
	"strings"
)

// StoreSchemes are the URL schemes a store setting may have, the ones pgx
// accepts for PostgreSQL. Without a store setting, the server keeps its
// data in the embedded store in its data directory.
var StoreSchemes = []string{"postgres", "postgresql"}

// CheckStore reports whether url names a store the server can open: a
// PostgreSQL URL, postgres://… or postgresql://…. It checks only the
// scheme; whether the rest is a URL that pgx can use, and a database it
// can reach, is for opening the store to find out.
//
// Its errors never quote url, which may hold a password: a config error
// ends up in logs and on terminals. They name the scheme, when url has
// one that reads as a scheme and nothing more.
func CheckStore(url string) error {
	for _, s := range StoreSchemes {
		if strings.HasPrefix(url, s+"://") {
			return nil
		}
	}
	const want = "must be a postgres:// or postgresql:// URL, or left out for the embedded store in data"
	scheme, _, ok := strings.Cut(url, "://")
	if !ok || !isScheme(scheme) {
		return errors.New("not a URL; " + want + " (the value is not shown, as it may hold a password)")
	}
	return fmt.Errorf("a %q URL; %s", scheme, want)
}

// isScheme reports whether s reads as a URL scheme (RFC 3986: a letter,
// then letters, digits, "+", "-" and "."), so that a message may quote it
// without quoting a password that a malformed URL put before "://".
func isScheme(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
