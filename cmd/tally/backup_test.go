package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// backupTo runs tally backup against admin and fails the test unless it
// wrote out.
func backupTo(t *testing.T, admin, out string) {
	t.Helper()
	code, stdout, stderr := runTally(t, 60*time.Second, "backup", "--admin", admin, "--out", out)
	if code != 0 {
		t.Fatalf("tally backup: exit code %d; stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`^wrote \S+: \d+ files, \d+ bytes, taken .*\n$`).MatchString(stdout) {
		t.Errorf("tally backup printed %q", stdout)
	}
}

// restoreTo runs tally restore and fails the test unless it restored.
func restoreTo(t *testing.T, from, data string) {
	t.Helper()
	code, stdout, stderr := runTally(t, 60*time.Second, "restore", "--from", from, "--data", data)
	if code != 0 {
		t.Fatalf("tally restore: exit code %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "tally serve") || !strings.Contains(stdout, "--data "+data) {
		t.Errorf("tally restore does not say how to start a server on %s:\n%s", data, stdout)
	}
}

// TestBackupUnderLoad takes a backup while 32 clients increase three
// counters in one request each, restores it, and starts a second server
// on it: the three counters must be equal (no request torn by the
// checkpoint) and hold at least every increase acknowledged before the
// backup began and at most those sent before it ended.
func TestBackupUnderLoad(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cfg := hammerConfig(t, dir)
	admin := freeAddr(t)
	s := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--admin", admin)
	newAPI(s.base, testAppID, testKey, testAdmin).mustOK(t, "create_group",
		map[string]any{"Type": "Public", "Name": "backup test", "GroupId": hammerGroup})

	file := filepath.Join(dir, "backup.tar")
	var b bounds
	var sentBefore int64
	r := hammerWatched(t, s, 0, 300*time.Millisecond, func(c *hammerCounts) {
		b.low = max(c.acked.Load(), c.maxSeen.Load())
		sentBefore = c.sent.Load()
		backupTo(t, admin, file)
		b.high = c.sent.Load()
	})
	if t.Failed() {
		return
	}
	t.Logf("backup under load: %d acked before it, %d sent before it, %d sent when it ended; %d acked in all",
		b.low, sentBefore, b.high, r.acked)
	if b.low == 0 || b.high == sentBefore {
		t.Errorf("the writes did not overlap the backup (acked before %d, sent %d before and %d after): the test tested nothing",
			b.low, sentBefore, b.high)
	}

	data := filepath.Join(dir, "restored")
	restoreTo(t, file, data)
	s2 := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", data)
	v := readHammered(t, s2)
	b.check(t, "restored from a backup under load", v)
	t.Logf("the backup holds %d (acked before %d, sent by its end %d)", v, b.low, b.high)
}

// rawCall posts body to command and returns the answer's bytes.
func (c *api) rawCall(t *testing.T, command, body string) []byte {
	t.Helper()
	resp, err := c.hc.Post(c.url(command), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return b
}

// TestRestoredServerAnswersAlike fills a server with groups of every type,
// extreme, deleted and destroyed counters and groups, backs it up,
// restores the backup and starts a second server on it, with writes
// stopped. The two servers must answer every read byte for byte alike.
// The first server runs without a config, so the backup must bring its
// dev app along for the second to accept the same UserSig.
func TestRestoredServerAnswersAlike(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	admin := freeAddr(t)
	orig := startServer(t, "serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--admin", admin)
	app := readDevApp(t, orig)
	c := newAPI(orig.base, app.sdkappid, app.key, app.admin)

	types := []string{"Private", "Public", "ChatRoom", "AVChatRoom", "Community", "Work", "Meeting"}
	var ids []string
	for i, typ := range types {
		id := fmt.Sprintf("g%d-%s", i, typ)
		if typ == "Community" {
			id = "@TGS#_" + id // as Tencent requires of a Community's id
		}
		ids = append(ids, id)
		c.mustOK(t, "create_group", map[string]any{"Type": typ, "Name": "name of " + id, "GroupId": id})
	}
	// A group with a generated id, as most clients make them.
	gen := c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "generated"}).GroupId
	ids = append(ids, gen)
	counters := []counter{{"max", 1<<63 - 1}, {"min", -1 << 63}, {"zero", 0}, {"gone", 5}, {"键", 42}}
	for _, id := range ids {
		if strings.Contains(id, "Community") {
			continue // Communities have no counters.
		}
		c.mustOK(t, "update_group_counter", map[string]any{"GroupId": id, "Mode": "Set", "GroupCounter": counters})
	}
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": ids[1], "Mode": "Increase", "GroupCounter": []counter{{"zero", 7}}})
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": ids[1], "Mode": "Decrease", "GroupCounter": []counter{{"min", -3}}})
	c.mustOK(t, "delete_group_counter", map[string]any{"GroupId": ids[0], "GroupCounterKeys": []string{"gone"}})
	c.mustOK(t, "delete_group_counter", map[string]any{"GroupId": ids[2]}) // all of them
	c.mustOK(t, "destroy_group", map[string]any{"GroupId": ids[3]})

	file := filepath.Join(dir, "backup.tar")
	backupTo(t, admin, file)
	data := filepath.Join(dir, "restored")
	restoreTo(t, file, data)
	restored := startServer(t, "serve", "--listen", "127.0.0.1:0", "--data", data)
	if got := readDevApp(t, restored); got.sdkappid != app.sdkappid || got.key != app.key || got.admin != app.admin {
		t.Fatalf("the restored server's dev app is %+v, the original's %+v", got, app)
	}

	// The reads to compare, with the ids of destroyed and unknown groups
	// among them: their errors must match too.
	all := append(append([]string{}, ids...), "never-made")
	var reads [][2]string
	for _, id := range all {
		reads = append(reads,
			[2]string{"get_group_counter", fmt.Sprintf(`{"GroupId":%q}`, id)},
			[2]string{"get_group_counter", fmt.Sprintf(`{"GroupId":%q,"GroupCounterKeys":["max","gone","键"]}`, id)})
	}
	list, _ := json.Marshal(map[string]any{"GroupIdList": all})
	reads = append(reads, [2]string{"get_group_info", string(list)})
	pages := func(a *api, filter string) []string {
		var bodies []string
		next := uint64(0)
		for range 100 {
			body := a.rawCall(t, "get_appid_group_list", fmt.Sprintf(`{"Limit":2,"Next":%d%s}`, next, filter))
			bodies = append(bodies, string(body))
			var page struct{ Next uint64 }
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatalf("get_appid_group_list: %v: %s", err, body)
			}
			if next = page.Next; next == 0 {
				return bodies
			}
		}
		t.Fatal("get_appid_group_list: more than 100 pages")
		return nil
	}

	a, b := c, newAPI(restored.base, app.sdkappid, app.key, app.admin)
	for _, rd := range reads {
		want, got := a.rawCall(t, rd[0], rd[1]), b.rawCall(t, rd[0], rd[1])
		if !bytes.Equal(got, want) {
			t.Errorf("%s %s:\nrestored %s\noriginal %s", rd[0], rd[1], got, want)
		}
	}
	for _, filter := range []string{"", `,"GroupType":"Private"`, `,"GroupType":"Public"`, `,"GroupType":"Community"`} {
		want, got := pages(a, filter), pages(b, filter)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("get_appid_group_list%s, all pages:\nrestored %s\noriginal %s", filter, got, want)
		}
		if filter == "" && len(want) < 3 {
			t.Errorf("get_appid_group_list has %d pages; the test wants several", len(want))
		}
	}
	// What the original answered is what it holds, not an error.
	if got := c.counters(t, ids[1]); got["max"] != 1<<63-1 || got["zero"] != 7 || got["min"] != -1<<63+3 {
		t.Errorf("the original's %s holds %v", ids[1], got)
	}
}

