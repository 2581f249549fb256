package httpapi

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/tallyserver/tally"
)

func (s *Server) addGroupMember(c *call) error {
	id, err := groupID(c.body)
	if err != nil {
		return err
	}
	// Tally sends no notifications, so Silence is only checked.
	if _, err := flagField(c.body, "Silence"); err != nil {
		return err
	}
	list, ok, err := arrayField(c.body, "MemberList")
	if err != nil {
		return err
	}
	if !ok {
		return invalid("MemberList is required")
	}
	if len(list) == 0 || len(list) > tally.MaxAddMembers {
		return invalid("MemberList has %d members; give 1 to %d", len(list), tally.MaxAddMembers)
	}
	accounts := make([]string, len(list))
	for i, v := range list {
		if accounts[i], err = memberAccount(v, i); err != nil {
			return err
		}
	}
	results, err := s.store.AddMembers(c.ctx, c.app.SDKAppID, id, accounts, c.now)
	if err != nil {
		return err
	}
	appendList(&c.answer, "MemberList", accounts, func(a *answer, account string) {
		a.b = append(a.b, `{"Member_Account":`...)
		a.b = appendString(a.b, account)
		a.int("Result", int64(results[0]))
		a.b = append(a.b, '}')
		results = results[1:]
	})
	return nil
}

// memberAccount reads the Member_Account of MemberList[i]. It names the
// entry only when it fails: a list of 300 is read on every call.
func memberAccount(v *fastjson.Value, i int) (string, error) {
	path := func() string { return fmt.Sprintf("MemberList[%d]", i) }
	item, err := v.Object()
	if err != nil {
		return "", invalid("%s must be an object, not %s", path(), describe(v))
	}
	a := lookup(item, "Member_Account")
	if a == nil {
		return "", invalid("%s.Member_Account is required", path())
	}
	b, err := a.StringBytes()
	if err != nil {
		return "", invalid("%s.Member_Account must be a string, not %s", path(), describe(a))
	}
	account := string(b)
	if n := len(account); n == 0 || n > tally.MaxUserIDLen || !utf8.ValidString(account) {
		return "", tally.CheckUserID(path()+".Member_Account", account)
	}
	return account, nil
}

func (s *Server) deleteGroupMember(c *call) error {
	id, err := groupID(c.body)
	if err != nil {
		return err
	}
	accounts, err := userIDList(c.body, "MemberToDel_Account", tally.MaxDeleteMembers)
	if err != nil {
		return err
	}
	if _, err := flagField(c.body, "Silence"); err != nil {
		return err
	}
	if reason, _, err := stringField(c.body, "Reason"); err != nil {
		return err
	} else if len(reason) > tally.MaxDeleteReasonLen {
		return invalid("Reason is %d bytes; the limit is %d", len(reason), tally.MaxDeleteReasonLen)
	}
	return s.store.DeleteMembers(c.ctx, c.app.SDKAppID, id, accounts, c.now)
}

func (s *Server) getGroupMemberInfo(c *call) error {
	id, err := groupID(c.body)
	if err != nil {
		return err
	}
	var q tally.MemberQuery
	if q.Limit, q.Offset, err = limitOffset(c.body, 0, tally.MaxMemberPage); err != nil {
		return err
	}
	if next, _, err := stringField(c.body, "Next"); err != nil {
		return err
	} else if next != "" {
		if q.After, err = strconv.ParseUint(next, 10, 64); err != nil || q.After == 0 {
			return invalid("Next %q is not a cursor this server gave; send \"\" for the first page", next)
		}
	}
	roles, _, err := stringList(c.body, "MemberRoleFilter")
	if err != nil {
		return err
	}
	for i, name := range roles {
		r, ok := tally.ParseRole(name)
		if !ok {
			return invalid("MemberRoleFilter[%d] %q is not Owner, Admin or Member", i, name)
		}
		q.Roles = append(q.Roles, r)
	}
	f, err := memberInfoFilter(c.body)
	if err != nil {
		return err
	}
	page, err := s.store.Members(c.ctx, c.app.SDKAppID, id, q)
	if err != nil {
		return err
	}
	c.answer.uint("MemberNum", uint64(page.Group.MemberNum))
	c.answer.members(page.Members, f)
	if page.Group.Type == tally.GroupCommunity {
		c.answer.str("Next", cursor(page.Next))
	}
	return nil
}

