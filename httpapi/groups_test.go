package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createGroup(t, appMain, "Public", "taken")

	generated := func(prefix string) func(t *testing.T, m map[string]any) {
		return func(t *testing.T, m map[string]any) {
			wantFields(t, m, "ActionStatus", "ErrorCode", "ErrorInfo", "GroupId", "Type", "HugeGroupFlag")
			id, _ := m["GroupId"].(string)
			if !strings.HasPrefix(id, prefix) || tally.CheckGroupID(id) != nil {
				t.Fatalf("generated GroupId %q, want a valid id starting with %q", id, prefix)
			}
		}
	}
	custom := func(want string) func(t *testing.T, m map[string]any) {
		return func(t *testing.T, m map[string]any) {
			wantFields(t, m, "ActionStatus", "ErrorCode", "ErrorInfo", "GroupId", "Type", "HugeGroupFlag")
			if m["GroupId"] != want {
				t.Fatalf("GroupId %v, want %q", m["GroupId"], want)
			}
		}
	}
	long := strings.Repeat("x", 48)

	h.runTable(t, "create_group", []apiCase{
		{name: "generated id", body: `{"Type":"Public","Name":"n"}`, check: generated("@TGS#")},
		{name: "generated Community id", body: `{"Type":"Community","Name":"n"}`, check: generated("@TGS#_")},
		{name: "empty GroupId is generated", body: `{"Type":"Private","Name":"n","GroupId":""}`, check: generated("@TGS#")},
		{name: "null GroupId is generated", body: `{"Type":"Private","Name":"n","GroupId":null}`, check: generated("@TGS#")},
		{name: "mis-cased groupId is ignored", body: `{"Type":"Public","Name":"n","groupId":"mine"}`, check: generated("@TGS#")},
		{name: "custom id", body: `{"Type":"Public","Name":"n","GroupId":"custom-1"}`, check: custom("custom-1")},
		{name: "custom id of 48 bytes with a space", body: `{"Type":"Public","Name":"n","GroupId":"` + long[:47] + ` "}`, check: custom(long[:47] + " ")},
		{name: "custom Community id", body: `{"Type":"Community","Name":"n","GroupId":"@TGS#_mine"}`, check: custom("@TGS#_mine")},
		{name: "every field", body: `{"Type":"AVChatRoom","Name":"n","GroupId":"full","Owner_Account":"o","Introduction":"i","Notification":"x","FaceUrl":"http://f","MaxMemberCount":4294967295,"Unknown":[1]}`, check: custom("full")},
		{name: "alias Work", body: `{"Type":"Work","Name":"n"}`, check: generated("@TGS#")},
		{name: "alias Meeting", body: `{"Type":"Meeting","Name":"n"}`, check: generated("@TGS#")},
		{name: "Name of 100 bytes", body: `{"Type":"Public","Name":"` + strings.Repeat("n", 100) + `"}`, check: generated("@TGS#")},
		{name: "same id in another app", app: appOther, body: `{"Type":"Public","Name":"n","GroupId":"taken"}`, check: custom("taken")},
		{name: "standard edition creates groups", app: appStandard, body: `{"Type":"Public","Name":"n","GroupId":"std"}`, check: custom("std")},

		{name: "Type missing", body: `{"Name":"n"}`, want: tally.ErrInvalidParameter, info: "Type"},
		{name: "Type null", body: `{"Type":null,"Name":"n"}`, want: tally.ErrInvalidParameter},
		{name: "Type mis-cased field", body: `{"type":"Public","Name":"n"}`, want: tally.ErrInvalidParameter},
		{name: "Type number", body: `{"Type":1,"Name":"n"}`, want: tally.ErrInvalidParameter},
		{name: "Type lower case", body: `{"Type":"public","Name":"n"}`, want: tally.ErrInvalidParameter, info: "public"},
		{name: "Type empty", body: `{"Type":"","Name":"n"}`, want: tally.ErrInvalidParameter},
		{name: "Type unknown", body: `{"Type":"BChatRoom","Name":"n"}`, want: tally.ErrInvalidParameter},
		{name: "Name missing", body: `{"Type":"Public"}`, want: tally.ErrInvalidParameter, info: "Name"},
		{name: "Name mis-cased field", body: `{"Type":"Public","name":"n"}`, want: tally.ErrInvalidParameter},
		{name: "Name number", body: `{"Type":"Public","Name":5}`, want: tally.ErrInvalidParameter},
		{name: "Name empty", body: `{"Type":"Public","Name":""}`, want: tally.ErrInvalidParameter},
		{name: "Name of 101 bytes", body: `{"Type":"Public","Name":"` + strings.Repeat("n", 101) + `"}`, want: tally.ErrInvalidParameter, info: "Name"},
		{name: "GroupId number", body: `{"Type":"Public","Name":"n","GroupId":5}`, want: tally.ErrInvalidParameter, info: "GroupId"},
		{name: "Owner_Account number", body: `{"Type":"Public","Name":"n","Owner_Account":5}`, want: tally.ErrInvalidParameter, info: "Owner_Account"},
		{name: "FaceUrl object", body: `{"Type":"Public","Name":"n","FaceUrl":{}}`, want: tally.ErrInvalidParameter, info: "FaceUrl"},
		{name: "MaxMemberCount string", body: `{"Type":"Public","Name":"n","MaxMemberCount":"5"}`, want: tally.ErrInvalidParameter},
		{name: "MaxMemberCount negative", body: `{"Type":"Public","Name":"n","MaxMemberCount":-1}`, want: tally.ErrInvalidParameter, info: "MaxMemberCount"},
		{name: "MaxMemberCount over the type's cap", body: `{"Type":"Public","Name":"n","MaxMemberCount":6001}`, want: tally.ErrInvalidParameter, info: "MaxMemberCount"},
		{name: "MemberList of 501", body: `{"Type":"Public","Name":"n","MemberList":[` + strings.Repeat(`{"Member_Account":"a"},`, 500) + `{"Member_Account":"a"}]}`, want: tally.ErrInvalidParameter, info: "MemberList has 501"},
		{name: "MaxMemberCount fraction", body: `{"Type":"Public","Name":"n","MaxMemberCount":1.5}`, want: tally.ErrInvalidParameter},

		{name: "GroupId of 49 bytes", body: `{"Type":"Public","Name":"n","GroupId":"` + long + `y"}`, want: tally.ErrInvalidGroupID, info: "GroupId"},
		{name: "GroupId with a control byte", body: `{"Type":"Public","Name":"n","GroupId":"a\u0001b"}`, want: tally.ErrInvalidGroupID},
		{name: "GroupId with DEL", body: `{"Type":"Public","Name":"n","GroupId":"a\u007fb"}`, want: tally.ErrInvalidGroupID},
		{name: "GroupId not ASCII", body: `{"Type":"Public","Name":"n","GroupId":"café"}`, want: tally.ErrInvalidGroupID},
		{name: "custom id with @TGS# on Public", body: `{"Type":"Public","Name":"n","GroupId":"@TGS#mine"}`, want: tally.ErrInvalidGroupID, info: "@TGS#"},
		{name: "custom id with @TGS#_ on Private", body: `{"Type":"Private","Name":"n","GroupId":"@TGS#_mine"}`, want: tally.ErrInvalidGroupID},
		{name: "Community id without @TGS#_", body: `{"Type":"Community","Name":"n","GroupId":"mine"}`, want: tally.ErrInvalidGroupID, info: "@TGS#_"},
		{name: "Community id with only @TGS#", body: `{"Type":"Community","Name":"n","GroupId":"@TGS#mine"}`, want: tally.ErrInvalidGroupID},

		{name: "GroupId in use", body: `{"Type":"Public","Name":"n","GroupId":"taken"}`, want: tally.ErrGroupIDInUse, info: "taken"},
		{name: "GroupId in use by another type", body: `{"Type":"ChatRoom","Name":"n","GroupId":"custom-1"}`, want: tally.ErrGroupIDInUse},
		{name: "Community id in use", body: `{"Type":"Community","Name":"n","GroupId":"@TGS#_mine"}`, want: tally.ErrGroupIDInUse},
	})
}

func TestDestroyGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createGroup(t, appMain, "Public", "doomed")
	h.createGroup(t, appMain, "Community", "@TGS#_doomed")
	h.createGroup(t, appOther, "Public", "other")
	h.createGroup(t, appStandard, "Public", "std")
	h.setCounters(t, appMain, "doomed", counter{"a", 1})

	h.runTable(t, "destroy_group", []apiCase{
		{name: "GroupId missing", body: `{}`, want: tally.ErrInvalidParameter},
		{name: "GroupId mis-cased", body: `{"groupId":"doomed"}`, want: tally.ErrInvalidParameter},
		{name: "GroupId number", body: `{"GroupId":5}`, want: tally.ErrInvalidParameter, info: "GroupId"},
		{name: "GroupId null", body: `{"GroupId":null}`, want: tally.ErrInvalidParameter},
		{name: "GroupId empty", body: `{"GroupId":""}`, want: tally.ErrInvalidGroupID},
		{name: "GroupId of 49 bytes", body: `{"GroupId":"` + strings.Repeat("x", 49) + `"}`, want: tally.ErrInvalidGroupID, info: "GroupId"},
		{name: "GroupId with a newline", body: `{"GroupId":"a\nb"}`, want: tally.ErrInvalidGroupID},
		{name: "never created", body: `{"GroupId":"nobody"}`, want: tally.ErrGroupNotFound, info: "nobody"},
		{name: "group of another app", body: `{"GroupId":"other"}`, want: tally.ErrGroupNotFound},
		{name: "destroy", body: `{"GroupId":"doomed"}`, check: func(t *testing.T, m map[string]any) {
			wantFields(t, m, "ActionStatus", "ErrorCode", "ErrorInfo")
		}},
		{name: "destroyed already", body: `{"GroupId":"doomed"}`, want: tally.ErrGroupNotFound},
		{name: "destroy Community", body: `{"GroupId":"@TGS#_doomed"}`},
		{name: "standard edition destroys groups", app: appStandard, body: `{"GroupId":"std"}`},
	})

	// The other app's group is untouched, and a group re-created under a
	// destroyed id starts with no counters.
	wantOK(t, h.api(t, appOther, "get_group_info", `{"GroupIdList":["other"]}`))
	h.createGroup(t, appMain, "Public", "doomed")
	wantCounters(t, h.getCounters(t, appMain, "doomed"))
}

