package config

import (
	"strings"
	"testing"
)

// TestNATSURL gives nats_url settings: one URL or a list of them is taken
// as written; anything else is refused, naming the setting and its line,
// and no message holds the password.
func TestNATSURL(t *testing.T) {
	const pw = "Hunter2-pw"
	for _, ok := range []string{
		"nats://127.0.0.1:4222",
		"nats://u:" + pw + "@n1:4222,nats://n2:4222, tls://n3:4443",
		"tls://token@nats.example.com",
	} {
		f, err := Parse([]byte("nats_url: '" + ok + "'\n"))
		if err != nil {
			t.Errorf("nats_url %q refused: %v", ok, err)
			continue
		}
		if f.NATS != ok {
			t.Errorf("nats_url %q read as %q", ok, f.NATS)
		}
	}
	tests := []struct {
		name, url string
		want      string
	}{
		{"another scheme", "http://u:" + pw + "@h:4222", `a "http" URL; must be a nats:// or tls:// URL`},
		{"no scheme", "u:" + pw + "@h:4222", "not a URL with a host"},
		{"no host", "nats://", "not a URL with a host"},
		{"bad in a list", "nats://h1:4222,redis://u:" + pw + "@h2", `URL 2 of 2: a "redis" URL`},
		{"empty in a list", "nats://h1:4222,,nats://h2", "URL 2 of 3: empty"},
		{"empty", "", "empty; leave it out on a single node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte("listen: 127.0.0.1:1\nnats_url: '" + tt.url + "'\n"))
			if err == nil || !strings.Contains(err.Error(), "line 2: nats_url: "+tt.want) {
				t.Fatalf("Parse error %v, want one naming line 2, nats_url and %q", err, tt.want)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("the error holds the password: %v", err)
			}
		})
	}
}
