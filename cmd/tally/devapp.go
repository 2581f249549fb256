package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	neturl "net/url"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi/live"
	"github.com/tallyserver/tally/usersig"
)

// printDevApp tells a newcomer everything needed to make a first call: the
// app, a fresh UserSig, a command that creates a group and sets a counter,
// and the address of the live page that watches that group. The page's
// details go in the address's fragment, which the browser keeps to itself,
// and the page waits for the group until the command has created it. The group id differs on every start so that the command works
// each time it is pasted; it has a random part as well as the time because
// a restart within the same second would otherwise print the id of a group
// the previous run's command already created.
func printDevApp(w io.Writer, base string, app tally.App, path string) {
	admin := app.Admins[0]
	sig := usersig.Sign(app.SDKAppID, app.SecretKey, admin, defaultExpire, time.Now())
	group := fmt.Sprintf("demo-%d-%d", time.Now().Unix(), rand.Uint32())
	url := func(cmd string) string {
		return fmt.Sprintf("%s/v4/group_open_http_svc/%s?sdkappid=%d&identifier=%s&usersig=%s&random=%d&contenttype=json",
			base, cmd, app.SDKAppID, admin, sig, rand.Uint32())
	}
	fmt.Fprintf(w, `
Development app (kept in %s):
  sdkappid    %d
  secret key  %s
  admin       %s
  usersig     %s
              (valid 180 days; make more with: tally usersig --sdkappid %d --key %s --identifier %s)

Create a group and increase a counter in it:
  curl -s '%s' -d '{"Type":"Public","Name":"Demo","GroupId":"%s"}'; echo; curl -s '%s' -d '{"GroupId":"%s","Mode":"Increase","GroupCounter":[{"Key":"like","Value":1}]}'; echo

Watch it live in a browser:
  %s%s#sdkappid=%d&identifier=%s&usersig=%s&GroupId=%s

`, path, app.SDKAppID, app.SecretKey, admin, sig, app.SDKAppID, app.SecretKey, admin,
		url("create_group"), group, url("update_group_counter"), group,
		base, live.Path, app.SDKAppID, neturl.QueryEscape(admin), neturl.QueryEscape(sig), neturl.QueryEscape(group))
}
