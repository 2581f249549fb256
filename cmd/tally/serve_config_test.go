package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesBadConfig checks that a server given a bad config file
// stops at once with a message naming the setting, before it listens or
// touches the data dir.
func TestServeRefusesBadConfig(t *testing.T) {
	needBinary(t)
	app := func(lines ...string) string {
		return "apps:\n  - " + strings.Join(lines, "\n    ") + "\n"
	}
	const (
		id    = "sdkappid: 1400000042"
		key   = `secret_key: "s3cret"`
		admin = `admins: ["administrator"]`
	)
	elevenAdmins := `admins: ["a1","a2","a3","a4","a5","a6","a7","a8","a9","a10","a11"]`
	tests := []struct {
		name    string
		file    string // the config file's name; its extension is only a hint to readers
		content string // "" for no file at all
		want    []string
	}{
		{"unknown key in an app", "c.yaml", app(id, key, admin, "colour: red"), []string{"line 5", "apps[0]", `unknown field "colour"`}},
		{"unknown top-level key", "c.yaml", "port: 8080\n" + app(id, key, admin), []string{"line 1", `unknown field "port"`}},
		{"bad edition", "c.yaml", app(id, key, admin, "edition: gold"), []string{"apps[0].edition", `"gold"`}},
		{"edition in capitals", "c.yaml", app(id, key, admin, "edition: Ultimate"), []string{"apps[0].edition"}},
		{"missing secret_key", "c.yaml", app(id, admin), []string{"apps[0].secret_key: required"}},
		{"empty secret_key", "c.yaml", app(id, `secret_key: ""`, admin), []string{"apps[0].secret_key"}},
		{"missing sdkappid", "c.yaml", app(key, admin), []string{"apps[0].sdkappid: required"}},
		{"admins empty", "c.yaml", app(id, key, "admins: []"), []string{"apps[0].admins: 0 given"}},
		{"11 admins", "c.yaml", app(id, key, elevenAdmins), []string{"apps[0].admins: 11 given"}},
		{"empty admin", "c.yaml", app(id, key, `admins: ["x", ""]`), []string{"apps[0].admins[1]"}},
		{"sdkappid abc", "c.yaml", app("sdkappid: abc", key, admin), []string{"apps[0].sdkappid: abc"}},
		{"sdkappid quoted", "c.yaml", app(`sdkappid: "1400000042"`, key, admin), []string{"apps[0].sdkappid"}},
		{"sdkappid 0", "c.yaml", app("sdkappid: 0", key, admin), []string{"apps[0].sdkappid"}},
		{"sdkappid over uint32", "c.yaml", app("sdkappid: 4294967296", key, admin), []string{"apps[0].sdkappid"}},
		{"negative rate limit", "c.yaml", app(id, key, admin, "rate_limit_per_api: -1"), []string{"apps[0].rate_limit_per_api"}},
		{"disabled not a bool", "c.yaml", app(id, key, admin, "disabled: maybe"), []string{"apps[0].disabled"}},
		{"duplicate sdkappid", "c.yaml", app(id, key, admin) + "  - " + id + "\n    secret_key: other\n    " + admin + "\n",
			[]string{"apps[1].sdkappid", "also apps[0]"}},
		{"key given twice", "c.yaml", app(id, key, admin, `secret_key: "again"`), []string{"apps[0].secret_key", "given twice"}},
		// yaml.v3 reports the line where the list began (1), not the bad
		// indentation (3); see go-yaml/yaml#704. Only "a line" is asked for.
		{"malformed YAML", "c.yaml", "apps:\n  - sdkappid: 1400000042\n   secret_key: x\n", []string{"line ", "expected"}},
		{"unclosed flow list", "c.yaml", "apps: [\n", []string{"line"}},
		{"bad listen in file", "c.yaml", "listen: nowhere\n" + app(id, key, admin), []string{"listen", `"nowhere"`}},
		{"malformed JSON", "c.json", `{"apps": [{"sdkappid": 1400000042,}`, []string{"c.json"}},
		{"JSON wrong type", "c.json", `{"apps": [{"sdkappid": 1400000042, "secret_key": "k", "admins": "administrator"}]}`, []string{"apps[0].admins", "must be a list"}},
		{"missing file", "absent.yaml", "", []string{"absent.yaml", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if tt.content != "" {
				writeFile(t, path, tt.content)
			}
			data := filepath.Join(dir, "data")
			addr := freeAddr(t)
			start := time.Now()
			code, out, errOut := runTally(t, 10*time.Second, "serve", "--config", path, "--listen", addr, "--data", data)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v to refuse the config", took)
			}
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if want := "config " + path + ": "; !strings.Contains(errOut, want) {
				t.Errorf("stderr does not start the message with %q:\n%s", want, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(out, "serving") {
				t.Errorf("stdout claims to serve:\n%s", out)
			}
			assertNotListening(t, addr)
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Errorf("the data dir was created (stat: %v)", err)
			}
		})
	}
}

