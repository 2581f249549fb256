package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/datadir"
)

func TestLoadOrCreateDevApp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested") // made on first use
	app, created, err := LoadOrCreateDevApp(dir)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	if !created {
		t.Error("first call: created = false")
	}
	if err := app.Validate(); err != nil {
		t.Errorf("dev app invalid: %v", err)
	}
	if app.SDKAppID < 1400000000 || app.SDKAppID > 1499999999 {
		t.Errorf("sdkappid %d outside 1400000000..1499999999", app.SDKAppID)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(app.SecretKey) {
		t.Errorf("secret key %q is not 64 hex digits", app.SecretKey)
	}
	want := tally.App{
		SDKAppID:        app.SDKAppID,
		SecretKey:       app.SecretKey,
		Admins:          []string{"administrator"},
		Edition:         tally.DefaultEdition,
		RateLimitPerAPI: tally.DefaultRateLimitPerAPI,
		RateLimitPerApp: tally.DefaultRateLimitPerApp,
	}
	if !reflect.DeepEqual(app, want) {
		t.Errorf("dev app = %+v, want %+v", app, want)
	}

	path := filepath.Join(dir, datadir.DevAppFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %v, want 0600", mode)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only %s (a temporary file left?)", len(entries), datadir.DevAppFile)
	}

	// The file is a config file whose entry a user can copy.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "# ") {
		t.Errorf("file does not start with a comment:\n%s", data)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse of %s: %v", path, err)
	}
	if len(f.Apps) != 1 || !reflect.DeepEqual(f.Apps[0], app) {
		t.Errorf("Parse of %s = %+v, want the app", path, f)
	}

	again, created, err := LoadOrCreateDevApp(dir)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if created {
		t.Error("second call: created = true")
	}
	if !reflect.DeepEqual(again, app) {
		t.Errorf("second call = %+v, want %+v", again, app)
	}

	other, _, err := LoadOrCreateDevApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other.SDKAppID == app.SDKAppID && other.SecretKey == app.SecretKey {
		t.Error("two data directories got the same app")
	}
}

func TestLoadOrCreateDevAppKeepsBadFile(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"broken", "apps: [\n", "config "},
		{"no app", "apps: []\n", "must hold one app"},
		{"two apps", "apps:\n- {sdkappid: 1, secret_key: k, admins: [a]}\n- {sdkappid: 2, secret_key: k, admins: [a]}\n", "must hold one app"},
		{"server settings", "listen: \":1\"\napps:\n- {sdkappid: 1, secret_key: k, admins: [a]}\n", "must hold one app"},
		{"invalid app", "apps:\n- {sdkappid: 1, admins: [a]}\n", "apps[0].secret_key: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, datadir.DevAppFile)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, created, err := LoadOrCreateDevApp(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if created {
				t.Error("created = true")
			}
			if data, _ := os.ReadFile(path); string(data) != tt.content {
				t.Errorf("file was changed to %q", data)
			}
		})
	}
}

// TestFormatDevAppRoundTrip checks that a user's edits that survive Parse,
// whatever their characters, survive being written back.
func TestFormatDevAppRoundTrip(t *testing.T) {
	a := tally.App{
		SDKAppID:        4294967295,
		SecretKey:       "tab\there \"quote\" back\\slash #hash: colon\nnewline é 🙂 \x7f",
		Admins:          []string{"administrator", "- dash", "[x]", "007", "true"},
		Edition:         tally.EditionProPlus,
		RateLimitPerAPI: 0,
		RateLimitPerApp: 7,
		Disabled:        true,
	}
	f, err := Parse(formatDevApp(a))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, formatDevApp(a))
	}
	if len(f.Apps) != 1 || !reflect.DeepEqual(f.Apps[0], a) {
		t.Errorf("Parse = %+v, want %+v", f.Apps, a)
	}
}
