package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// NATSSchemes are the URL schemes a nats_url may have: nats:// for plain
// TCP, tls:// for a server that requires TLS.
var NATSSchemes = []string{"nats", "tls"}

// CheckNATS reports whether s names NATS servers the bus can dial: one
// nats:// or tls:// URL with a host, or a comma-separated list of them,
// which the client tries in turn. Whether a server answers is for
// connecting to find out.
//
// Like CheckStore's, its errors never quote s, which may hold a password
// or a token; they name the position of the URL at fault in a list.
func CheckNATS(s string) error {
	const want = "must be a nats:// or tls:// URL, or a comma-separated list of them (the value is not shown, as it may hold a password)"
	parts := strings.Split(s, ",")
	for i, p := range parts {
		where := ""
		if len(parts) > 1 {
			where = fmt.Sprintf("URL %d of %d: ", i+1, len(parts))
		}
		p = strings.TrimSpace(p)
		if p == "" {
			return errors.New(where + "empty; " + want)
		}
		u, err := url.Parse(p)
		if err != nil || u.Host == "" || !hasScheme(u.Scheme, NATSSchemes) {
			scheme, _, ok := strings.Cut(p, "://")
			if ok && isScheme(scheme) && !hasScheme(scheme, NATSSchemes) {
				return fmt.Errorf("%sa %q URL; %s", where, scheme, want)
			}
			return errors.New(where + "not a URL with a host; " + want)
		}
	}
	return nil
}

func hasScheme(scheme string, schemes []string) bool {
	for _, s := range schemes {
		if strings.EqualFold(scheme, s) {
			return true
		}
	}
	return false
}
