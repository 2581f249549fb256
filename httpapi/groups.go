package httpapi

import (
	"fmt"
	"math"

	"github.com/valyala/fastjson"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/callback"
)

func (s *Server) createGroup(c *call) error {
	typeName, err := requiredString(c.body, "Type")
	if err != nil {
		return err
	}
	typ, ok := tally.ParseGroupType(typeName)
	if !ok {
		return errGroupType("Type", typeName)
	}
	r := tally.NewGroup{Type: typ}
	// An empty GroupId asks for a generated one, as an omitted one does:
	// clients that serialise an unset string field send "".
	if r.ID, _, err = stringField(c.body, "GroupId"); err != nil {
		return err
	}
	if r.Owner, _, err = stringField(c.body, "Owner_Account"); err != nil {
		return err
	}
	if err := groupChange(c.body, &r.Fields, "MaxMemberCount"); err != nil {
		return err
	}
	if r.Members, err = newMembers(c.body); err != nil {
		return err
	}
	if r.SupportTopic, err = flagField(c.body, "SupportTopic"); err != nil {
		return err
	}
	g, members, err := r.Build(c.now)
	if err != nil {
		return err
	}
	if s.BeforeCreateGroup != nil && c.app.Callback.BeforeCreateGroup {
		q := &callback.BeforeCreateGroup{Operator: c.identifier, ClientIP: c.clientIP(), Time: c.at, Group: g, Members: members}
		if err := s.BeforeCreateGroup(c.ctx, &c.app.App, q); err != nil {
			return err
		}
	}
	if err := s.store.CreateGroup(c.ctx, c.app.SDKAppID, g, members); err != nil {
		return err
	}
	c.answer.str("GroupId", g.ID)
	c.answer.str("Type", string(g.Type))
	c.answer.int("HugeGroupFlag", hugeGroupFlag(g.Type))
	return nil
}

// hugeGroupFlag is create_group's HugeGroupFlag: 1 for the type whose
// audience is unbounded.
func hugeGroupFlag(t tally.GroupType) int64 {
	if t == tally.GroupAVChatRoom {
		return 1
	}
	return 0
}

// groupChange reads the fields that create_group and
// modify_group_base_info both set. maxName is the field that caps the
// members: create_group calls it MaxMemberCount, modify_group_base_info
// MaxMemberNum.
func groupChange(o *fastjson.Object, ch *tally.GroupChange, maxName string) error {
	for _, f := range []struct {
		name string
		dst  **string
	}{
		{"Name", &ch.Name},
		{"Introduction", &ch.Introduction},
		{"Notification", &ch.Notification},
		{"FaceUrl", &ch.FaceURL},
	} {
		var err error
		if *f.dst, err = optString(o, f.name); err != nil {
			return err
		}
	}
	if n, ok, err := intField(o, maxName, 0, math.MaxUint32); err != nil {
		return err
	} else if ok {
		ch.MaxMemberNum = &n
	}
	var err error
	if ch.ApplyJoin, err = joinOption(o, "ApplyJoinOption"); err != nil {
		return err
	}
	if ch.InviteJoin, err = joinOption(o, "InviteJoinOption"); err != nil {
		return err
	}
	ch.AppDefinedData, _, err = customFields(o, "AppDefinedData", "AppDefinedData")
	return err
}

// newMembers reads create_group's MemberList.
func newMembers(o *fastjson.Object) ([]tally.Member, error) {
	list, _, err := arrayField(o, "MemberList")
	if err != nil {
		return nil, err
	}
	if len(list) > tally.MaxCreateMembers {
		return nil, invalid("MemberList has %d members; the limit is %d", len(list), tally.MaxCreateMembers)
	}
	members := make([]tally.Member, len(list))
	for i, v := range list {
		path := fmt.Sprintf("MemberList[%d]", i)
		item, err := objectValue(v, path)
		if err != nil {
			return nil, err
		}
		m := &members[i]
		if m.Account, err = requiredStringAt(item, path, "Member_Account"); err != nil {
			return nil, err
		}
		m.Role = tally.RoleMember
		if v := lookup(item, "Role"); v != nil {
			name, _, err := stringValue(v, path+".Role")
			if err != nil {
				return nil, err
			}
			var ok bool
			if m.Role, ok = tally.ParseRole(name); !ok {
				return nil, invalid("%s.Role %q is not Member or Admin", path, name)
			}
		}
		if m.AppDefinedData, _, err = customFields(item, "AppMemberDefinedData", path+".AppMemberDefinedData"); err != nil {
			return nil, err
		}
	}
	return members, nil
}

