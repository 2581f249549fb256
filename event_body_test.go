package tally

import (
	"encoding/json"
	"testing"
	"time"
)

// TestEventBodies holds each after-event's body, byte for byte, to the
// request example of Tencent's page for the event (tencentcloud.com,
// product 1047, pages 34369, 34377, 34378, 34372 and 34373), with the
// example's values and its fields in its order. The one difference is
// EventTime, which Tencent's newer examples quote as a string and Tally
// sends as a number of milliseconds, as the field tables say it is.
// A handler written against Tencent's examples, even one that reads the
// body as a stream of fields, reads these unchanged.
func TestEventBodies(t *testing.T) {
	o := Origin{Operator: "leckie", ClientIP: "127.0.0.1", Time: time.UnixMilli(1670574414123), Events: AllEvents}
	public := &Group{ID: "@TGS#2J4SZEAEL", Type: GroupPublic, Name: "MyFirstGroup", Owner: "leckie"}
	created := &Group{ID: "@TGS#2J4SZEAEL", Type: GroupPublic, Name: "MyFirstGroup", Owner: "leckie",
		AppDefinedData: []CustomField{{"UserDefined1", "hello"}, {"UserDefined2", "world"}}}
	changedBefore := &Group{ID: "@TGS#2J4SZEAEL", Type: GroupPublic, Notification: "OldNotification"}
	changedAfter := &Group{ID: "@TGS#2J4SZEAEL", Type: GroupPublic, Notification: "NewNotification"}
	infoChanged, ok := GroupInfoChangedEvent(1400000001, o, changedBefore, changedAfter)
	if !ok {
		t.Fatal("GroupInfoChangedEvent: a changed Notification reported no change")
	}
	createdBy := o
	createdBy.Operator = "group_root"

	for _, c := range []struct {
		name string
		ev   Event
		want string
	}{
		{"Group.CallbackAfterCreateGroup",
			CreateGroupEvent(1400000001, createdBy, created, []Member{{Account: "bob"}, {Account: "peter"}}),
			`{"CallbackCommand":"Group.CallbackAfterCreateGroup","GroupId":"@TGS#2J4SZEAEL","Operator_Account":"group_root","Owner_Account":"leckie","Type":"Public","Name":"MyFirstGroup","MemberList":[{"Member_Account":"bob"},{"Member_Account":"peter"}],"UserDefinedDataList":[{"Key":"UserDefined1","Value":"hello"},{"Key":"UserDefined2","Value":"world"}],"EventTime":1670574414123}`},
		{"Group.CallbackAfterGroupDestroyed",
			GroupDestroyedEvent(1400000001, o, public, []Member{{Account: "leckie"}, {Account: "peter"}, {Account: "bob"}}),
			`{"CallbackCommand":"Group.CallbackAfterGroupDestroyed","GroupId":"@TGS#2J4SZEAEL","Type":"Public","Owner_Account":"leckie","Name":"MyFirstGroup","MemberList":[{"Member_Account":"leckie"},{"Member_Account":"peter"},{"Member_Account":"bob"}],"EventTime":1670574414123}`},
		{"Group.CallbackAfterGroupInfoChanged", infoChanged,
			`{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"@TGS#2J4SZEAEL","Type":"Public","Operator_Account":"leckie","Notification":"NewNotification","EventTime":1670574414123}`},
		// Tencent's example shows JoinType Apply; add_group_member is an
		// invitation, which the page names Invited.
		{"Group.CallbackAfterNewMemberJoin",
			NewMemberJoinEvent(1400000001, o, public, []string{"jared", "tommy"}),
			`{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"@TGS#2J4SZEAEL","Type":"Public","JoinType":"Invited","Operator_Account":"leckie","NewMemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventTime":1670574414123}`},
		{"Group.CallbackAfterMemberExit",
			MemberExitEvent(1400000001, o, public, []string{"jared", "tommy"}),
			`{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"@TGS#2J4SZEAEL","Type":"Public","ExitType":"Kicked","Operator_Account":"leckie","ExitMemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventTime":1670574414123}`},
		// Tally's own event has no page of Tencent's; it follows the
		// others' shape.
		{"Group.CallbackAfterGroupCounterChanged",
			CounterChangedEvent(1400000001, o, "@TGS#2J4SZEAEL", GroupPublic, "Increase", []Counter{{Key: "likes", Value: 7}}, []string{"viewers"}, 42),
			`{"CallbackCommand":"Group.CallbackAfterGroupCounterChanged","GroupId":"@TGS#2J4SZEAEL","Type":"Public","Operator_Account":"leckie","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":7}],"Deleted":["viewers"],"Seq":42,"EventTime":1670574414123}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(c.ev.Body); got != c.want {
				t.Errorf("body\n got %s\nwant %s", got, c.want)
			}
			if !json.Valid(c.ev.Body) {
				t.Errorf("body is not valid JSON: %s", c.ev.Body)
			}
			if c.ev.Kind.Command() != c.name || c.ev.App != 1400000001 || c.ev.GroupID != "@TGS#2J4SZEAEL" ||
				c.ev.ClientIP != "127.0.0.1" || c.ev.Time != 1670574414123 {
				t.Errorf("event = %+v", c.ev)
			}
		})
	}
}
