package httpapi_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
)

// gatewayCodes are the codes any command can answer before its own checks
// run: the URL, the app, the UserSig, the admin, rate limits, the body, and
// an internal error. The golden files must give every one for every
// command.
var gatewayCodes = []tally.Code{
	tally.ErrBadHTTPRequest, tally.ErrBadJSON, tally.ErrMissingAuth, tally.ErrNoSuchApp,
	tally.ErrAPIRateLimit, tally.ErrNotAdmin, tally.ErrAppRateLimit, tally.ErrMissingSDKAppID,
	tally.ErrAppDisabled, tally.ErrUserSigExpired, tally.ErrUserSigMalformed, tally.ErrUserSigBadHMAC,
	tally.ErrUserSigIdentifier, tally.ErrUserSigSDKAppID, tally.ErrInternal,
}

// commandCodes are the codes each command answers of its own, OK included;
// get_group_info's include those of its entries. "unknown" is a path that
// names no command.
var commandCodes = map[string][]tally.Code{
	"create_group": {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupIDInUse,
		tally.ErrNoPermission, tally.ErrGroupFull, tally.ErrCallbackRefused},
	"destroy_group":          {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound},
	"get_group_info":         {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound},
	"get_appid_group_list":   {tally.OK, tally.ErrInvalidParameter},
	"modify_group_base_info": {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound},
	"add_group_member": {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound,
		tally.ErrNoPermission, tally.ErrGroupFull},
	"delete_group_member": {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound,
		tally.ErrNoPermission},
	"get_group_member_info": {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound,
		tally.ErrNoPermission},
	"get_joined_group_list": {tally.OK, tally.ErrInvalidParameter},
	"get_role_in_group": {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound,
		tally.ErrNoPermission},
	"update_group_counter": {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound,
		tally.ErrNoPermission, tally.ErrEditionRequired, tally.ErrTooManyCounters},
	"get_group_counter": {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound,
		tally.ErrNoPermission, tally.ErrEditionRequired},
	"delete_group_counter": {tally.OK, tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound,
		tally.ErrNoPermission, tally.ErrEditionRequired},
	"unknown": {tally.ErrUnknownCommand},
	// The stream's answers that are envelopes are its refusals: its OK is
	// a stream.
	"stream_group_counter": {tally.ErrInvalidParameter, tally.ErrInvalidGroupID, tally.ErrGroupNotFound,
		tally.ErrNoPermission, tally.ErrEditionRequired},
}

// streamGatewayCodes are the gateway codes of the stream: those of every
// command but the admin check, for any user may watch, and the body's
// JSON, for it has no body.
var streamGatewayCodes = slices.DeleteFunc(slices.Clone(gatewayCodes), func(c tally.Code) bool {
	return c == tally.ErrNotAdmin || c == tally.ErrBadJSON
})

// TestGoldenCoversEveryCode holds the golden files to their promise: every
// command has a golden answer for every code it can give, and every code of
// errors.json is given by some command, so that a new code cannot be added
// without an answer that pins it.
func TestGoldenCoversEveryCode(t *testing.T) {
	seen := goldenCodesSeen(t)
	used := map[tally.Code]bool{}
	for cmd, own := range commandCodes {
		want := own
		switch cmd {
		case "unknown":
		case "stream_group_counter":
			want = append(slices.Clone(own), streamGatewayCodes...)
		default:
			want = append(slices.Clone(own), gatewayCodes...)
		}
		for _, c := range want {
			used[c] = true
			if !seen[cmd][c] {
				t.Errorf("%s: no golden answer with %d (%v)", cmd, c, c)
			}
		}
	}
	for _, info := range tally.Codes() {
		if !used[info.Code] {
			t.Errorf("%d (%s) is in errors.json but no command answers it here; add it to commandCodes or gatewayCodes, with golden answers", info.Code, info.Name)
		}
	}
}

var errorCode = regexp.MustCompile(`"ErrorCode":(\d+)`)

// goldenCodesSeen reads the golden files and returns, by command, the codes
// their answers hold.
func goldenCodesSeen(t *testing.T) map[string]map[tally.Code]bool {
	seen := map[string]map[tally.Code]bool{}
	note := func(cmd, answer string) {
		if seen[cmd] == nil {
			seen[cmd] = map[tally.Code]bool{}
		}
		for _, m := range errorCode.FindAllStringSubmatch(answer, -1) {
			n, _ := strconv.Atoi(m[1])
			seen[cmd][tally.Code(n)] = true
		}
	}
	files, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 4<<20)
		cmd, inAnswer := "", false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				cmd, inAnswer = "", false
			case line == "----":
				inAnswer = true
			case inAnswer && cmd == "each-command":
				name, answer, _ := strings.Cut(line, ": ")
				note(name, answer)
			case inAnswer:
				note(cmd, line)
			case cmd == "" && !strings.HasPrefix(line, "#"):
				cmd = directiveCommand(t, line)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return seen
}

// directiveCommand names the command whose answers a directive line asks
// for: the command of a call, "stream_group_counter" for a call to the
// stream's path, "unknown" for one to another path, and the directive
// itself otherwise.
func directiveCommand(t *testing.T, line string) string {
	directive, args, err := datadriven.ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if directive != "call" {
		return directive
	}
	for _, a := range args {
		switch a.Key {
		case "cmd":
			return a.Vals[0]
		case "path":
			if a.Vals[0] == httpapi.StreamPath {
				return "stream_group_counter"
			}
			return "unknown"
		}
	}
	return directive
}
