package tally

import (
	"strconv"

	"github.com/tallyserver/tally/internal/jsonstr"
)

// The bodies of the after-events, written by hand in the order of the
// fields in Tencent's examples, so that a handler written for Tencent's
// callbacks reads them unchanged. Every store builds its events with these
// functions, in the write that makes the change, so that the events are
// the same on every backend.

// CounterModeDelete is the Mode of a Group.CallbackAfterGroupCounterChanged
// that delete_group_counter caused.
const CounterModeDelete = "Delete"

// eventBody starts an event's body: the CallbackCommand and the GroupId.
func eventBody(k EventKind, groupID string) []byte {
	b := append(make([]byte, 0, 256), `{"CallbackCommand":`...)
	b = jsonstr.Append(b, k.Command())
	b = append(b, `,"GroupId":`...)
	return jsonstr.Append(b, groupID)
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return jsonstr.Append(b, value)
}

// appendAccounts appends ,"name":[{"Member_Account":a},...].
func appendAccounts(b []byte, name string, accounts []string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":[`...)
	for i, a := range accounts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Member_Account":`...)
		b = jsonstr.Append(b, a)
		b = append(b, '}')
	}
	return append(b, ']')
}

// event ends body with its EventTime and makes the Event.
func event(app uint32, k EventKind, groupID string, o Origin, body []byte) Event {
	ms := o.Time.UnixMilli()
	body = append(body, `,"EventTime":`...)
	body = strconv.AppendInt(body, ms, 10)
	body = append(body, '}')
	return Event{App: app, GroupID: groupID, Kind: k, ClientIP: o.ClientIP, Time: ms, Body: body}
}

func accountsOf(members []Member) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.Account
	}
	return out
}

// CreateGroupEvent is Group.CallbackAfterCreateGroup for group g, created
// with members (its owner among them).
func CreateGroupEvent(app uint32, o Origin, g *Group, members []Member) Event {
	// Tencent's example gives this event its Type after the accounts,
	// where every other event has it right after GroupId.
	b := eventBody(EventAfterCreateGroup, g.ID)
	b = appendField(b, "Operator_Account", o.Operator)
	b = appendField(b, "Owner_Account", g.Owner)
	b = appendField(b, "Type", string(g.Type))
	b = appendField(b, "Name", g.Name)
	b = appendAccounts(b, "MemberList", accountsOf(members))
	b = append(b, `,"UserDefinedDataList":[`...)
	for i, f := range g.AppDefinedData {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Key":`...)
		b = jsonstr.Append(b, f.Key)
		b = append(b, `,"Value":`...)
		b = jsonstr.Append(b, f.Value)
		b = append(b, '}')
	}
	b = append(b, ']')
	return event(app, EventAfterCreateGroup, g.ID, o, b)
}

// GroupDestroyedEvent is Group.CallbackAfterGroupDestroyed for group g,
// whose members were members.
func GroupDestroyedEvent(app uint32, o Origin, g *Group, members []Member) Event {
	b := eventBody(EventAfterGroupDestroyed, g.ID)
	b = appendField(b, "Type", string(g.Type))
	b = appendField(b, "Owner_Account", g.Owner)
	b = appendField(b, "Name", g.Name)
	b = appendAccounts(b, "MemberList", accountsOf(members))
	return event(app, EventAfterGroupDestroyed, g.ID, o, b)
}

// GroupInfoChangedEvent is Group.CallbackAfterGroupInfoChanged for a
// group that was before and is after, naming those of its name,
// introduction, notification and face URL that changed; false when none
// did, for then Tencent sends none.
func GroupInfoChangedEvent(app uint32, o Origin, before, after *Group) (Event, bool) {
	b := eventBody(EventAfterGroupInfoChanged, after.ID)
	b = appendField(b, "Type", string(after.Type))
	b = appendField(b, "Operator_Account", o.Operator)
	changed := false
	for _, f := range []struct{ name, was, is string }{
		{"Name", before.Name, after.Name},
		{"Introduction", before.Introduction, after.Introduction},
		{"Notification", before.Notification, after.Notification},
		{"FaceUrl", before.FaceURL, after.FaceURL},
	} {
		if f.was != f.is {
			b = appendField(b, f.name, f.is)
			changed = true
		}
	}
	if !changed {
		return Event{}, false
	}
	return event(app, EventAfterGroupInfoChanged, after.ID, o, b), true
}

// NewMemberJoinEvent is Group.CallbackAfterNewMemberJoin for the accounts
// add_group_member added to group g.
func NewMemberJoinEvent(app uint32, o Origin, g *Group, added []string) Event {
	return membersEvent(app, EventAfterNewMemberJoin, o, g, "JoinType", "Invited", "NewMemberList", added)
}

// MemberExitEvent is Group.CallbackAfterMemberExit for the accounts
// delete_group_member removed from group g.
func MemberExitEvent(app uint32, o Origin, g *Group, removed []string) Event {
	return membersEvent(app, EventAfterMemberExit, o, g, "ExitType", "Kicked", "ExitMemberList", removed)
}

// membersEvent is the body both member events share: the group's type,
// how the accounts came or went, the operator and the accounts.
func membersEvent(app uint32, k EventKind, o Origin, g *Group, how, howValue, list string, accounts []string) Event {
	b := eventBody(k, g.ID)
	b = appendField(b, "Type", string(g.Type))
	b = appendField(b, how, howValue)
	b = appendField(b, "Operator_Account", o.Operator)
	b = appendAccounts(b, list, accounts)
	return event(app, k, g.ID, o, b)
}

// CounterChangedEvent is Tally's Group.CallbackAfterGroupCounterChanged
// for one change of the counters of group id, of type t: the keys it set,
// with their new values, and those it deleted, sorted, and the group's Seq
// after it, as the live counter stream tells it. mode is the request's
// Mode, or CounterModeDelete.
func CounterChangedEvent(app uint32, o Origin, id string, t GroupType, mode string, set []Counter, deleted []string, seq uint64) Event {
	b := eventBody(EventAfterGroupCounterChanged, id)
	b = appendField(b, "Type", string(t))
	b = appendField(b, "Operator_Account", o.Operator)
	b = appendField(b, "Mode", mode)
	b = append(b, `,"GroupCounter":`...)
	b = AppendCounterList(b, set)
	if len(deleted) > 0 {
		b = append(b, `,"Deleted":`...)
		b = AppendKeyList(b, deleted)
	}
	b = append(b, `,"Seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	return event(app, EventAfterGroupCounterChanged, id, o, b)
}