func TestGetGroupInfo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	before := time.Now().Unix()
	wantOK(t, h.api(t, appMain, "create_group", `{"Type":"Work","Name":"Work group","GroupId":"work",
		"Owner_Account":"alice","Introduction":"intro \"quoted\"","Notification":"note\n","FaceUrl":"http://x/y.png","MaxMemberCount":200}`))
	after := time.Now().Unix()
	h.createGroup(t, appMain, "Meeting", "meet")
	h.createGroup(t, appMain, "Community", "@TGS#_comm")
	h.createGroup(t, appOther, "Public", "elsewhere")

	ids := make([]string, 51)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprint("g", i))
	}
	list := func(n int) string { return `{"GroupIdList":[` + strings.Join(ids[:n], ",") + `]}` }

	// entry returns GroupInfo[i] of an answer.
	entry := func(t *testing.T, m map[string]any, n, i int) map[string]any {
		t.Helper()
		l, ok := m["GroupInfo"].([]any)
		if !ok || len(l) != n {
			t.Fatalf("GroupInfo is %v, want an array of %d", m["GroupInfo"], n)
		}
		e, ok := l[i].(map[string]any)
		if !ok {
			t.Fatalf("GroupInfo[%d] is %#v", i, l[i])
		}
		return e
	}
	found := []string{"GroupId", "ErrorCode", "ErrorInfo", "Type", "Name", "Appid", "Introduction", "Notification",
		"FaceUrl", "Owner_Account", "CreateTime", "InfoSeq", "LastInfoTime", "LastMsgTime", "NextMsgSeq", "MemberNum",
		"MaxMemberNum", "ApplyJoinOption", "InviteJoinOption", "MuteAllMember", "ShutUpAllMember", "AppDefinedData", "MemberList"}
	community := append(slices.Clone(found), "SupportTopic")

	h.runTable(t, "get_group_info", []apiCase{
		{name: "GroupIdList missing", body: `{}`, want: tally.ErrInvalidParameter},
		{name: "GroupIdList mis-cased", body: `{"groupIdList":["work"]}`, want: tally.ErrInvalidParameter},
		{name: "GroupIdList null", body: `{"GroupIdList":null}`, want: tally.ErrInvalidParameter},
		{name: "GroupIdList empty", body: `{"GroupIdList":[]}`, want: tally.ErrInvalidParameter},
		{name: "GroupIdList string", body: `{"GroupIdList":"work"}`, want: tally.ErrInvalidParameter},
		{name: "GroupIdList of numbers", body: `{"GroupIdList":["work",5]}`, want: tally.ErrInvalidParameter, info: "GroupIdList[1]"},
		{name: "GroupIdList of objects", body: `{"GroupIdList":[{"GroupId":"work"}]}`, want: tally.ErrInvalidParameter},
		{name: "GroupIdList of 51", body: list(51), want: tally.ErrInvalidParameter, info: "GroupIdList"},
		{name: "GroupIdList of 50", body: list(50), check: func(t *testing.T, m map[string]any) {
			for i := range 50 {
				if e := entry(t, m, 50, i); num(t, e["ErrorCode"]) != int64(tally.ErrGroupNotFound) || e["GroupId"] != fmt.Sprint("g", i) {
					t.Fatalf("entry %d: %v", i, e)
				}
			}
		}},
		{name: "found, missing, malformed, in order", body: `{"GroupIdList":["work","nope","` + strings.Repeat("x", 49) + `","meet","elsewhere","a\u0000"]}`,
			check: func(t *testing.T, m map[string]any) {
				wantFields(t, m, "ActionStatus", "ErrorCode", "ErrorInfo", "GroupInfo")

				e := entry(t, m, 6, 0)
				wantFields(t, e, found...)
				for k, want := range map[string]string{"GroupId": "work", "ErrorInfo": "", "Type": "Private", "Name": "Work group",
					"Owner_Account": "alice", "Introduction": `intro "quoted"`, "Notification": "note\n", "FaceUrl": "http://x/y.png"} {
					if e[k] != want {
						t.Errorf("%s is %#v, want %q", k, e[k], want)
					}
				}
				if c := num(t, e["ErrorCode"]); c != 0 {
					t.Errorf("ErrorCode %d of a found group", c)
				}
				if n := num(t, e["MaxMemberNum"]); n != 200 {
					t.Errorf("MaxMemberNum %d, want 200", n)
				}
				if ct := num(t, e["CreateTime"]); ct < before || ct > after {
					t.Errorf("CreateTime %d, want %d..%d", ct, before, after)
				}

				for i, want := range []struct {
					id   string
					code tally.Code
				}{{"nope", tally.ErrGroupNotFound}, {strings.Repeat("x", 49), tally.ErrInvalidGroupID}} {
					e := entry(t, m, 6, i+1)
					wantFields(t, e, "GroupId", "ErrorCode", "ErrorInfo")
					if e["GroupId"] != want.id || num(t, e["ErrorCode"]) != int64(want.code) || e["ErrorInfo"] == "" {
						t.Errorf("entry %d: %v, want GroupId %q and ErrorCode %d with an ErrorInfo", i+1, e, want.id, want.code)
					}
				}

				e = entry(t, m, 6, 3)
				wantFields(t, e, found...)
				if e["GroupId"] != "meet" || e["Type"] != "ChatRoom" {
					t.Errorf("Meeting group: %v, want Type ChatRoom", e)
				}
				// Another app's group is not found here.
				if e := entry(t, m, 6, 4); num(t, e["ErrorCode"]) != int64(tally.ErrGroupNotFound) {
					t.Errorf("another app's group: %v", e)
				}
				if e := entry(t, m, 6, 5); e["GroupId"] != "a\x00" || num(t, e["ErrorCode"]) != int64(tally.ErrInvalidGroupID) {
					t.Errorf("id with NUL: %v", e)
				}
			}},
		{name: "Community and duplicates", body: `{"GroupIdList":["@TGS#_comm","work","@TGS#_comm"]}`, check: func(t *testing.T, m map[string]any) {
			for i, want := range []string{"@TGS#_comm", "work", "@TGS#_comm"} {
				e := entry(t, m, 3, i)
				if i == 1 {
					wantFields(t, e, found...)
				} else {
					wantFields(t, e, community...)
				}
				if e["GroupId"] != want {
					t.Errorf("entry %d: %v, want %q", i, e, want)
				}
			}
			if e := entry(t, m, 3, 0); e["Type"] != "Community" || num(t, e["MaxMemberNum"]) != 100000 || e["Owner_Account"] != "" {
				t.Errorf("Community: %v", e)
			}
		}},
	})
}

