package httpapi

import (
	"fmt"
	"slices"

	"github.com/valyala/fastjson"

	"github.com/tallyserver/tally"
)

// A response filter names the fields an answer carries. Tencent writes the
// named fields in its own order, not the filter's, so each kind of entry
// has a table of its fields in the order they are written, and a filter
// becomes a set of positions in it.

// field is one field of an entry of kind T.
type field[T any] struct {
	name  string
	write func(a *answer, v T)
}

// fieldTable lists the fields of an entry kind in the order they are
// written.
type fieldTable[T any] []field[T]

// fieldSet is a set of positions in a fieldTable.
type fieldSet uint32

const allFields = ^fieldSet(0)

// set returns the positions of the named fields; names the table lacks
// are ignored, as Tencent ignores them.
func (t fieldTable[T]) set(names []string) fieldSet {
	var s fieldSet
	for i, f := range t {
		if slices.Contains(names, f.name) {
			s |= 1 << i
		}
	}
	return s
}

// write appends the fields of v that are in set, each after a comma.
func (t fieldTable[T]) write(a *answer, v T, set fieldSet) {
	for i, f := range t {
		if set&(1<<i) != 0 {
			f.write(a, v)
		}
	}
}

// groupView is a group as an answer writes it: its own fields, and the
// app that owns it, which get_group_info reports as Appid.
type groupView struct {
	app uint32
	g   *tally.Group
}

// groupFields are a group's base fields in Tencent's order.
var groupFields = fieldTable[groupView]{
	{"Type", func(a *answer, v groupView) { a.str("Type", string(v.g.Type)) }},
	{"Name", func(a *answer, v groupView) { a.str("Name", v.g.Name) }},
	{"Appid", func(a *answer, v groupView) { a.uint("Appid", uint64(v.app)) }},
	{"Introduction", func(a *answer, v groupView) { a.str("Introduction", v.g.Introduction) }},
	{"Notification", func(a *answer, v groupView) { a.str("Notification", v.g.Notification) }},
	{"FaceUrl", func(a *answer, v groupView) { a.str("FaceUrl", v.g.FaceURL) }},
	{"Owner_Account", func(a *answer, v groupView) { a.str("Owner_Account", v.g.Owner) }},
	{"CreateTime", func(a *answer, v groupView) { a.int("CreateTime", v.g.CreateTime) }},
	{"InfoSeq", func(a *answer, v groupView) { a.uint("InfoSeq", v.g.InfoSeq) }},
	{"LastInfoTime", func(a *answer, v groupView) { a.int("LastInfoTime", v.g.LastInfoTime) }},
	// Tally carries no messages, so the message counters are fixed.
	{"LastMsgTime", func(a *answer, v groupView) { a.int("LastMsgTime", 0) }},
	{"NextMsgSeq", func(a *answer, v groupView) { a.int("NextMsgSeq", 1) }},
	{"MemberNum", func(a *answer, v groupView) { a.uint("MemberNum", uint64(v.g.MemberNum)) }},
	{"MaxMemberNum", func(a *answer, v groupView) { a.uint("MaxMemberNum", uint64(v.g.MaxMemberNum)) }},
	{"ApplyJoinOption", func(a *answer, v groupView) { a.str("ApplyJoinOption", string(v.g.ApplyJoin)) }},
	{"InviteJoinOption", func(a *answer, v groupView) {
		if v.g.InviteJoin != "" {
			a.str("InviteJoinOption", string(v.g.InviteJoin))
		}
	}},
	// Clients read either name, the older one included.
	{"MuteAllMember", func(a *answer, v groupView) { a.str("MuteAllMember", onOff(v.g.MuteAll)) }},
	{"ShutUpAllMember", func(a *answer, v groupView) { a.str("ShutUpAllMember", onOff(v.g.MuteAll)) }},
	{"SupportTopic", func(a *answer, v groupView) {
		if v.g.Type == tally.GroupCommunity {
			a.int("SupportTopic", flag(v.g.SupportTopic))
		}
	}},
}

// memberFields are a member's fields after Member_Account, which every
// entry has, in Tencent's order. Tally carries no messages and keeps no
// mutes or name cards, so those fields are fixed.
var memberFields = fieldTable[*tally.Member]{
	{"Role", func(a *answer, m *tally.Member) { a.str("Role", m.Role.String()) }},
	{"JoinTime", func(a *answer, m *tally.Member) { a.int("JoinTime", m.JoinTime) }},
	{"MsgSeq", func(a *answer, m *tally.Member) { a.int("MsgSeq", 0) }},
	{"MsgFlag", func(a *answer, m *tally.Member) { a.str("MsgFlag", "AcceptAndNotify") }},
	{"LastSendMsgTime", func(a *answer, m *tally.Member) { a.int("LastSendMsgTime", 0) }},
	{"MuteUntil", func(a *answer, m *tally.Member) { a.int("MuteUntil", 0) }},
	{"ShutUpUntil", func(a *answer, m *tally.Member) { a.int("ShutUpUntil", 0) }},
	{"NameCard", func(a *answer, m *tally.Member) { a.str("NameCard", "") }},
}

// selfFields are get_joined_group_list's SelfInfo, in the order of
// Tencent's sample.
var selfFields = fieldTable[*tally.Member]{
	{"JoinTime", func(a *answer, m *tally.Member) { a.int("JoinTime", m.JoinTime) }},
	{"Role", func(a *answer, m *tally.Member) { a.str("Role", m.Role.String()) }},
	{"MsgFlag", func(a *answer, m *tally.Member) { a.str("MsgFlag", "AcceptAndNotify") }},
	{"MsgSeq", func(a *answer, m *tally.Member) { a.int("MsgSeq", 0) }},
	{"MuteUntil", func(a *answer, m *tally.Member) { a.int("MuteUntil", 0) }},
	{"ShutUpUntil", func(a *answer, m *tally.Member) { a.int("ShutUpUntil", 0) }},
}

