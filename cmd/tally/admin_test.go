package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminListener shows that pprof is served only when asked for, and
// only on the admin address, never on the API's.
func TestAdminListener(t *testing.T) {
	needBinary(t)
	get := func(url string) (int, string) {
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
	}{{"off by default", false}, {"on with --admin", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig())
			args := []string{"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data")}
			admin := freeAddr(t)
			if tc.admin {
				args = append(args, "--admin", admin)
			}
			s := startServer(t, args...)
			// The API's address answers pprof paths with an envelope, as it
			// answers every unknown path.
			if code, body := get(s.base + "/debug/pprof/"); code != 200 || !strings.Contains(body, `"ErrorCode":`) {
				t.Errorf("API address, /debug/pprof/: %d %.80q; want an envelope", code, body)
			}
			if !tc.admin {
				if _, err := http.Get("http://" + admin + "/debug/pprof/"); err == nil {
					t.Errorf("something answers on %s without --admin", admin)
				}
				return
			}
			if code, body := get("http://" + admin + "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
				t.Errorf("admin address, /debug/pprof/: %d %.80q; want the pprof index", code, body)
			}
		})
	}
}
