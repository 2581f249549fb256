package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/postgres"
	"github.com/tallyserver/tally/storetest"
)

// migrateConfig is the config of the apps that storetest.Populate fills,
// which send their after-events to hook.
func migrateConfig(t *testing.T, dir, hook string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apps:\n")
	for _, app := range storetest.PopulatedApps {
		fmt.Fprintf(&b, "  - sdkappid: %d\n    secret_key: \"key-%d\"\n    admins: [%q]\n    callback_url: %q\n", app, app, testAdmin, hook)
	}
	return writeFile(t, filepath.Join(dir, "tally.yaml"), b.String())
}

// reading is one read call and the answer it got.
type reading struct {
	app           uint32
	command, body string
	answer        string
}

// readEverything reads, through the API of the server at base, everything
// a client can of the populated apps: the group list in pages of three and
// by type, every group's fields, members in pages, counters and roles,
// and the joined groups of some users. It returns the calls with their
// answers, so that they can be made again of another server.
func readEverything(t *testing.T, base string) []reading {
	t.Helper()
	var out []reading
	for _, app := range storetest.PopulatedApps {
		c := newAPI(base, app, fmt.Sprintf("key-%d", app), testAdmin)
		read := func(command, body string) string {
			a := string(c.rawCall(t, command, body))
			out = append(out, reading{app, command, body, a})
			return a
		}
		var ids []string
		for next := 0; ; {
			var page struct {
				GroupIdList []struct{ GroupId string }
				Next        int
			}
			a := read("get_appid_group_list", fmt.Sprintf(`{"Limit":3,"Next":%d}`, next))
			if err := json.Unmarshal([]byte(a), &page); err != nil {
				t.Fatalf("get_appid_group_list: %v: %s", err, a)
			}
			for _, g := range page.GroupIdList {
				ids = append(ids, g.GroupId)
			}
			if next = page.Next; next == 0 {
				break
			}
		}
		for _, typ := range []string{"Private", "Public", "ChatRoom", "AVChatRoom", "Community"} {
			read("get_appid_group_list", fmt.Sprintf(`{"GroupType":%q}`, typ))
		}
		list, _ := json.Marshal(ids)
		read("get_group_info", fmt.Sprintf(`{"GroupIdList":%s}`, list))
		for _, id := range ids {
			read("get_group_member_info", fmt.Sprintf(`{"GroupId":%q}`, id))
			read("get_group_member_info", fmt.Sprintf(`{"GroupId":%q,"Limit":7,"Offset":2}`, id))
			read("get_group_counter", fmt.Sprintf(`{"GroupId":%q}`, id))
			read("get_role_in_group", fmt.Sprintf(`{"GroupId":%q,"User_Account":["alice","bob","dave","zoe","yan","c0005","nobody"]}`, id))
		}
		for _, user := range []string{"alice", "bob", "dave", "olga", "zoe", "c0005", "m3"} {
			read("get_joined_group_list", fmt.Sprintf(`{"Member_Account":%q}`, user))
		}
	}
	return out
}