func onOff(on bool) string {
	if on {
		return "On"
	}
	return "Off"
}

func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// customFilter picks the custom fields (AppDefinedData or
// AppMemberDefinedData) an answer carries: none unless on, and then the
// named keys, or every key when keys is nil.
type customFilter struct {
	on   bool
	keys []string
}

// pick returns the fields f keeps, in the stored order.
func (f customFilter) pick(fs []tally.CustomField) []tally.CustomField {
	if f.keys == nil {
		return fs
	}
	var out []tally.CustomField
	for _, c := range fs {
		if slices.Contains(f.keys, c.Key) {
			out = append(out, c)
		}
	}
	return out
}

// memberFilter picks what a member entry carries.
type memberFilter struct {
	fields fieldSet
	data   customFilter
}

var allOfMember = memberFilter{fields: allFields, data: customFilter{on: true}}

// infoFilter is get_group_info's ResponseFilter.
type infoFilter struct {
	base fieldSet
	data customFilter
	// members is nil when the answer carries no MemberList.
	members *memberFilter
}

// unfiltered is what get_group_info answers without a ResponseFilter:
// every field, every custom field, every member.
var unfiltered = infoFilter{base: allFields, data: customFilter{on: true}, members: &allOfMember}

// groupInfoFilter reads get_group_info's ResponseFilter. With one, only
// what it names is answered: the named base fields, the named custom keys
// and, when MemberInfoFilter names any field, the member list.
func groupInfoFilter(o *fastjson.Object) (*infoFilter, error) {
	v := lookup(o, "ResponseFilter")
	if v == nil {
		return &unfiltered, nil
	}
	rf, err := objectValue(v, "ResponseFilter")
	if err != nil {
		return nil, err
	}
	lists := map[string][]string{}
	for _, name := range []string{"GroupBaseInfoFilter", "MemberInfoFilter", "AppDefinedDataFilter_Group", "AppDefinedDataFilter_GroupMember"} {
		if lists[name], _, err = stringListAt(rf, name, "ResponseFilter."+name); err != nil {
			return nil, err
		}
	}
	f := &infoFilter{base: groupFields.set(lists["GroupBaseInfoFilter"])}
	if keys := lists["AppDefinedDataFilter_Group"]; len(keys) > 0 {
		f.data = customFilter{on: true, keys: keys}
	}
	if names := lists["MemberInfoFilter"]; len(names) > 0 {
		f.members = &memberFilter{fields: memberFields.set(names)}
		if keys := lists["AppDefinedDataFilter_GroupMember"]; len(keys) > 0 {
			f.members.data = customFilter{on: true, keys: keys}
		}
	}
	return f, nil
}

// customFields appends "name":[{"Key":..,"Value":..},...].
func (a *answer) customFields(name string, fs []tally.CustomField) {
	appendList(a, name, fs, func(a *answer, c tally.CustomField) {
		a.b = append(a.b, `{"Key":`...)
		a.b = appendString(a.b, c.Key)
		a.str("Value", c.Value)
		a.b = append(a.b, '}')
	})
}

// object appends "name":{...} with the fields fill writes, each of which
// starts with a comma, as every field does.
func (a *answer) object(name string, fill func(a *answer)) {
	a.field(name)
	a.b = append(a.b, '{')
	start := len(a.b)
	fill(a)
	if len(a.b) > start {
		a.b = append(a.b[:start], a.b[start+1:]...) // The first field's comma.
	}
	a.b = append(a.b, '}')
}

// member appends one member entry as f picks its fields.
func (a *answer) member(m *tally.Member, f *memberFilter) {
	a.b = append(a.b, `{"Member_Account":`...)
	a.b = appendString(a.b, m.Account)
	memberFields.write(a, m, f.fields)
	if f.data.on {
		a.customFields("AppMemberDefinedData", f.data.pick(m.AppDefinedData))
	}
	a.b = append(a.b, '}')
}

// members appends "MemberList":[...].
func (a *answer) members(ms []tally.Member, f *memberFilter) {
	appendList(a, "MemberList", ms, func(a *answer, m tally.Member) { a.member(&m, f) })
}

// groupInfos appends get_group_info's "GroupInfo":[...], one entry per
// lookup, each with its own GroupId, ErrorCode and ErrorInfo.
func (a *answer) groupInfos(app uint32, list []tally.GroupLookup, f *infoFilter) {
	appendList(a, "GroupInfo", list, func(a *answer, res tally.GroupLookup) { a.groupInfo(app, res, f) })
}

// groupInfo appends one entry of get_group_info's GroupInfo.
func (a *answer) groupInfo(app uint32, res tally.GroupLookup, f *infoFilter) {
	a.b = append(a.b, `{"GroupId":`...)
	a.b = appendString(a.b, res.ID)
	a.int("ErrorCode", int64(tally.ErrorCode(res.Err)))
	a.str("ErrorInfo", tally.ErrorInfo(res.Err))
	if g := res.Group; g != nil {
		groupFields.write(a, groupView{app, g}, f.base)
		if f.data.on {
			a.customFields("AppDefinedData", f.data.pick(g.AppDefinedData))
		}
		if f.members != nil && g.Type.KeepsMembers() {
			a.members(res.Members, f.members)
		}
	}
	a.b = append(a.b, '}')
}

// cursor writes a Community's member cursor: "" when no page follows.
func cursor(next uint64) string {
	if next == 0 {
		return ""
	}
	return fmt.Sprint(next)
}