func TestGetAppIDGroupList(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	// ids lists a page's GroupIdList, each entry exactly {"GroupId":..}.
	ids := func(t *testing.T, m map[string]any) []string {
		t.Helper()
		wantFields(t, m, "ActionStatus", "ErrorCode", "ErrorInfo", "TotalCount", "GroupIdList", "Next")
		l, ok := m["GroupIdList"].([]any)
		if !ok {
			t.Fatalf("GroupIdList is %#v, not an array", m["GroupIdList"])
		}
		out := make([]string, len(l))
		for i, e := range l {
			o, ok := e.(map[string]any)
			if !ok {
				t.Fatalf("GroupIdList[%d] is %#v", i, e)
			}
			wantFields(t, o, "GroupId")
			out[i], _ = o["GroupId"].(string)
		}
		return out
	}
	empty := func(t *testing.T, m map[string]any) {
		if got := ids(t, m); len(got) != 0 || num(t, m["TotalCount"]) != 0 || num(t, m["Next"]) != 0 {
			t.Fatalf("empty app: %v", m)
		}
	}
	h.runTable(t, "get_appid_group_list", []apiCase{
		{name: "no groups", body: `{}`, check: empty},
		{name: "no groups with a filter", body: `{"GroupType":"Public","Limit":1}`, check: empty},
	})

	// Groups of several types, in creation order; one destroyed.
	types := []string{"Public", "Private", "Public", "Work", "ChatRoom", "Public", "AVChatRoom", "Community", "Meeting", "Public", "Public"}
	var all, public, private []string
	for i, typ := range types {
		id := fmt.Sprintf("g%02d", i)
		if typ == "Community" {
			id = "@TGS#_" + id
		}
		h.createGroup(t, appMain, typ, id)
		all = append(all, id)
		switch typ {
		case "Public":
			public = append(public, id)
		case "Private", "Work":
			private = append(private, id)
		}
	}
	h.createGroup(t, appMain, "Public", "gone")
	wantOK(t, h.api(t, appMain, "destroy_group", `{"GroupId":"gone"}`))
	h.createGroup(t, appOther, "Public", "other-app")
	// A generated id is listed too.
	gen := h.createGroup(t, appMain, "Public", "")
	all, public = append(all, gen), append(public, gen)

	// pages reads the whole list page by page, checking that every page is
	// full but the last and that TotalCount is the same on every page.
	pages := func(t *testing.T, filter string, limit int, wantTotal int) []string {
		t.Helper()
		var got []string
		next := int64(0)
		for n := 0; ; n++ {
			if n > 100 {
				t.Fatal("the list does not end")
			}
			body := fmt.Sprintf(`{"Limit":%d,"Next":%d%s}`, limit, next, filter)
			m := h.api(t, appMain, "get_appid_group_list", body)
			wantOK(t, m)
			page := ids(t, m)
			if tc := num(t, m["TotalCount"]); tc != int64(wantTotal) {
				t.Fatalf("page %d: TotalCount %d, want %d", n, tc, wantTotal)
			}
			got = append(got, page...)
			next = num(t, m["Next"])
			if next == 0 {
				if len(page) > limit {
					t.Fatalf("last page holds %d ids; Limit is %d", len(page), limit)
				}
				return got
			}
			if len(page) != limit {
				t.Fatalf("page %d holds %d ids with Next %d; Limit is %d", n, len(page), next, limit)
			}
		}
	}
	for _, c := range []struct {
		name   string
		filter string
		limit  int
		want   []string
	}{
		{"all, Limit 1", "", 1, all},
		{"all, Limit 3", "", 3, all},
		{"all, Limit 4", "", 4, all}, // 12 groups: the last page is full and Next is 0
		{"all, Limit 10000", "", 10000, all},
		{"Public, Limit 2", `,"GroupType":"Public"`, 2, public},
		{"Private, Limit 1", `,"GroupType":"Private"`, 1, private},
		{"alias Work", `,"GroupType":"Work"`, 5, private},
		{"Community", `,"GroupType":"Community"`, 5, all[7:8]},
		{"null filter", `,"GroupType":null`, 5, all},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := pages(t, c.filter, c.limit, len(c.want)); strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("listed %v, want %v", got, c.want)
			}
		})
	}

	h.runTable(t, "get_appid_group_list", []apiCase{
		{name: "defaults", body: `{}`, check: func(t *testing.T, m map[string]any) {
			if got := ids(t, m); strings.Join(got, " ") != strings.Join(all, " ") || num(t, m["Next"]) != 0 {
				t.Fatalf("listed %v, want %v and Next 0", m, all)
			}
		}},
		{name: "mis-cased limit ignored", body: `{"limit":0}`, check: func(t *testing.T, m map[string]any) {
			if len(ids(t, m)) != len(all) {
				t.Fatalf("listed %v", m)
			}
		}},
		{name: "Next past the end", body: `{"Next":18446744073709551615}`, check: func(t *testing.T, m map[string]any) {
			if len(ids(t, m)) != 0 || num(t, m["TotalCount"]) != int64(len(all)) || num(t, m["Next"]) != 0 {
				t.Fatalf("past the end: %v", m)
			}
		}},
		{name: "other app", app: appOther, body: `{}`, check: func(t *testing.T, m map[string]any) {
			if got := ids(t, m); len(got) != 1 || got[0] != "other-app" || num(t, m["TotalCount"]) != 1 {
				t.Fatalf("other app: %v", m)
			}
		}},
		{name: "standard edition lists groups", app: appStandard, body: `{"Limit":5}`, check: empty},
		{name: "Limit 0", body: `{"Limit":0}`, want: tally.ErrInvalidParameter, info: "Limit"},
		{name: "Limit 10001", body: `{"Limit":10001}`, want: tally.ErrInvalidParameter, info: "Limit"},
		{name: "Limit negative", body: `{"Limit":-1}`, want: tally.ErrInvalidParameter},
		{name: "Limit string", body: `{"Limit":"5"}`, want: tally.ErrInvalidParameter},
		{name: "Limit fraction", body: `{"Limit":1.5}`, want: tally.ErrInvalidParameter},
		{name: "Limit 5.0", body: `{"Limit":5.0}`, want: tally.ErrInvalidParameter},
		{name: "Limit 1e3", body: `{"Limit":1e3}`, want: tally.ErrInvalidParameter},
		{name: "Next negative", body: `{"Next":-1}`, want: tally.ErrInvalidParameter, info: "Next"},
		{name: "Next string", body: `{"Next":"0"}`, want: tally.ErrInvalidParameter},
		{name: "Next fraction", body: `{"Next":0.5}`, want: tally.ErrInvalidParameter},
		{name: "Next over uint64", body: `{"Next":18446744073709551616}`, want: tally.ErrInvalidParameter},
		{name: "GroupType lower case", body: `{"GroupType":"public"}`, want: tally.ErrInvalidParameter, info: "public"},
		{name: "GroupType empty is no filter", body: `{"GroupType":""}`, check: func(t *testing.T, m map[string]any) {
			if n := num(t, m["TotalCount"]); n != 12 {
				t.Fatalf("TotalCount %d, want every group, 12", n)
			}
		}},
		{name: "GroupType number", body: `{"GroupType":1}`, want: tally.ErrInvalidParameter, info: "GroupType"},
	})
}