// TestMigrate copies a store with data of every kind, and callbacks its
// apps' back end was down for, into PostgreSQL and serves it from there.
// Migrate must refuse while a server has the store open, copy and check it
// once stopped, and refuse the database it has filled; the server on
// PostgreSQL must then answer every read exactly as the one on the store
// did, group list cursors included, place a new group after the copied
// ones, deliver the copied callbacks with their EventIds, and give a new
// callback an EventId above them. No output holds the password.
func TestMigrate(t *testing.T) {
	needBinary(t)
	url := pgCluster(t).CreateDB(t)
	hook := newHookServer(t)
	hook.down.Store(true)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	src, err := pebble.Open(filepath.Join(data, "store"))
	if err != nil {
		t.Fatal(err)
	}
	storetest.Populate(t, src)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := migrateConfig(t, dir, hook.URL)

	old := startServer(t, "serve", "--config", cfg, "--data", data, "--listen", "127.0.0.1:0")
	// Writes whose callbacks cannot be delivered, to counters there
	// are, so that no count migrate prints changes.
	for i, key := range []string{"likes", "only-in-b"} {
		app := storetest.PopulatedApps[i]
		c := newAPI(old.base, app, fmt.Sprintf("key-%d", app), testAdmin)
		for range 2 + i {
			c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "private-1", "Mode": "Increase", "GroupCounter": []counter{{key, 1}}})
		}
	}
	want := readEverything(t, old.base)
	code, out, errOut := runTally(t, 30*time.Second, "migrate", "--from", data, "--to", url)
	if code != 1 || !strings.Contains(errOut, "another process has the store open") || !strings.Contains(errOut, "Stop the server on "+data) {
		t.Errorf("migrate while a server has the store open: exit code %d, stderr:\n%s", code, errOut)
	}
	noPassword(t, out, errOut)
	if err := old.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := old.wait(15 * time.Second); code != 0 {
		t.Fatalf("the server on the store exited with code %d", code)
	}
	pending := pendingEvents(t, filepath.Join(data, "store"))
	if len(pending) != 5 {
		t.Fatalf("the store holds %d events, want the 5 of the writes", len(pending))
	}

	start := time.Now()
	code, out, errOut = runTally(t, 60*time.Second, "migrate", "--from", data, "--to", url)
	t.Logf("migrate took %v:\n%s", time.Since(start).Round(time.Millisecond), out)
	if code != 0 {
		t.Fatalf("migrate: exit code %d; stderr:\n%s", code, errOut)
	}
	for _, w := range []string{
		"copied 9 groups, 57 members and 9 counters, and 5 callbacks not yet delivered",
		fmt.Sprintf("the callbacks keep their EventIds, %d to %d, and those of new ones continue above %d", pending[0].ID, pending[4].ID, pending[4].ID),
		fmt.Sprintf("outbox: 5 events, EventIds %d to %d, sha256 ", pending[0].ID, pending[4].ID),
		"app 1400000001: 7 groups (1 Private, 2 Public, 2 ChatRoom, 1 AVChatRoom, 1 Community), 54 members, 8 counters, sha256 ",
		"app 1400000002: 2 groups (0 Private, 1 Public, 1 ChatRoom, 0 AVChatRoom, 0 Community), 3 members, 1 counters, sha256 ",
		"every group, member, counter and undelivered callback is in the database as it is in the store",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("migrate does not say %q", w)
		}
	}
	if n := strings.Count(out, ": the same in both\n"); n != 3 {
		t.Errorf("migrate found %d apps and outboxes the same, want 2 apps and the outbox", n)
	}
	noPassword(t, out, errOut)

	code, out, errOut = runTally(t, 30*time.Second, "migrate", "--from", data, "--to", url)
	if code != 1 || !strings.Contains(errOut, "already holds 9 groups of 2 apps") {
		t.Errorf("migrate into the database it filled: exit code %d, stderr:\n%s", code, errOut)
	}
	noPassword(t, out, errOut)

	hook.down.Store(false)
	pg := startServer(t, "serve", "--config", cfg, "--store", url, "--listen", "127.0.0.1:0")
	// Both apps' groups are called private-1, and are delivered side by
	// side: each copied callback must arrive with the EventId it had,
	// in whatever order.
	wantIDs := map[string]string{}
	for _, e := range pending {
		wantIDs[fmt.Sprint(e.ID)] = e.Kind.Command()
	}
	delivered := func() map[string]string {
		got := map[string]string{}
		for _, e := range hook.events("private-1") {
			got[e.EventID] = e.Command
		}
		return got
	}
	waitUntil(t, "the copied callbacks", 30*time.Second, func() bool { return len(delivered()) >= len(wantIDs) })
	if got := delivered(); !maps.Equal(got, wantIDs) {
		t.Errorf("the callbacks delivered from PostgreSQL have the EventIds and commands %v; the store held %v", got, wantIDs)
	}
	got := readEverything(t, pg.base)
	if len(got) != len(want) {
		t.Fatalf("read %d answers of the server on PostgreSQL, and %d of the one on the store", len(got), len(want))
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("app %d, %s %s:\nstore:      %s\nPostgreSQL: %s", w.app, w.command, w.body, w.answer, got[i].answer)
		}
	}
	app := storetest.PopulatedApps[0]
	c := newAPI(pg.base, app, fmt.Sprintf("key-%d", app), testAdmin)
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "after", "GroupId": "after"})
	if a := c.rawCall(t, "get_appid_group_list", `{}`); !bytes.HasSuffix(a, []byte(`{"GroupId":"after"}],"Next":0}`)) {
		t.Errorf("a group created after the migration is not listed last: %s", a)
	}
	waitUntil(t, "the callback of the group created after the migration", 30*time.Second, func() bool { return len(hook.events("after")) > 0 })
	if e := hook.events("after")[0]; e.Command != "Group.CallbackAfterCreateGroup" || !idAbove(e.EventID, pending[len(pending)-1].ID) {
		t.Errorf("the group created after the migration has the callback %s with EventId %s, want one above %d", e.Command, e.EventID, pending[len(pending)-1].ID)
	}
	noPassword(t, pg.stdout.String(), pg.stderr.String())
}

