package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAdminListener shows that pprof is served only when asked for, and
// only on the admin address, never on the API's.
func TestAdminListener(t *testing.T) {
	t.Parallel()
	get := func(t *testing.T, url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name  string
		admin bool
	}{{"off by default", false}, {"on with an address", true}} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMain(t, testConfig())
			unused := freeAddr(t)
			if tc.admin {
				m.Admin = "127.0.0.1:0"
			}
			m.open(t)
			// The API's address answers pprof paths with an envelope, as it
			// answers every unknown path.
			if code, body := get(t, m.URL()+"/debug/pprof/"); code != 200 || !strings.Contains(body, `"ErrorCode":`) {
				t.Errorf("API address, /debug/pprof/: %d %.80q; want an envelope", code, body)
			}
			if !tc.admin {
				if a := m.AdminAddr(); a != "" {
					t.Errorf("an admin listener on %s without an address asked for", a)
				}
				if _, err := http.Get("http://" + unused + "/debug/pprof/"); err == nil {
					t.Errorf("something answers on %s without an admin address", unused)
				}
				return
			}
			if code, body := get(t, "http://"+m.AdminAddr()+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
				t.Errorf("admin address, /debug/pprof/: %d %.80q; want the pprof index", code, body)
			}
			if !strings.Contains(m.stderr.String(), "admin listener serving pprof, /backup and /metrics\" addr="+m.AdminAddr()) {
				t.Errorf("the log does not say where the admin listener is:\n%s", m.stderr)
			}
		})
	}
}
