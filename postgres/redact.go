package postgres

import (
	"net/url"
	"regexp"
	"strings"
)

// The errors of Open end up in logs and on terminals, so none may hold the
// database password. pgx masks it on a best-effort basis, but an error from
// deeper down, such as net/url's, quotes the URL whole; so every error
// that Open returns has each password it might hold replaced.

// redactedError is err with its text cleaned of secrets. It unwraps to err,
// so that errors.Is still finds a context's error.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with every non-empty secret in its text masked.
func redact(err error, secrets ...string) error {
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return &redactedError{msg: msg, err: err}
}

// parseError is the error of a connection string that pgx could not parse,
// with every password the string seems to hold masked, however malformed.
func parseError(conn string, err error) error {
	return redact(&redactedError{msg: "postgres: the database URL is not valid: " + err.Error(), err: err}, passwords(conn)...)
}

var (
	// A key=value setting, quoted or not, in a connection string or a
	// URL's query.
	kvPassword = regexp.MustCompile(`(?:^|[\s?&])(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*)`)
)

// passwords returns what may be a password in conn, in the forms an error
// might quote it: as written and percent-decoded.
func passwords(conn string) []string {
	var out []string
	add := func(s string) {
		s = strings.Trim(s, "'")
		if s == "" {
			return
		}
		out = append(out, s)
		if d, err := url.PathUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
		if d, err := url.QueryUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
	}
	// The userinfo of a URL: what lies between the first colon after the
	// scheme and the last @ before the path, which a malformed URL may
	// have put anywhere.
	if _, rest, ok := strings.Cut(conn, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			userinfo := rest[:at]
			if _, pw, ok := strings.Cut(userinfo, ":"); ok {
				add(pw)
				// Or the password ends at the first @, and the
				// rest is host and path.
				if first, _, ok := strings.Cut(pw, "@"); ok {
					add(first)
				}
			}
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(conn, -1) {
		add(m[1])
	}
	return out
}