// TestMigrateRefusals gives migrate what it must refuse, each with a
// message that says why and no password in any output.
func TestMigrateRefusals(t *testing.T) {
	needBinary(t)
	const pw = "Migr4te-Secret"
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	dead := freeAddr(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no --from", []string{"--to", "postgres://h/db"}, 2, "--from is required"},
		{"no --to", []string{"--from", empty}, 2, "--to is required"},
		{"--to of another database", []string{"--from", empty, "--to", "mysql://u:" + pw + "@h/db"}, 2, `--to: a "mysql" URL`},
		{"no store in --from", []string{"--from", empty, "--to", "postgres://u:" + pw + "@" + dead + "/db"}, 1, empty + " holds no embedded store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runTally(t, 30*time.Second, append([]string{"migrate"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit code %d, stderr:\n%s\nwant code %d and %q", code, errOut, tt.code, tt.stderr)
			}
			if strings.Contains(out+errOut, pw) || strings.Contains(out+errOut, pgtest.Password) {
				t.Errorf("the output holds the password:\n%s%s", out, errOut)
			}
			if _, err := os.Stat(filepath.Join(empty, "store")); !os.IsNotExist(err) {
				t.Errorf("migrate made a store in --from (stat: %v)", err)
			}
		})
	}

	// A database that cannot be reached is refused before anything is
	// read of the store.
	data := filepath.Join(dir, "data")
	s, err := pebble.Open(filepath.Join(data, "store"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, errOut := runTally(t, 30*time.Second, "migrate", "--from", data, "--to", "postgres://u:"+pw+"@"+dead+"/db")
	if code != 1 || !strings.Contains(errOut, "connection refused") || bytes.Contains([]byte(out+errOut), []byte(pw)) {
		t.Errorf("migrate to a database that is not there: exit code %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// TestCopyInBatches copies a populated store with an outbox in
// transactions of a group or two, and of two events, each, which must
// check as one transaction's copy does.
func TestCopyInBatches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src, err := pebble.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	storetest.Populate(t, src)
	octx := tally.WithOrigin(ctx, tally.Origin{Operator: testAdmin, ClientIP: "192.0.2.1", Time: time.UnixMilli(1700000000123), Events: tally.AllEvents})
	for range 5 {
		if _, err := src.UpdateCounters(octx, storetest.PopulatedApps[1], "private-1", tally.ModeIncrease, []tally.Counter{{Key: "only-in-b", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	dst, err := postgres.Open(ctx, pgCluster(t).CreateDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()

	n, err := copyStore(ctx, src, dst, 2)
	if err != nil || n != (copied{groups: 9, members: 57, counters: 9}) {
		t.Fatalf("copyStore = %+v, %v", n, err)
	}
	ev, err := copyOutbox(ctx, src, dst, 2, 1<<20)
	if err != nil || ev != (copiedEvents{eventIDs{n: 5, first: 1, last: 5}, 5}) {
		t.Fatalf("copyOutbox = %+v, %v", ev, err)
	}
	var out strings.Builder
	if err := verify(ctx, src, dst, &out); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	if err := mustBeEmpty(ctx, dst); err == nil || !strings.Contains(err.Error(), "already holds 9 groups of 2 apps") {
		t.Errorf("mustBeEmpty of the filled database: %v", err)
	}
	// A callback delivered from the copy is found missing.
	if err := dst.DeleteEvents(ctx, []uint64{3}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = verify(ctx, src, dst, &out)
	if err == nil || !strings.Contains(err.Error(), "outbox differs") ||
		!strings.Contains(out.String(), "outbox DIFFERS\n  store:    5 events, EventIds 1 to 5") ||
		!strings.Contains(out.String(), "database: 4 events, EventIds 1 to 5") {
		t.Errorf("verify of a copy without an event: %v\n%s", err, out.String())
	}
	// A change to the copy is found.
	if _, err := dst.UpdateCounters(ctx, storetest.PopulatedApps[1], "private-1", tally.ModeSet, []tally.Counter{{Key: "only-in-b", Value: 41}}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = verify(ctx, src, dst, &out)
	if err == nil || !strings.Contains(err.Error(), "differs from the store in 1 of 2 apps") ||
		!strings.Contains(out.String(), "app 1400000002 DIFFERS") || !strings.Contains(out.String(), `group "private-1": its counters differ`) {
		t.Errorf("verify of a changed copy: %v\n%s", err, out.String())
	}
}

// pendingEvents returns the outbox of the closed store in dir.
func pendingEvents(t *testing.T, dir string) []tally.Event {
	t.Helper()
	s, err := pebble.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var evs []tally.Event
	if err := s.ExportEvents(func(e tally.Event) error {
		evs = append(evs, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// idAbove reports whether the EventId id is a number above last.
func idAbove(id string, last uint64) bool {
	n, err := strconv.ParseUint(id, 10, 64)
	return err == nil && n > last
}

// TestMustBeEmptyOutbox refuses a database whose outbox holds events, even
// with no group: a copied event could need the id of one there.
func TestMustBeEmptyOutbox(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dst, err := postgres.Open(ctx, pgCluster(t).CreateDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := mustBeEmpty(ctx, dst); err != nil {
		t.Fatalf("mustBeEmpty of a new database: %v", err)
	}
	ev := tally.Event{ID: 7, App: storetest.PopulatedApps[0], GroupID: "g", Kind: tally.EventAfterGroupDestroyed, Body: []byte(`{}`)}
	if err := dst.ImportEvents(ctx, []tally.Event{ev}, 7); err != nil {
		t.Fatal(err)
	}
	if err := mustBeEmpty(ctx, dst); err == nil || !strings.Contains(err.Error(), "already holds callbacks not yet delivered") {
		t.Errorf("mustBeEmpty of a database with an event: %v", err)
	}
}