func (s *Server) destroyGroup(c *call) error {
	id, err := groupID(c.body)
	if err != nil {
		return err
	}
	return s.store.DestroyGroup(c.ctx, c.app.SDKAppID, id)
}

func (s *Server) modifyGroupBaseInfo(c *call) error {
	id, err := groupID(c.body)
	if err != nil {
		return err
	}
	var ch tally.GroupChange
	if err := groupChange(c.body, &ch, "MaxMemberNum"); err != nil {
		return err
	}
	if ch.MuteAll, err = muteAll(c.body); err != nil {
		return err
	}
	// The operator to act as is only checked: Tally sends no
	// notifications that would name it.
	if from, ok, err := stringField(c.body, "From_Account"); err != nil {
		return err
	} else if ok {
		if err := tally.CheckUserID("From_Account", from); err != nil {
			return err
		}
	}
	return s.store.ModifyGroup(c.ctx, c.app.SDKAppID, id, &ch, c.now)
}

// muteAll reads MuteAllMember, or ShutUpAllMember, its older name, which
// must agree with it when both are given.
func muteAll(o *fastjson.Object) (*bool, error) {
	var out *bool
	var from string
	for _, name := range []string{"MuteAllMember", "ShutUpAllMember"} {
		s, ok, err := stringField(o, name)
		if err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		var on bool
		switch s {
		case "On":
			on = true
		case "Off":
		default:
			return nil, invalid("%s %q is not On or Off", name, s)
		}
		if out != nil && *out != on {
			return nil, invalid("%s %q contradicts %s", name, s, from)
		}
		out, from = &on, name
	}
	return out, nil
}

func (s *Server) getGroupInfo(c *call) error {
	list, ok, err := arrayField(c.body, "GroupIdList")
	if err != nil {
		return err
	}
	if !ok || len(list) == 0 || len(list) > tally.MaxGroupIDList {
		return invalid("GroupIdList must hold 1 to %d group ids, not %d", tally.MaxGroupIDList, len(list))
	}
	ids := make([]string, len(list))
	for i, v := range list {
		if ids[i], _, err = stringValue(v, fmt.Sprintf("GroupIdList[%d]", i)); err != nil {
			return err
		}
	}
	f, err := groupInfoFilter(c.body)
	if err != nil {
		return err
	}
	// Malformed ids get their own ErrorCode in the answer instead of
	// failing the whole call, like missing ones.
	res := make([]tally.GroupLookup, len(ids))
	var valid []string
	for i, id := range ids {
		res[i] = tally.GroupLookup{ID: id, Err: tally.CheckGroupID(id)}
		if res[i].Err == nil {
			valid = append(valid, id)
		}
	}
	found, err := s.store.Groups(c.ctx, c.app.SDKAppID, valid, f.members != nil)
	if err != nil {
		return err
	}
	for i := range res {
		if res[i].Err == nil {
			res[i], found = found[0], found[1:]
		}
	}
	c.answer.groupInfos(c.app.SDKAppID, res, f)
	return nil
}

func (s *Server) getAppIDGroupList(c *call) error {
	f := tally.GroupFilter{Limit: tally.MaxListLimit}
	limit, ok, err := intField(c.body, "Limit", 1, tally.MaxListLimit)
	if err != nil {
		return err
	}
	if ok {
		f.Limit = int(limit)
	}
	if v := lookup(c.body, "Next"); v != nil {
		n, err := v.Uint64()
		if err != nil || v.Type() != fastjson.TypeNumber {
			return invalid("Next must be the cursor of a previous answer (an integer of 0 or more), not %s", describe(v))
		}
		f.Next = n
	}
	if f.Type, err = groupTypeFilter(c.body); err != nil {
		return err
	}
	page, err := s.store.ListGroups(c.ctx, c.app.SDKAppID, f)
	if err != nil {
		return err
	}
	c.answer.groupPage(page)
	return nil
}

// groupTypeFilter reads an optional GroupType; absent and "" mean every
// type, since clients send "" for a filter they leave unset.
func groupTypeFilter(o *fastjson.Object) (tally.GroupType, error) {
	name, _, err := stringField(o, "GroupType")
	if err != nil || name == "" {
		return "", err
	}
	t, ok := tally.ParseGroupType(name)
	if !ok {
		return "", errGroupType("GroupType", name)
	}
	return t, nil
}

func errGroupType(field, name string) error {
	return invalid("%s %q is not a group type; use Private (Work), Public, ChatRoom (Meeting), AVChatRoom or Community", field, name)
}
