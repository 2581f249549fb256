package httpapi

import (
	"fmt"
	"math"

	"github.com/valyala/fastjson"

	"github.com/tallyserver/tally"
)

func (s *Server) createGroup(c *call) error {
	typeName, err := requiredString(c.body, "Type")
	if err != nil {
		return err
	}
	typ, ok := tally.ParseGroupType(typeName)
	if !ok {
		return invalid("Type %q is not a group type; use Private (Work), Public, ChatRoom (Meeting), AVChatRoom or Community", typeName)
	}
	g := &tally.Group{Type: typ}
	if g.Name, err = requiredString(c.body, "Name"); err != nil {
		return err
	}
	if n := len(g.Name); n == 0 || n > tally.MaxGroupNameLen {
		return invalid("Name is %d bytes; it must be 1 to %d", n, tally.MaxGroupNameLen)
	}
	// An empty GroupId asks for a generated one, as an omitted one does:
	// clients that serialise an unset string field send "".
	if g.ID, _, err = stringField(c.body, "GroupId"); err != nil {
		return err
	}
	if g.ID != "" {
		if err := tally.CheckCustomGroupID(g.ID, typ); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"Owner_Account", &g.Owner},
		{"Introduction", &g.Introduction},
		{"Notification", &g.Notification},
		{"FaceUrl", &g.FaceURL},
	} {
		if *f.dst, _, err = stringField(c.body, f.name); err != nil {
			return err
		}
	}
	n, _, err := intField(c.body, "MaxMemberCount", 0, math.MaxUint32)
	if err != nil {
		return err
	}
	g.MaxMemberCount = uint32(n)

	if err := s.store.CreateGroup(c.ctx, c.app.SDKAppID, g); err != nil {
		return err
	}
	c.answer.str("GroupId", g.ID)
	return nil
}

func (s *Server) destroyGroup(c *call) error {
	id, err := groupID(c.body)
	if err != nil {
		return err
	}
	return s.store.DestroyGroup(c.ctx, c.app.SDKAppID, id)
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
	found, err := s.store.Groups(c.ctx, c.app.SDKAppID, valid)
	if err != nil {
		return err
	}
	for i := range res {
		if res[i].Err == nil {
			res[i], found = found[0], found[1:]
		}
	}
	c.answer.groupInfos(res)
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
	typeName, ok, err := stringField(c.body, "GroupType")
	if err != nil {
		return err
	}
	if ok {
		if f.Type, ok = tally.ParseGroupType(typeName); !ok {
			return invalid("GroupType %q is not a group type; use Private (Work), Public, ChatRoom (Meeting), AVChatRoom or Community", typeName)
		}
	}
	page, err := s.store.ListGroups(c.ctx, c.app.SDKAppID, f)
	if err != nil {
		return err
	}
	c.answer.groupPage(page)
	return nil
}
