package client_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
	"github.com/tallyserver/tally/usersig"
)

// TestNew refuses what cannot make a working client before any call is
// made, rather than at the first call.
func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		id      string
		opts    []client.Option
		wantErr string // "" for success
	}{
		{"key", "http://127.0.0.1:8080", "admin", []client.Option{client.WithSecretKey("k")}, ""},
		{"sig", "https://console.tim.qq.com/", "admin", []client.Option{client.WithUserSig("s")}, ""},
		{"path prefix", "http://proxy/tally", "admin", []client.Option{client.WithSecretKey("k"), client.WithSigLifetime(time.Minute)}, ""},
		{"neither key nor sig", "http://h", "admin", nil, "WithSecretKey or WithUserSig"},
		{"both key and sig", "http://h", "admin", []client.Option{client.WithSecretKey("k"), client.WithUserSig("s")}, "only one"},
		{"lifetime with a fixed sig", "http://h", "admin", []client.Option{client.WithUserSig("s"), client.WithSigLifetime(time.Hour)}, "WithSigLifetime"},
		{"lifetime under a second", "http://h", "admin", []client.Option{client.WithSecretKey("k"), client.WithSigLifetime(time.Millisecond)}, "under a second"},
		{"no scheme", "127.0.0.1:8080", "admin", []client.Option{client.WithSecretKey("k")}, "base URL"},
		{"ftp", "ftp://h", "admin", []client.Option{client.WithSecretKey("k")}, "http:// or https://"},
		{"query", "http://h/?x=1", "admin", []client.Option{client.WithSecretKey("k")}, "no query"},
		{"no identifier", "http://h", "", []client.Option{client.WithSecretKey("k")}, "identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.base, appMain, tt.id, tt.opts...)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr == "" && c == nil:
				t.Fatal("New returned no client and no error")
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: got error %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

// TestQuery checks the URL of a call: the command's path, and every
// parameter Tencent's API asks for, with a random that is a uint32 and
// changes from call to call.
func TestQuery(t *testing.T) {
	s := startServer(t)
	c := s.client(t)
	ctx := context.Background()
	randoms := map[string]bool{}
	for range 3 {
		_, err := c.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{})
		must(t, "get_appid_group_list", err)
		got := s.last(t)
		if got.Path != "/v4/group_open_http_svc/get_appid_group_list" {
			t.Errorf("path %q", got.Path)
		}
		for name, want := range map[string]string{"sdkappid": "1400000001", "identifier": admin, "contenttype": "json"} {
			if v := got.Query[name]; len(v) != 1 || v[0] != want {
				t.Errorf("%s = %q, want %q", name, v, want)
			}
		}
		if len(got.Query) != 5 {
			t.Errorf("query %v has %d parameters, want 5", got.Query, len(got.Query))
		}
		r := got.Query.Get("random")
		if _, err := strconv.ParseUint(r, 10, 32); err != nil {
			t.Errorf("random %q is not a uint32: %v", r, err)
		}
		randoms[r] = true
		sig, err := usersig.Decode(got.Query.Get("usersig"))
		if err != nil {
			t.Fatalf("usersig: %v", err)
		}
		if err := sig.Verify(appMain, admin, keyMain, time.Now()); err != nil {
			t.Errorf("usersig: %v", err)
		}
	}
	if len(randoms) < 2 {
		t.Errorf("three calls sent randoms %v; want them to differ", randoms)
	}
}

// TestIdentifierEscaped sends an identifier with characters that a URL
// must escape: the server must read it back exactly, and find the sig
// made for it, so that it refuses the call only for not being an admin.
func TestIdentifierEscaped(t *testing.T) {
	s := startServer(t)
	id := "a&b=c d+é"
	c := s.clientAs(t, appMain, id, client.WithSecretKey(keyMain))
	_, err := c.GetAppIDGroupList(context.Background(), client.GetAppIDGroupListRequest{})
	wantCode(t, err, tally.ErrNotAdmin)
	if got := s.last(t).Query.Get("identifier"); got != id {
		t.Errorf("the server read identifier %q, want %q", got, id)
	}
}

// TestRequestBodies pins the body of each command, byte for byte: Tencent's
// field names, and an optional field sent only when it is set. Each call is
// also made against the server, which must take it.
func TestRequestBodies(t *testing.T) {
	s := startServer(t)
	c := s.client(t)
	ctx := context.Background()
	_, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupCommunity, Name: "c", GroupID: "@TGS#_c"})
	must(t, "create_group", err)

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"create_group, least", func() error {
			_, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupPublic, Name: "g", GroupID: "g"})
			return err
		}, `{"Type":"Public","Name":"g","GroupId":"g"}`},
		{"create_group, most", func() error {
			_, err := c.CreateGroup(ctx, client.CreateGroupRequest{
				Type: tally.GroupPublic, Name: "<&>", GroupID: "full", OwnerAccount: "o",
				Introduction: "i", Notification: "n", FaceURL: "http://f", MaxMemberCount: 10,
				ApplyJoinOption: tally.NeedPermission, InviteJoinOption: tally.FreeAccess,
				AppDefinedData: []tally.CustomField{{Key: "k", Value: "v"}},
				MemberList: []client.NewMember{
					{MemberAccount: "a", Role: client.RoleAdmin, AppMemberDefinedData: []tally.CustomField{{Key: "x", Value: "1"}}},
					{MemberAccount: "b"},
				},
			})
			return err
		}, `{"Type":"Public","Name":"<&>","GroupId":"full","Owner_Account":"o","Introduction":"i","Notification":"n","FaceUrl":"http://f","MaxMemberCount":10,"ApplyJoinOption":"NeedPermission","InviteJoinOption":"FreeAccess","AppDefinedData":[{"Key":"k","Value":"v"}],"MemberList":[{"Member_Account":"a","Role":"Admin","AppMemberDefinedData":[{"Key":"x","Value":"1"}]},{"Member_Account":"b"}]}`},
		{"create_group, a Community with topics", func() error {
			_, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupCommunity, Name: "t", SupportTopic: true})
			return err
		}, `{"Type":"Community","Name":"t","SupportTopic":1}`},
		{"modify_group_base_info, Name only", func() error {
			return c.ModifyGroupBaseInfo(ctx, client.ModifyGroupBaseInfoRequest{GroupID: "g", Name: new("n")})
		}, `{"GroupId":"g","Name":"n"}`},
		{"modify_group_base_info, emptying and every field", func() error {
			return c.ModifyGroupBaseInfo(ctx, client.ModifyGroupBaseInfoRequest{
				GroupID: "g", Name: new("n"), Introduction: new(""), Notification: new("x"), FaceURL: new(""),
				MaxMemberNum: new(uint32(100)), ApplyJoinOption: new(tally.FreeAccess), InviteJoinOption: new(tally.DisableInvite),
				MuteAllMember: new("On"), AppDefinedData: []tally.CustomField{{Key: "k", Value: ""}}, FromAccount: "o",
			})
		}, `{"GroupId":"g","Name":"n","Introduction":"","Notification":"x","FaceUrl":"","MaxMemberNum":100,"ApplyJoinOption":"FreeAccess","InviteJoinOption":"DisableInvite","MuteAllMember":"On","AppDefinedData":[{"Key":"k","Value":""}],"From_Account":"o"}`},
		{"get_group_info", func() error {
			_, err := c.GetGroupInfo(ctx, client.GetGroupInfoRequest{GroupIDList: []string{"g", "nope"}})
			return err
		}, `{"GroupIdList":["g","nope"]}`},
		{"get_group_info, filtered", func() error {
			_, err := c.GetGroupInfo(ctx, client.GetGroupInfoRequest{GroupIDList: []string{"g"}, ResponseFilter: &client.GroupInfoFilter{
				GroupBaseInfoFilter: []string{"Name"}, MemberInfoFilter: []string{"Role"},
				AppDefinedDataFilterGroup: []string{"k"}, AppDefinedDataFilterGroupMember: []string{"x"},
			}})
			return err
		}, `{"GroupIdList":["g"],"ResponseFilter":{"GroupBaseInfoFilter":["Name"],"MemberInfoFilter":["Role"],"AppDefinedDataFilter_Group":["k"],"AppDefinedDataFilter_GroupMember":["x"]}}`},
		{"get_appid_group_list", func() error {
			_, err := c.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{})
			return err
		}, `{}`},
		{"get_appid_group_list, paged", func() error {
			_, err := c.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{Limit: 2, Next: 1, GroupType: tally.GroupPublic})
			return err
		}, `{"Limit":2,"Next":1,"GroupType":"Public"}`},
		{"add_group_member", func() error {
			_, err := c.AddGroupMember(ctx, client.AddGroupMemberRequest{GroupID: "g", MemberList: []client.MemberToAdd{{MemberAccount: "m"}}, Silence: true})
			return err
		}, `{"GroupId":"g","MemberList":[{"Member_Account":"m"}],"Silence":1}`},
		{"delete_group_member", func() error {
			return c.DeleteGroupMember(ctx, client.DeleteGroupMemberRequest{GroupID: "g", MemberToDelAccount: []string{"m"}})
		}, `{"GroupId":"g","MemberToDel_Account":["m"]}`},
		{"delete_group_member, every field", func() error {
			return c.DeleteGroupMember(ctx, client.DeleteGroupMemberRequest{GroupID: "g", MemberToDelAccount: []string{"m"}, Silence: true, Reason: "r"})
		}, `{"GroupId":"g","MemberToDel_Account":["m"],"Silence":1,"Reason":"r"}`},
		{"get_group_member_info", func() error {
			_, err := c.GetGroupMemberInfo(ctx, client.GetGroupMemberInfoRequest{GroupID: "g"})
			return err
		}, `{"GroupId":"g"}`},
		{"get_group_member_info, every field", func() error {
			_, err := c.GetGroupMemberInfo(ctx, client.GetGroupMemberInfoRequest{
				GroupID: "@TGS#_c", Limit: 2, Offset: 1, Next: "1", MemberInfoFilter: []string{"Role"},
				MemberRoleFilter: []client.Role{client.RoleOwner}, AppDefinedDataFilterGroupMember: []string{"x"},
			})
			return err
		}, `{"GroupId":"@TGS#_c","Limit":2,"Offset":1,"Next":"1","MemberInfoFilter":["Role"],"MemberRoleFilter":["Owner"],"AppDefinedDataFilter_GroupMember":["x"]}`},
		{"get_joined_group_list", func() error {
			_, err := c.GetJoinedGroupList(ctx, client.GetJoinedGroupListRequest{MemberAccount: "o"})
			return err
		}, `{"Member_Account":"o"}`},
		{"get_joined_group_list, every field", func() error {
			_, err := c.GetJoinedGroupList(ctx, client.GetJoinedGroupListRequest{
				MemberAccount: "o", Limit: 5, Offset: 1, GroupType: tally.GroupCommunity,
				WithHugeGroups: true, WithNoActiveGroups: true, SupportTopic: true,
				ResponseFilter: &client.JoinedGroupFilter{GroupBaseInfoFilter: []string{"Name"}, SelfInfoFilter: []string{"Role"}},
			})
			return err
		}, `{"Member_Account":"o","Limit":5,"Offset":1,"GroupType":"Community","WithHugeGroups":1,"WithNoActiveGroups":1,"SupportTopic":1,"ResponseFilter":{"GroupBaseInfoFilter":["Name"],"SelfInfoFilter":["Role"]}}`},
		{"get_role_in_group", func() error {
			_, err := c.GetRoleInGroup(ctx, client.GetRoleInGroupRequest{GroupID: "g", UserAccount: []string{"o", "z"}})
			return err
		}, `{"GroupId":"g","User_Account":["o","z"]}`},
		{"update_group_counter, Set by default", func() error {
			_, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{GroupID: "g", GroupCounter: []tally.Counter{{Key: "k", Value: -9223372036854775808}}})
			return err
		}, `{"GroupId":"g","GroupCounter":[{"Key":"k","Value":-9223372036854775808}]}`},
		{"update_group_counter, Increase", func() error {
			_, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{GroupID: "g", Mode: client.ModeIncrease, GroupCounter: []tally.Counter{{Key: "k", Value: 1}}})
			return err
		}, `{"GroupId":"g","GroupCounter":[{"Key":"k","Value":1}],"Mode":"Increase"}`},
		{"get_group_counter", func() error {
			_, err := c.GetGroupCounter(ctx, client.GetGroupCounterRequest{GroupID: "g"})
			return err
		}, `{"GroupId":"g"}`},
		{"get_group_counter, keys", func() error {
			_, err := c.GetGroupCounter(ctx, client.GetGroupCounterRequest{GroupID: "g", GroupCounterKeys: []string{"k"}})
			return err
		}, `{"GroupId":"g","GroupCounterKeys":["k"]}`},
		{"delete_group_counter, keys", func() error {
			return c.DeleteGroupCounter(ctx, client.DeleteGroupCounterRequest{GroupID: "g", GroupCounterKeys: []string{"k"}})
		}, `{"GroupId":"g","GroupCounterKeys":["k"]}`},
		{"delete_group_counter, every key", func() error {
			return c.DeleteGroupCounter(ctx, client.DeleteGroupCounterRequest{GroupID: "g"})
		}, `{"GroupId":"g"}`},
		{"destroy_group", func() error {
			return c.DestroyGroup(ctx, client.DestroyGroupRequest{GroupID: "g"})
		}, `{"GroupId":"g"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatalf("the server refused the call: %v", err)
			}
			if got := s.last(t).Body; got != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestNotAnEnvelope shows what a call returns when something other than
// Tally answers, as a proxy in front of it may: a *ResponseError, never a
// *client.Error, which would claim the server refused the call.
func TestNotAnEnvelope(t *testing.T) {
	// A proxy whose server is gone answers 502, as a real one does.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	ln.Close()
	proxy := httputil.NewSingleHostReverseProxy(dead)
	proxy.ErrorLog = log.New(io.Discard, "", 0)

	tests := []struct {
		name       string
		handler    http.Handler
		wantStatus int
		wantErr    string // in the error's text
	}{
		{"a proxy with no server", proxy, http.StatusBadGateway, "HTTP status 502"},
		{"HTML", text(`<html>hello</html>`), http.StatusOK, "invalid character"},
		{"a JSON object of something else", text(`{"hello":1}`), http.StatusOK, "no ErrorCode"},
		{"an unknown ActionStatus", text(`{"ActionStatus":"MAYBE","ErrorCode":0,"ErrorInfo":""}`), http.StatusOK, `ActionStatus "MAYBE"`},
		{"FAIL with code 0", text(`{"ActionStatus":"FAIL","ErrorCode":0,"ErrorInfo":""}`), http.StatusOK, `ActionStatus "FAIL" with ErrorCode 0`},
		{"OK with a code", text(`{"ActionStatus":"OK","ErrorCode":10010,"ErrorInfo":""}`), http.StatusOK, `ActionStatus "OK" with ErrorCode 10010`},
		{"a code that is a string", text(`{"ActionStatus":"FAIL","ErrorCode":"10010","ErrorInfo":""}`), http.StatusOK, "cannot unmarshal"},
		{"OK with a field of the wrong type", text(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","GroupCounter":[{"Key":"k","Value":"1"}]}`), http.StatusOK, "cannot unmarshal"},
		{"two objects", text(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}{}`), http.StatusOK, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := httptest.NewServer(tt.handler)
			defer hs.Close()
			c, err := client.New(hs.URL, appMain, admin, client.WithSecretKey(keyMain))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetGroupCounter(context.Background(), client.GetGroupCounterRequest{GroupID: "g"})
			var re *client.ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("got %v (%T), want a *client.ResponseError", err, err)
			}
			if _, ok := asError(err); ok {
				t.Errorf("%v is a *client.Error too", err)
			}
			if re.StatusCode != tt.wantStatus || re.Command != "get_group_counter" {
				t.Errorf("status %d, command %q; want %d, get_group_counter", re.StatusCode, re.Command, tt.wantStatus)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
		})
	}
}

// text answers every request with 200 and body.
func text(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
}

// TestNoAnswer covers calls that get no answer: a context that ends, and
// a server that is not there. The error must say what happened, match the
// context's error, and not hold the UserSig, which is in the URL that
// net/http's errors quote.
func TestNoAnswer(t *testing.T) {
	s := startServer(t)
	// A server that never answers, so that only the context ends the call.
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	tests := []struct {
		name string
		base string
		ctx  context.Context
		want error // matched by errors.Is; nil for none
	}{
		{"context canceled before the call", s.URL, canceled, context.Canceled},
		{"deadline during the call", slow.URL, short, context.DeadlineExceeded},
		{"connection refused", gone, context.Background(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.base, appMain, admin, client.WithSecretKey(keyMain))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.UpdateGroupCounter(tt.ctx, client.UpdateGroupCounterRequest{GroupID: "g", GroupCounter: []tally.Counter{{Key: "k", Value: 1}}})
			if err == nil {
				t.Fatal("the call succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "usersig") || strings.Contains(err.Error(), "sdkappid") {
				t.Errorf("error %q quotes the query", err)
			}
			if !strings.Contains(err.Error(), "update_group_counter") {
				t.Errorf("error %q does not name the command", err)
			}
		})
	}
}

// TestErrorText shows what a refused call's error says: the command, the
// code by number and by name, and the server's ErrorInfo; and that it
// carries the X-Request-Id that the server's log line has.
func TestErrorText(t *testing.T) {
	s := startServer(t)
	c := s.client(t)
	err := c.DestroyGroup(context.Background(), client.DestroyGroupRequest{GroupID: "nope"})
	e := wantCode(t, err, tally.ErrGroupNotFound)
	want := `tally: destroy_group: 10010 ErrGroupNotFound: group "nope" does not exist or has been destroyed`
	if err.Error() != want {
		t.Errorf("error text\n got %s\nwant %s", err, want)
	}
	if len(e.RequestID) != 16 {
		t.Errorf("RequestID %q, want the server's 16 hex digits", e.RequestID)
	}
}