// TestBackupRefusals checks the mistakes backup and restore refuse, and
// that each message names what is wrong.
func TestBackupRefusals(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	admin := freeAddr(t)
	data := filepath.Join(dir, "data")
	cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig())
	startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", data, "--admin", admin)
	good := filepath.Join(dir, "good.tar")
	backupTo(t, admin, good)
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := writeFile(t, filepath.Join(dir, "truncated.tar"), string(whole[:len(whole)/2]))
	cut := bytes.Index(whole, []byte("tally-backup.json"))
	noManifest := writeFile(t, filepath.Join(dir, "no-manifest.tar"), string(whole[:cut]))
	notTar := writeFile(t, filepath.Join(dir, "not.tar"), strings.Repeat("not a tar archive\n", 100))
	noAdmin := freeAddr(t) // nothing listens there
	api := startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "other"))
	apiAddr := strings.TrimPrefix(api.base, "http://")
	fresh := func() string { return filepath.Join(t.TempDir(), "data") }

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"backup without --admin", []string{"backup", "--out", filepath.Join(dir, "x.tar")}, 2, "--admin is required"},
		{"backup without --out", []string{"backup", "--admin", admin}, 2, "--out is required"},
		{"backup bad --admin", []string{"backup", "--admin", "nonsense", "--out", filepath.Join(dir, "x.tar")}, 2, `--admin "nonsense"`},
		{"backup stray argument", []string{"backup", "--admin", admin, "--out", filepath.Join(dir, "x.tar"), "now"}, 2, `unexpected argument "now"`},
		{"backup from nothing", []string{"backup", "--admin", noAdmin, "--out", filepath.Join(dir, "x.tar")}, 1, noAdmin},
		{"backup from the API address", []string{"backup", "--admin", apiAddr, "--out", filepath.Join(dir, "x.tar")}, 1, "/backup"},
		{"backup over a file", []string{"backup", "--admin", admin, "--out", good}, 1, good + " exists"},
		{"backup into a missing dir", []string{"backup", "--admin", admin, "--out", filepath.Join(dir, "nowhere", "x.tar")}, 1, filepath.Join(dir, "nowhere")},
		{"restore without --from", []string{"restore", "--data", fresh()}, 2, "--from is required"},
		{"restore without --data", []string{"restore", "--from", good}, 2, "--data is required"},
		{"restore a missing file", []string{"restore", "--from", filepath.Join(dir, "missing.tar"), "--data", fresh()}, 1, filepath.Join(dir, "missing.tar")},
		{"restore over a store", []string{"restore", "--from", good, "--data", data}, 1, filepath.Join(data, "store") + " already exists"},
		{"restore a truncated file", []string{"restore", "--from", truncated, "--data", fresh()}, 1, "truncated"},
		{"restore without a manifest", []string{"restore", "--from", noManifest, "--data", fresh()}, 1, "ends without its manifest"},
		{"restore no tar", []string{"restore", "--from", notTar, "--data", fresh()}, 1, notTar},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runTally(t, 30*time.Second, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr does not mention %q:\n%s", tt.stderr, errOut)
			}
			if out != "" {
				t.Errorf("a failing command printed to stdout: %q", out)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
		t.Errorf("failed backups left %v", left)
	}

	// --force replaces a backup, with a whole one.
	code, _, errOut := runTally(t, 60*time.Second, "backup", "--admin", admin, "--out", good, "--force")
	if code != 0 {
		t.Fatalf("backup --force: exit code %d: %s", code, errOut)
	}
	restoreTo(t, good, fresh())

	// The admin listener sends backups to GET only, and the server's data
	// dir keeps no checkpoint after a backup.
	resp, err := http.Post("http://"+admin+"/backup", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /backup: %s, want 405", resp.Status)
	}
	if left, _ := filepath.Glob(filepath.Join(data, ".backup-*")); len(left) > 0 {
		t.Errorf("the server's data dir keeps %v", left)
	}
}