// memberInfoFilter reads get_group_member_info's MemberInfoFilter and
// AppDefinedDataFilter_GroupMember. Without the first (or with []), every
// field is answered; with it, Member_Account and the fields it names, and
// AppMemberDefinedData when it names that or the second filter names keys.
func memberInfoFilter(o *fastjson.Object) (*memberFilter, error) {
	names, _, err := stringList(o, "MemberInfoFilter")
	if err != nil {
		return nil, err
	}
	keys, _, err := stringList(o, "AppDefinedDataFilter_GroupMember")
	if err != nil {
		return nil, err
	}
	f := allOfMember
	if len(names) > 0 {
		f = memberFilter{fields: memberFields.set(names)}
		f.data.on = slices.Contains(names, "AppMemberDefinedData")
	}
	if len(keys) > 0 {
		f.data = customFilter{on: true, keys: keys}
	}
	return &f, nil
}

// limitOffset reads the optional Limit, in [min, max], and Offset of a
// paged call; both are 0 when absent.
func limitOffset(o *fastjson.Object, min, max int64) (limit, offset int, err error) {
	l, _, err := intField(o, "Limit", min, max)
	if err != nil {
		return 0, 0, err
	}
	off, _, err := intField(o, "Offset", 0, math.MaxInt32)
	return int(l), int(off), err
}

func (s *Server) getJoinedGroupList(c *call) error {
	account, err := userID(c.body, "Member_Account")
	if err != nil {
		return err
	}
	var f tally.JoinedFilter
	if f.Limit, f.Offset, err = limitOffset(c.body, 1, tally.MaxJoinedLimit); err != nil {
		return err
	}
	if f.Type, err = groupTypeFilter(c.body); err != nil {
		return err
	}
	// Tally keeps no AVChatRoom audiences and counts every Private group
	// as active, so these two change nothing; they are only checked.
	for _, name := range []string{"WithHugeGroups", "WithNoActiveGroups"} {
		if _, err := flagField(c.body, name); err != nil {
			return err
		}
	}
	if f.SupportTopic, err = flagField(c.body, "SupportTopic"); err != nil {
		return err
	}
	if f.SupportTopic && f.Type != tally.GroupCommunity {
		return invalid("SupportTopic 1 needs GroupType Community")
	}
	base, self, err := joinedFilter(c.body)
	if err != nil {
		return err
	}
	f.WithGroups = base != 0
	page, err := s.store.JoinedGroups(c.ctx, c.app.SDKAppID, account, f)
	if err != nil {
		return err
	}
	c.answer.int("TotalCount", int64(page.Total))
	appendList(&c.answer, "GroupIdList", page.Groups, func(a *answer, j tally.JoinedGroup) {
		a.b = append(a.b, `{"GroupId":`...)
		a.b = appendString(a.b, j.ID)
		if j.Group != nil {
			groupFields.write(a, groupView{c.app.SDKAppID, j.Group}, base)
		}
		if self != 0 {
			a.object("SelfInfo", func(a *answer) { selfFields.write(a, &j.Self, self) })
		}
		a.b = append(a.b, '}')
	})
	return nil
}

// joinedFilter reads get_joined_group_list's ResponseFilter: the base
// fields and the SelfInfo fields to answer. Without one, each entry is
// its GroupId alone.
func joinedFilter(o *fastjson.Object) (base, self fieldSet, err error) {
	v := lookup(o, "ResponseFilter")
	if v == nil {
		return 0, 0, nil
	}
	rf, err := objectValue(v, "ResponseFilter")
	if err != nil {
		return 0, 0, err
	}
	names, _, err := stringListAt(rf, "GroupBaseInfoFilter", "ResponseFilter.GroupBaseInfoFilter")
	if err != nil {
		return 0, 0, err
	}
	selfNames, _, err := stringListAt(rf, "SelfInfoFilter", "ResponseFilter.SelfInfoFilter")
	if err != nil {
		return 0, 0, err
	}
	return groupFields.set(names), selfFields.set(selfNames), nil
}

func (s *Server) getRoleInGroup(c *call) error {
	id, err := groupID(c.body)
	if err != nil {
		return err
	}
	accounts, err := userIDList(c.body, "User_Account", tally.MaxRoleAccounts)
	if err != nil {
		return err
	}
	roles, err := s.store.Roles(c.ctx, c.app.SDKAppID, id, accounts)
	if err != nil {
		return err
	}
	appendList(&c.answer, "UserIdList", accounts, func(a *answer, account string) {
		a.b = append(a.b, `{"Member_Account":`...)
		a.b = appendString(a.b, account)
		a.str("Role", roles[0].String())
		a.b = append(a.b, '}')
		roles = roles[1:]
	})
	return nil
}
