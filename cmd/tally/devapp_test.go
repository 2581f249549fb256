package main

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallyserver/tally/usersig"
)

// devApp is what a config-less server prints about its development app.
type devApp struct {
	sdkappid uint32
	key      string
	admin    string
	sig      string
	sigCmd   []string // the printed "tally usersig ..." arguments, after "tally"
	curl     string   // the printed curl line
	group    string   // the GroupId the curl line uses
	live     string   // the printed address of the live page
	yamlPath string
}

var (
	devAppRE = regexp.MustCompile(`(?m)^Development app \(kept in (.+)\):\n` +
		`  sdkappid    (\d+)\n` +
		`  secret key  (\S+)\n` +
		`  admin       (\S+)\n` +
		`  usersig     (\S+)\n` +
		`\s+\(valid 180 days; make more with: tally (usersig [^)]+)\)\n`)
	curlRE    = regexp.MustCompile(`(?m)^  (curl .*; echo)$`)
	curlGroup = regexp.MustCompile(`"GroupId":"([^"]+)"`)
	liveRE    = regexp.MustCompile(`(?m)^Watch it live in a browser:\n  (\S+)$`)
)

// readDevApp waits for s to print its development app and parses it.
func readDevApp(t *testing.T, s *server) devApp {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := s.stdout.String()
		m, c, l := devAppRE.FindStringSubmatch(out), curlRE.FindStringSubmatch(out), liveRE.FindStringSubmatch(out)
		if m != nil && c != nil && l != nil {
			id, err := strconv.ParseUint(m[2], 10, 32)
			if err != nil {
				t.Fatal(err)
			}
			g := curlGroup.FindStringSubmatch(c[1])
			if g == nil {
				t.Fatalf("no GroupId in the curl line %q", c[1])
			}
			return devApp{
				yamlPath: m[1], sdkappid: uint32(id), key: m[3], admin: m[4], sig: m[5],
				sigCmd: strings.Fields(m[6]), curl: c[1], group: g[1], live: l[1],
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no development app, curl line and live page on stdout:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verifySig checks that sig is valid now for the admin of app d.
func verifySig(sig string, d devApp) error {
	s, err := usersig.Decode(sig)
	if err != nil {
		return err
	}
	return s.Verify(d.sdkappid, d.admin, d.key, time.Now())
}

// checkLiveURL checks the printed address of the live page: on server s,
// with the details of the dev app's admin in its fragment, a UserSig that
// verifies, and the group of the curl line.
func checkLiveURL(t *testing.T, s *server, d devApp) {
	t.Helper()
	u, err := url.Parse(d.live)
	if err != nil {
		t.Fatalf("the live page's address %q: %v", d.live, err)
	}
	if page := u.Scheme + "://" + u.Host + u.Path; page != s.base+"/live/" || u.RawQuery != "" {
		t.Errorf("the live page's address %q is not %s/live/ with a fragment", d.live, s.base)
	}
	f, err := url.ParseQuery(u.Fragment)
	if err != nil {
		t.Fatalf("the live page's fragment %q: %v", u.Fragment, err)
	}
	want := url.Values{
		"sdkappid":   {strconv.FormatUint(uint64(d.sdkappid), 10)},
		"identifier": {d.admin},
		"usersig":    f["usersig"],
		"GroupId":    {d.group},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("the live page's fragment holds %v, want %v", f, want)
	}
	if err := verifySig(f.Get("usersig"), d); err != nil {
		t.Errorf("the live page's usersig does not verify: %v", err)
	}
}

// runCurlLine runs the printed line as a user would paste it and returns
// the two answers it prints.
func runCurlLine(t *testing.T, line string) (create, update apiResp) {
	t.Helper()
	out, err := exec.Command("sh", "-c", line).Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", line, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("the curl line printed %d lines, want 2:\n%s", len(lines), out)
	}
	for i, r := range []*apiResp{&create, &update} {
		if err := json.Unmarshal([]byte(lines[i]), r); err != nil {
			t.Fatalf("answer %d %q: %v", i+1, lines[i], err)
		}
	}
	return create, update
}

// checkCurlAnswers checks that the printed line created its group and set
// the counter "like" to 1.
func checkCurlAnswers(t *testing.T, d devApp, create, update apiResp) {
	t.Helper()
	if create.ActionStatus != "OK" || create.ErrorCode != 0 || create.GroupId != d.group {
		t.Errorf("create_group answered %+v; want OK with GroupId %s", create, d.group)
	}
	if update.ActionStatus != "OK" || update.ErrorCode != 0 ||
		len(update.GroupCounter) != 1 || update.GroupCounter[0] != (counter{"like", 1}) {
		t.Errorf("update_group_counter answered %+v; want OK with like=1", update)
	}
}

// TestZeroConfig follows a newcomer: start with no config, paste the
// printed curl line, restart, and find the same app and the same value.
func TestZeroConfig(t *testing.T) {
	needBinary(t)
	for _, tool := range []string{"sh", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	data := filepath.Join(t.TempDir(), "data")

	s1 := startServer(t, "serve", "--data", data, "--listen", "127.0.0.1:0")
	first := readDevApp(t, s1)
	if want := filepath.Join(data, "dev-app.yaml"); first.yamlPath != want {
		t.Errorf("kept in %s, want %s", first.yamlPath, want)
	}
	if first.sdkappid < 1400000000 || first.sdkappid > 1499999999 {
		t.Errorf("sdkappid %d is outside 1400000000..1499999999", first.sdkappid)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(first.key) {
		t.Errorf("secret key %q is not 64 hex digits", first.key)
	}
	if err := verifySig(first.sig, first); err != nil {
		t.Errorf("the printed usersig does not verify: %v", err)
	}
	if fi, err := os.Stat(first.yamlPath); err != nil {
		t.Errorf("dev app file: %v", err)
	} else if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("dev app file has mode %v; the secret should be private", fi.Mode().Perm())
	}

	// The "make more with" command works as printed.
	code, out, errOut := runTally(t, 10*time.Second, first.sigCmd...)
	if code != 0 {
		t.Fatalf("tally %s: exit code %d: %s", strings.Join(first.sigCmd, " "), code, errOut)
	}
	if err := verifySig(strings.TrimSpace(out), first); err != nil {
		t.Errorf("the sig of the printed usersig command does not verify: %v", err)
	}

	checkLiveURL(t, s1, first)
	create, update := runCurlLine(t, first.curl)
	checkCurlAnswers(t, first, create, update)

	if err := s1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s1.wait(10 * time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit code %d", code)
	}

	s2 := startServer(t, "serve", "--data", data, "--listen", "127.0.0.1:0")
	second := readDevApp(t, s2)
	if second.sdkappid != first.sdkappid || second.key != first.key || second.admin != first.admin {
		t.Errorf("after a restart the dev app is %d/%s/%s, was %d/%s/%s",
			second.sdkappid, second.key, second.admin, first.sdkappid, first.key, first.admin)
	}
	c := newAPI(s2.base, second.sdkappid, second.key, second.admin)
	if got := c.counters(t, first.group); len(got) != 1 || got["like"] != 1 {
		t.Errorf("after a restart group %s holds %v, want like=1", first.group, got)
	}

	// The line printed by the second run works too, however soon after the
	// first it started: it must not reuse the first run's group.
	if second.group == first.group {
		t.Errorf("both runs print GroupId %s; the second line's create_group would fail", first.group)
	}
	checkLiveURL(t, s2, second)
	create, update = runCurlLine(t, second.curl)
	checkCurlAnswers(t, second, create, update)
}
