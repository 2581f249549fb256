package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tallyserver/tally/internal/chromiumtest"
)

// TestLivePageInBrowser follows a newcomer who opens the live page the
// banner names in a real browser, before pasting the curl line: the page
// shows that the group is missing and waits for it, then shows the
// counter the line set, then every change written through the REST API
// after it loaded, a deleted key, and, watching two groups, each one's end.
// A refusal that cannot pass is shown with its code.
func TestLivePageInBrowser(t *testing.T) {
	needBinary(t)
	b := chromiumtest.Start(t)
	s := startServer(t, "serve", "--data", filepath.Join(t.TempDir(), "data"), "--listen", "127.0.0.1:0")
	d := readDevApp(t, s)
	c := newAPI(s.base, d.sdkappid, d.key, d.admin)
	const wait = 15 * time.Second

	status := `(() => { const s = document.getElementById("status"); return s.dataset.state + ": " + s.textContent })()`
	b.Navigate(d.live)
	b.Poll("the page says the group is missing", status, wait, func(s string) bool {
		return strings.HasPrefix(s, "error: Refused: 10010 ") && strings.Contains(s, "retrying")
	})

	create, update := runCurlLine(t, d.curl)
	checkCurlAnswers(t, d, create, update)
	b.Poll("the counter the curl line set", counterJS(d.group, "like", ".value"), wait, is("1"))
	b.Poll("the page is live", status, wait, func(s string) bool { return strings.HasPrefix(s, "live: ") })

	// Values written after the page loaded, one beyond what a float64
	// holds exactly.
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": d.group, "Mode": "Set",
		"GroupCounter": []counter{{"like", 42}, {"viewers", 9007199254740993}}})
	b.Poll("like, set after the page loaded", counterJS(d.group, "like", ".value"), wait, is("42"))
	b.Poll("viewers, set after the page loaded", counterJS(d.group, "viewers", ".value"), wait, is("9007199254740993"))

	c.mustOK(t, "delete_group_counter", map[string]any{"GroupId": d.group, "GroupCounterKeys": []string{"viewers"}})
	b.Poll("viewers marked deleted", counterJS(d.group, "viewers", ""), wait, func(s string) bool {
		return strings.Contains(" "+s+" ", " deleted ")
	})
	b.Poll("the group's Seq", groupJS(d.group, ".seq"), wait, is("Seq 3"))
	b.Poll("like stays", counterJS(d.group, "like", ".value"), wait, is("42"))

	// A second group, watched with the first through a new fragment: the
	// page starts over, and a group destroyed leaves the other live.
	const other = "second"
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "Second", "GroupId": other})
	b.Navigate(strings.Replace(d.live, "#", "#GroupId="+other+"&", 1))
	b.Poll("the page watches both groups", status, wait, is("live: Live: 2 groups."))
	b.Poll("the first group's counter after the page started over", counterJS(d.group, "like", ".value"), wait, is("42"))
	b.Poll("the second group's empty state", groupJS(other, ".seq"), wait, is("Seq 0"))

	c.mustOK(t, "destroy_group", map[string]any{"GroupId": d.group})
	b.Poll("the group marked destroyed", groupJS(d.group, ".state"), wait, is("destroyed"))
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": other, "Mode": "Increase",
		"GroupCounter": []counter{{"votes", 7}}})
	b.Poll("the other group's counter, after the first was destroyed", counterJS(other, "votes", ".value"), wait, is("7"))
	c.mustOK(t, "destroy_group", map[string]any{"GroupId": other})
	b.Poll("the stream ended", status, wait, func(s string) bool { return strings.HasPrefix(s, "ended: ") })

	// A UserSig that does not decode is refused for good: the page shows
	// the code and does not retry.
	b.Navigate(fmt.Sprintf("%s/live/#sdkappid=%d&identifier=%s&usersig=bad&GroupId=%s", s.base, d.sdkappid, d.admin, d.group))
	b.Poll("the refusal of a bad UserSig", status, wait, func(s string) bool {
		return strings.HasPrefix(s, "error: Refused: 70003 ") && !strings.Contains(s, "retrying")
	})
}

// TestLivePageReconnects stops the server under an open page and starts it
// again on the same address: the page says it lost the connection, and
// once EventSource has reconnected by itself it shows the state written
// after the restart, a key deleted meanwhile marked so, whether the fresh
// snapshot or a change brought it.
func TestLivePageReconnects(t *testing.T) {
	needBinary(t)
	b := chromiumtest.Start(t)
	args := []string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--listen", freeAddr(t)}
	s1 := startServer(t, args...)
	d := readDevApp(t, s1)
	create, update := runCurlLine(t, d.curl)
	checkCurlAnswers(t, d, create, update)
	const wait = 15 * time.Second

	status := `(() => { const s = document.getElementById("status"); return s.dataset.state + ": " + s.textContent })()`
	b.Navigate(d.live)
	b.Poll("the counter the curl line set", counterJS(d.group, "like", ".value"), wait, is("1"))
	b.Poll("the page is live", status, wait, func(s string) bool { return strings.HasPrefix(s, "live: ") })

	if err := s1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s1.wait(10 * time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit code %d", code)
	}
	b.Poll("the page says it lost the stream", status, wait, is("connecting: Connection lost; reconnecting…"))

	s2 := startServer(t, args...)
	c := newAPI(s2.base, d.sdkappid, d.key, d.admin)
	c.mustOK(t, "delete_group_counter", map[string]any{"GroupId": d.group, "GroupCounterKeys": []string{"like"}})
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": d.group, "Mode": "Set",
		"GroupCounter": []counter{{"fans", 3}}})
	b.Poll("a counter set after the restart", counterJS(d.group, "fans", ".value"), wait, is("3"))
	b.Poll("like, deleted after the restart, marked so", counterJS(d.group, "like", ""), wait, func(s string) bool {
		return strings.Contains(" "+s+" ", " deleted ")
	})
	b.Poll("the group's Seq, kept across the restart", groupJS(d.group, ".seq"), wait, is("Seq 3"))
	b.Poll("the page is live again", status, wait, func(s string) bool { return strings.HasPrefix(s, "live: ") })
}

// groupJS is an expression that gives the class of the section that shows
// group, or with sel the text of the element sel in it; null when missing.
func groupJS(group, sel string) string {
	return fmt.Sprintf(`(() => {
		const g = [...document.querySelectorAll("section.group")].find((s) => s.dataset.group === %s);
		const e = g && (%[2]s ? g.querySelector(%[2]s) : g);
		return e ? (%[2]s ? e.textContent : e.className) : null;
	})()`, jsString(group), jsString(sel))
}

// counterJS is groupJS for the row of key: its class, or with sel the text
// of the element sel in it.
func counterJS(group, key, sel string) string {
	return fmt.Sprintf(`(() => {
		const g = [...document.querySelectorAll("section.group")].find((s) => s.dataset.group === %s);
		const r = g && [...g.querySelectorAll("tr")].find((r) => r.dataset.key === %s);
		const e = r && (%[3]s ? r.querySelector(%[3]s) : r);
		return e ? (%[3]s ? e.textContent : e.className) : null;
	})()`, jsString(group), jsString(key), jsString(sel))
}

// jsString quotes s as a JavaScript string literal: JSON's is one.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func is(want string) func(string) bool { return func(got string) bool { return got == want } }
