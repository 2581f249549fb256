package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/pebble"
)

// fuzzPaths are the commands FuzzRequest chooses from, and one that does
// not exist.
var fuzzPaths = []string{
	"create_group", "destroy_group", "get_group_info", "get_appid_group_list",
	"modify_group_base_info", "add_group_member", "delete_group_member",
	"get_group_member_info", "get_joined_group_list", "get_role_in_group",
	"update_group_counter", "get_group_counter", "delete_group_counter", "no_such_command",
}

// fixtureMembers are the MemberLists of FuzzRequest's groups by type.
var fixtureMembers = map[string]string{
	"Public":     `[{"Member_Account":"a","Role":"Admin","AppMemberDefinedData":[{"Key":"k","Value":"v"}]},{"Member_Account":"b"}]`,
	"Community":  `[{"Member_Account":"a"},{"Member_Account":"b"},{"Member_Account":"c"}]`,
	"AVChatRoom": `[]`,
}

// FuzzRequest posts fuzzed bodies to a command, chosen by cmd, of a server
// on a real store, with a valid UserSig: every answer must be HTTP 200 and
// one well-formed envelope, and no internal error may occur. The high bit of
// cmd sends the call as the standard-edition app. The handler runs in
// process for speed.
//
//	go test -fuzz=FuzzRequest ./httpapi
func FuzzRequest(f *testing.F) {
	store, err := pebble.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	srv := httpapi.NewServer(store, testApps, nil)
	queries := [2]string{query(appMain, "admin").Encode(), query(appStandard, "admin").Encode()}

	post := func(t testing.TB, std bool, cmd string, body []byte) map[string]any {
		t.Helper()
		q := queries[0]
		if std {
			q = queries[1]
		}
		req := httptest.NewRequest(http.MethodPost, commandPath(cmd)+"?"+q, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		m, err := checkEnvelope(rec.Code, rec.Header(), rec.Body.Bytes())
		if err != nil {
			t.Fatalf("%s %q: %v", cmd, body, err)
		}
		c := tally.Code(code(m))
		if _, known := c.Info(); !known || c == tally.ErrInternal {
			t.Fatalf("%s %q: ErrorCode %d: %v", cmd, body, c, m["ErrorInfo"])
		}
		return m
	}
	// fixtures creates the groups the seeds name, again after a fuzzed
	// destroy_group removed one.
	fixtures := func(t testing.TB) {
		for _, g := range []struct {
			std      bool
			typ, id  string
			counters string
		}{
			{false, "Public", "g", `[{"Key":"a","Value":1},{"Key":"b","Value":2}]`},
			{false, "Community", "@TGS#_c", ""},
			{true, "Public", "s", ""},
			{false, "AVChatRoom", "av", ""},
		} {
			m := post(t, g.std, "create_group", fmt.Appendf(nil, `{"Type":%q,"Name":"n","GroupId":%q,"Owner_Account":"o","MemberList":%s}`, g.typ, g.id, fixtureMembers[g.typ]))
			if code(m) == 0 && g.counters != "" {
				wantOK(t, post(t, g.std, "update_group_counter", fmt.Appendf(nil, `{"GroupId":%q,"GroupCounter":%s}`, g.id, g.counters)))
			}
		}
	}
	fixtures(f)

	seeds := map[string][]string{
		"modify_group_base_info": {
			`{"GroupId":"g","Name":"m","Introduction":"i","Notification":"n","FaceUrl":"f","MaxMemberNum":100,"ApplyJoinOption":"FreeAccess","InviteJoinOption":"NeedPermission","MuteAllMember":"On","AppDefinedData":[{"Key":"k","Value":"v"}],"From_Account":"o"}`,
			`{"GroupId":"g","MaxMemberNum":1}`, `{"GroupId":"g","ShutUpAllMember":"Off","MuteAllMember":"On"}`,
			`{"GroupId":"av","InviteJoinOption":"FreeAccess"}`, `{"GroupId":"g","AppDefinedData":[{"Key":"k","Value":""}]}`,
		},
		"add_group_member": {
			`{"GroupId":"g","MemberList":[{"Member_Account":"a"},{"Member_Account":"o"},{"Member_Account":"a"}],"Silence":1}`,
			`{"GroupId":"av","MemberList":[{"Member_Account":"a"}]}`, `{"GroupId":"g","MemberList":[]}`,
			`{"GroupId":"g","MemberList":[{"Member_Account":""}]}`, `{"GroupId":"g","MemberList":["a"]}`,
		},
		"delete_group_member": {
			`{"GroupId":"g","MemberToDel_Account":["a","zz"],"Silence":0,"Reason":"r"}`, `{"GroupId":"g","MemberToDel_Account":["o"]}`,
			`{"GroupId":"av","MemberToDel_Account":["a"]}`, `{"GroupId":"g","MemberToDel_Account":[]}`,
		},
		"get_group_member_info": {
			`{"GroupId":"g"}`, `{"GroupId":"g","Limit":1,"Offset":1,"MemberInfoFilter":["Role"],"MemberRoleFilter":["Member"],"AppDefinedDataFilter_GroupMember":["k"]}`,
			`{"GroupId":"@TGS#_c","Limit":1,"Next":""}`, `{"GroupId":"@TGS#_c","Next":"2"}`, `{"GroupId":"@TGS#_c","Next":"x"}`,
			`{"GroupId":"av"}`, `{"GroupId":"g","Limit":-1}`,
		},
		"get_joined_group_list": {
			`{"Member_Account":"o"}`, `{"Member_Account":"a","Limit":1,"Offset":1,"GroupType":"Public","WithHugeGroups":1,"WithNoActiveGroups":1}`,
			`{"Member_Account":"o","GroupType":"Community","SupportTopic":1,"ResponseFilter":{"GroupBaseInfoFilter":["Type","MemberNum"],"SelfInfoFilter":["Role","JoinTime"]}}`,
			`{"Member_Account":""}`, `{"Member_Account":"o","GroupType":""}`,
		},
		"get_role_in_group": {
			`{"GroupId":"g","User_Account":["o","a","zz"]}`, `{"GroupId":"av","User_Account":["o"]}`, `{"GroupId":"g","User_Account":[]}`,
		},
		"create_group": {
			`{"Type":"Public","Name":"n","Owner_Account":"o","MemberList":[{"Member_Account":"a","Role":"Admin","AppMemberDefinedData":[{"Key":"k","Value":"v"}]}],"AppDefinedData":[{"Key":"k","Value":"v"}],"ApplyJoinOption":"FreeAccess","InviteJoinOption":"DisableInvite","MaxMemberCount":2}`,
			`{"Type":"AVChatRoom","Name":"n","MemberList":[{"Member_Account":"a"}]}`,
			`{"Type":"Community","Name":"n","SupportTopic":1}`,
			`{"Type":"Public","Name":"n"}`,
			`{"Type":"Community","Name":"n","GroupId":"@TGS#_x"}`,
			`{"Type":"Work","Name":"n","GroupId":"w","Owner_Account":"o","Introduction":"i","Notification":"x","FaceUrl":"u","MaxMemberCount":10}`,
			`{"Type":"Public","Name":"n","GroupId":"g"}`,
			`{"Type":"Public","Name":"n","GroupId":"@TGS#1x"}`,
			`{"Type":"public","Name":""}`,
			`{"Type":"Public","Name":"n","MaxMemberCount":-1}`,
		},
		"destroy_group": {
			`{"GroupId":"g"}`, `{"GroupId":"nope"}`, `{"GroupId":""}`, `{"GroupId":5}`, `{"groupId":"g"}`,
		},
		"get_group_info": {
			`{"GroupIdList":["g","nope","@TGS#_c","` + strings.Repeat("x", 49) + `"]}`,
			`{"GroupIdList":[]}`, `{"GroupIdList":[1]}`, `{"GroupIdList":"g"}`,
		},
		"get_appid_group_list": {
			`{}`, `{"Limit":1,"Next":1,"GroupType":"Public"}`, `{"Limit":0}`, `{"Next":-1}`, `{"GroupType":"x"}`,
			`{"Next":18446744073709551615}`,
		},
		"update_group_counter": {
			`{"GroupId":"g","GroupCounter":[{"Key":"a","Value":5},{"Key":"b","Value":-1}],"Mode":"Set"}`,
			`{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1}],"Mode":"Increase"}`,
			`{"GroupId":"g","GroupCounter":[{"Key":"a","Value":9223372036854775807}],"Mode":"Decrease"}`,
			`{"GroupId":"g","GroupCounter":[{"Key":"a","Value":5.0}]}`,
			`{"GroupId":"g","GroupCounter":[{"Key":"a","Value":"5"}]}`,
			`{"GroupId":"g","GroupCounter":[{"Key":"a","Value":1},{"Key":"a","Value":1}]}`,
			`{"GroupId":"g","GroupCounter":` + items(21) + `}`,
			`{"GroupId":"@TGS#_c","GroupCounter":[{"Key":"a","Value":1}]}`,
			`{"GroupId":"s","GroupCounter":[{"Key":"a","Value":1}],"Mode":"set"}`,
		},
		"get_group_counter": {
			`{"GroupId":"g"}`, `{"GroupId":"g","GroupCounterKeys":["b","nope","a"]}`, `{"GroupId":"g","GroupCounterKeys":[""]}`,
			`{"GroupId":"@TGS#_c"}`, `{"GroupId":"nope"}`,
		},
		"delete_group_counter": {
			`{"GroupId":"g","GroupCounterKeys":["a"]}`, `{"GroupId":"g"}`, `{"GroupId":"g","GroupCounterKeys":[1]}`,
		},
		"no_such_command": {`{}`},
	}
	broken := []string{"", "not json", "[]", `"x"`, "{} x", "{\"GroupId\":\"\xff\"}", `{"a":` + strings.Repeat("[", 1000) + "}"}
	for i, p := range fuzzPaths {
		for _, s := range seeds[p] {
			f.Add(uint8(i), []byte(s))
			f.Add(uint8(i)|0x80, []byte(s))
		}
		for _, s := range broken {
			f.Add(uint8(i), []byte(s))
		}
	}

	f.Fuzz(func(t *testing.T, cmd uint8, body []byte) {
		name := fuzzPaths[int(cmd&0x7f)%len(fuzzPaths)]
		std := cmd&0x80 != 0
		m := post(t, std, name, body)
		if code(m) != 0 {
			return
		}
		switch name {
		case "create_group":
			// Keep the store small: what was created is destroyed at once,
			// which must work.
			id, _ := m["GroupId"].(string)
			if tally.CheckGroupID(id) != nil {
				t.Fatalf("create_group %q answered GroupId %q", body, id)
			}
			if id != "g" && id != "@TGS#_c" && id != "s" && id != "av" {
				wantOK(t, post(t, std, "destroy_group", fmt.Appendf(nil, `{"GroupId":%q}`, id)))
			}
		case "destroy_group":
			fixtures(t)
		case "update_group_counter", "get_group_counter":
			if _, ok := m["GroupCounter"].([]any); !ok {
				t.Fatalf("%s %q: no GroupCounter array in %v", name, body, m)
			}
		}
	})
}
