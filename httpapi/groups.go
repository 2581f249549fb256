package httpapi

import (
	"context"
	"fmt"
	"math"

	"github.com/valyala/fastjson"

	"github.com/tallyserver/tally"
)

func (s *Server) createGroup(ctx context.Context, app uint32, o *fastjson.Object, r *reply) error {
	typeName, err := requiredString(o, "Type")
	if err != nil {
		return err
	}
	typ, ok := tally.ParseGroupType(typeName)
	if !ok {
		return invalid("Type %q is not a group type; use Private (Work), Public, ChatRoom (Meeting), AVChatRoom or Community", typeName)
	}
	g := &tally.Group{Type: typ}
	if g.Name, err = requiredString(o, "Name"); err != nil {
		return err
	}
	if n := len(g.Name); n == 0 || n > tally.MaxGroupNameLen {
		return invalid("Name is %d bytes; it must be 1 to %d", n, tally.MaxGroupNameLen)
	}
	// An empty GroupId asks for a generated one, as an omitted one does:
	// clients that serialise an unset string field send "".
	if g.ID, _, err = stringField(o, "GroupId"); err != nil {
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
		if *f.dst, _, err = stringField(o, f.name); err != nil {
			return err
		}
	}
	n, _, err := intField(o, "MaxMemberCount", 0, math.MaxUint32)
	if err != nil {
		return err
	}
	g.MaxMemberCount = uint32(n)

	if err := s.store.CreateGroup(ctx, app, g); err != nil {
		return err
	}
	r.str("GroupId", g.ID)
	return nil
}

func (s *Server) destroyGroup(ctx context.Context, app uint32, o *fastjson.Object, r *reply) error {
	id, err := groupID(o)
	if err != nil {
		return err
	}
	return s.store.DestroyGroup(ctx, app, id)
}

func (s *Server) getGroupInfo(ctx context.Context, app uint32, o *fastjson.Object, r *reply) error {
	list, ok, err := arrayField(o, "GroupIdList")
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
	var valid []string
	for _, id := range ids {
		if tally.CheckGroupID(id) == nil {
			valid = append(valid, id)
		}
	}
	found, err := s.store.Groups(ctx, app, valid)
	if err != nil {
		return err
	}
	r.field("GroupInfo")
	r.b = append(r.b, '[')
	for i, id := range ids {
		if i > 0 {
			r.b = append(r.b, ',')
		}
		res := tally.GroupLookup{ID: id, Err: tally.CheckGroupID(id)}
		if res.Err == nil {
			res, found = found[0], found[1:]
		}
		r.groupInfo(res)
	}
	r.b = append(r.b, ']')
	return nil
}

// groupInfo appends one entry of get_group_info's GroupInfo.
func (r *reply) groupInfo(res tally.GroupLookup) {
	r.b = append(r.b, `{"GroupId":`...)
	r.b = appendString(r.b, res.ID)
	r.int("ErrorCode", int64(tally.ErrorCode(res.Err)))
	r.str("ErrorInfo", tally.ErrorInfo(res.Err))
	if g := res.Group; g != nil {
		r.str("Type", string(g.Type))
		r.str("Name", g.Name)
		r.str("Owner_Account", g.Owner)
		r.int("CreateTime", g.CreateTime)
		r.str("Introduction", g.Introduction)
		r.str("Notification", g.Notification)
		r.str("FaceUrl", g.FaceURL)
		r.uint("MaxMemberCount", uint64(g.MaxMemberCount))
	}
	r.b = append(r.b, '}')
}

func (s *Server) getAppIDGroupList(ctx context.Context, app uint32, o *fastjson.Object, r *reply) error {
	f := tally.GroupFilter{Limit: tally.MaxListLimit}
	limit, ok, err := intField(o, "Limit", 1, tally.MaxListLimit)
	if err != nil {
		return err
	}
	if ok {
		f.Limit = int(limit)
	}
	if v := lookup(o, "Next"); v != nil {
		n, err := v.Uint64()
		if err != nil || v.Type() != fastjson.TypeNumber {
			return invalid("Next must be the cursor of a previous answer (an integer of 0 or more), not %s", describe(v))
		}
		f.Next = n
	}
	typeName, ok, err := stringField(o, "GroupType")
	if err != nil {
		return err
	}
	if ok {
		if f.Type, ok = tally.ParseGroupType(typeName); !ok {
			return invalid("GroupType %q is not a group type; use Private (Work), Public, ChatRoom (Meeting), AVChatRoom or Community", typeName)
		}
	}
	page, err := s.store.ListGroups(ctx, app, f)
	if err != nil {
		return err
	}
	r.int("TotalCount", int64(page.Total))
	r.field("GroupIdList")
	r.b = append(r.b, '[')
	for i, id := range page.IDs {
		if i > 0 {
			r.b = append(r.b, ',')
		}
		r.b = append(r.b, `{"GroupId":`...)
		r.b = appendString(r.b, id)
		r.b = append(r.b, '}')
	}
	r.b = append(r.b, ']')
	r.uint("Next", page.Next)
	return nil
}