// TestServeConfigFromFile starts from a JSON config (tab-indented, as
// editors write it) that sets listen and data, with no flags, and checks the
// server uses them and each app gets its own edition.
func TestServeConfigFromFile(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	data := filepath.Join(dir, "from-file")
	cfg := writeFile(t, filepath.Join(dir, "tally.json"), fmt.Sprintf(`{
	"listen": %q,
	"data": %q,
	"apps": [
		{"sdkappid": %d, "secret_key": %q, "admins": [%q], "edition": "pro", "rate_limit_per_api": 0},
		{"sdkappid": 1400000043, "secret_key": "other", "admins": ["boss"], "edition": "standard"}
	]
}
`, addr, data, testAppID, testKey, testAdmin))

	s := startServer(t, "serve", "--config", cfg)
	if want := "http://" + addr; s.base != want {
		t.Errorf("serving %s, want %s from the file", s.base, want)
	}
	if s.data != data {
		t.Errorf("data in %s, want %s from the file", s.data, data)
	}
	if !strings.Contains(s.stdout.String(), "2 app(s)") {
		t.Errorf("banner does not count 2 apps: %s", s.stdout)
	}
	if strings.Contains(s.stdout.String(), "Development app") {
		t.Errorf("a config with apps printed a development app:\n%s", s.stdout)
	}
	if _, err := os.Stat(filepath.Join(data, "store")); err != nil {
		t.Errorf("no store in the data dir from the file: %v", err)
	}

	pro := newAPI(s.base, testAppID, testKey, testAdmin)
	pro.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g", "GroupId": "g1"})
	r := pro.mustOK(t, "update_group_counter", map[string]any{"GroupId": "g1", "Mode": "Increase", "GroupCounter": []counter{{"k", 5}}})
	if len(r.GroupCounter) != 1 || r.GroupCounter[0] != (counter{"k", 5}) {
		t.Errorf("GroupCounter %+v, want [{k 5}]", r.GroupCounter)
	}

	std := newAPI(s.base, 1400000043, "other", "boss")
	std.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g", "GroupId": "g1"})
	resp, err := std.call(context.Background(), "update_group_counter", []byte(`{"GroupId":"g1","GroupCounter":[{"Key":"k","Value":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 10059 {
		t.Errorf("standard edition app: update_group_counter answered %d %q, want 10059", resp.ErrorCode, resp.ErrorInfo)
	}
}

// TestServeFlagsOverrideFile checks that --listen and --data win over the
// file's listen and data. The file's port is held by the test, so a server
// that used it would fail to start.
func TestServeFlagsOverrideFile(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	fileData := filepath.Join(dir, "file-data")
	flagData := filepath.Join(dir, "flag-data")
	cfg := writeFile(t, filepath.Join(dir, "tally.yaml"),
		fmt.Sprintf("listen: %q\ndata: %q\n", held.Addr(), fileData)+testConfig())

	s := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", flagData)
	if s.base == "http://"+held.Addr().String() {
		t.Errorf("serving on the file's address %s despite --listen", s.base)
	}
	if s.data != flagData {
		t.Errorf("data in %s, want %s from --data", s.data, flagData)
	}
	if _, err := os.Stat(filepath.Join(flagData, "store")); err != nil {
		t.Errorf("no store in --data: %v", err)
	}
	if _, err := os.Stat(fileData); !os.IsNotExist(err) {
		t.Errorf("the file's data dir was created (stat: %v)", err)
	}
	c := newAPI(s.base, testAppID, testKey, testAdmin)
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g"})
}

// TestServeRefusesBusyAddressAndDataDir checks the two resources a second
// server would fight over: an address in use, and a data dir that another
// server has open.
func TestServeRefusesBusyAddressAndDataDir(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig())

	first := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "one"))
	addr := strings.TrimPrefix(first.base, "http://")
	code, _, errOut := runTally(t, 10*time.Second, "serve", "--config", cfg, "--listen", addr, "--data", filepath.Join(dir, "two"))
	if code != 1 || !strings.Contains(errOut, addr) {
		t.Errorf("second server on %s: exit code %d, stderr:\n%s\nwant code 1 and a message naming the address", addr, code, errOut)
	}

	other := freeAddr(t)
	code, _, errOut = runTally(t, 10*time.Second, "serve", "--config", cfg, "--listen", other, "--data", filepath.Join(dir, "one"))
	if code != 1 || !strings.Contains(errOut, filepath.Join(dir, "one")) {
		t.Errorf("second server on the same data dir: exit code %d, stderr:\n%s\nwant code 1 and a message naming the dir", code, errOut)
	}
	assertNotListening(t, other)

	// The first server is unharmed.
	c := newAPI(first.base, testAppID, testKey, testAdmin)
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g"})
}
