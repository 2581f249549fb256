package tally

import (
	"reflect"
	"slices"
	"strconv"
)

// GroupChange holds the fields of a group that a create_group or a
// modify_group_base_info request sets; a nil pointer is a field the request
// leaves alone.
type GroupChange struct {
	Name, Introduction, Notification, FaceURL *string
	// MaxMemberNum is checked against the group's type and members, so
	// it is kept as sent.
	MaxMemberNum *int64
	ApplyJoin    *JoinOption
	InviteJoin   *JoinOption
	MuteAll      *bool
	// AppDefinedData sets each key it names, in order; an empty Value
	// removes the key.
	AppDefinedData []CustomField
}

// ApplyGroupChange returns g with ch applied at time now, and whether
// anything changed. A change bumps InfoSeq and sets LastInfoTime; a request
// that changes nothing leaves both alone. It changes neither input. Every
// backend applies modify_group_base_info through it, so that its rules are
// the same everywhere:
//
//   - Name is 1..100 bytes, Introduction and Notification at most 400,
//     FaceURL at most 500.
//   - MaxMemberNum lies in 1..t.MemberCap() and is not below MemberNum; an
//     AVChatRoom has no cap and ignores it.
//   - ApplyJoin is FreeAccess, NeedPermission or DisableApply; InviteJoin is
//     FreeAccess, NeedPermission or DisableInvite, and an AVChatRoom has
//     none.
//   - AppDefinedData keys are 1..16 bytes, named once per request, values
//     at most 512 bytes, and the group keeps at most 10 keys.
//
// Failures are ErrInvalidParameter naming the field.
func ApplyGroupChange(g *Group, ch *GroupChange, now int64) (*Group, bool, error) {
	next := g.Clone()
	for _, f := range []struct {
		name     string
		src      *string
		dst      *string
		min, max int
	}{
		{"Name", ch.Name, &next.Name, 1, MaxGroupNameLen},
		{"Introduction", ch.Introduction, &next.Introduction, 0, MaxIntroductionLen},
		{"Notification", ch.Notification, &next.Notification, 0, MaxNotificationLen},
		{"FaceUrl", ch.FaceURL, &next.FaceURL, 0, MaxFaceURLLen},
	} {
		if f.src == nil {
			continue
		}
		if n := len(*f.src); n < f.min || n > f.max {
			return nil, false, Errorf(ErrInvalidParameter, "%s is %d bytes; it must be %d to %d", f.name, n, f.min, f.max)
		}
		*f.dst = *f.src
	}
	if n := ch.MaxMemberNum; n != nil && g.Type != GroupAVChatRoom {
		if limit := g.Type.MemberCap(); *n < 1 || *n > int64(limit) {
			return nil, false, Errorf(ErrInvalidParameter, "MaxMemberNum %d is out of range; a %s group allows 1 to %d", *n, g.Type, limit)
		}
		if *n < int64(g.MemberNum) {
			return nil, false, Errorf(ErrInvalidParameter, "MaxMemberNum %d is below the group's %d members", *n, g.MemberNum)
		}
		next.MaxMemberNum = uint32(*n)
	}
	if o := ch.ApplyJoin; o != nil {
		if err := CheckJoinOption("ApplyJoinOption", *o, DisableApply); err != nil {
			return nil, false, err
		}
		next.ApplyJoin = *o
	}
	if o := ch.InviteJoin; o != nil {
		if g.Type == GroupAVChatRoom {
			return nil, false, Errorf(ErrInvalidParameter, "InviteJoinOption is not supported by an AVChatRoom")
		}
		if err := CheckJoinOption("InviteJoinOption", *o, DisableInvite); err != nil {
			return nil, false, err
		}
		next.InviteJoin = *o
	}
	if ch.MuteAll != nil {
		next.MuteAll = *ch.MuteAll
	}
	if ch.AppDefinedData != nil {
		if err := CheckCustomFields("AppDefinedData", ch.AppDefinedData, MaxGroupFieldKeyLen, MaxGroupFieldValLen, MaxGroupFields); err != nil {
			return nil, false, err
		}
		next.AppDefinedData = SetCustomFields(next.AppDefinedData, ch.AppDefinedData)
		if n := len(next.AppDefinedData); n > MaxGroupFields {
			return nil, false, Errorf(ErrInvalidParameter, "AppDefinedData would leave the group with %d keys; the limit is %d", n, MaxGroupFields)
		}
	}
	if sameGroup(g, next) {
		return g, false, nil
	}
	next.InfoSeq++
	next.LastInfoTime = now
	return next, true, nil
}

// sameGroup reports whether a and b hold the same fields, so that a field
// added to Group is compared without a change here. SetCustomFields never
// leaves an empty, non-nil AppDefinedData, which DeepEqual would tell
// from nil.
func sameGroup(a, b *Group) bool { return reflect.DeepEqual(a, b) }

// CheckJoinOption reports whether o is FreeAccess, NeedPermission or
// closed, the option that closes the way field names.
func CheckJoinOption(field string, o JoinOption, closed JoinOption) error {
	switch o {
	case FreeAccess, NeedPermission, closed:
		return nil
	}
	return Errorf(ErrInvalidParameter, "%s %q is not one of FreeAccess, NeedPermission or %s", field, string(o), closed)
}

// CheckCustomFields checks the custom fields of one request: keys of
// 1..maxKey bytes, each named once, values of at most maxValue bytes, at
// most maxKeys of them. field is the request field, for the message.
func CheckCustomFields(field string, fs []CustomField, maxKey, maxValue, maxKeys int) error {
	if len(fs) > maxKeys {
		return Errorf(ErrInvalidParameter, "%s has %d keys; the limit is %d", field, len(fs), maxKeys)
	}
	for i, f := range fs {
		if n := len(f.Key); n < 1 || n > maxKey {
			return Errorf(ErrInvalidParameter, "%s[%d].Key is %d bytes; it must be 1 to %d", field, i, n, maxKey)
		}
		if n := len(f.Value); n > maxValue {
			return Errorf(ErrInvalidParameter, "%s[%d].Value is %d bytes; the limit is %d", field, i, n, maxValue)
		}
		for j := range i {
			if fs[j].Key == f.Key {
				return Errorf(ErrInvalidParameter, "%s[%d].Key %q repeats %s[%d]", field, i, f.Key, field, j)
			}
		}
	}
	return nil
}

// SetCustomFields returns cur with each of set applied in order: a value
// replaces the key's in place or appends the key, an empty value removes
// it. It does not change cur, and returns nil rather than an empty slice.
func SetCustomFields(cur, set []CustomField) []CustomField {
	out := slices.Clone(cur)
	for _, f := range set {
		i := slices.IndexFunc(out, func(c CustomField) bool { return c.Key == f.Key })
		switch {
		case f.Value == "" && i >= 0:
			out = slices.Delete(out, i, i+1)
		case f.Value == "":
		case i >= 0:
			out[i].Value = f.Value
		default:
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// NewGroup is a create_group request as a transport decoded it.
type NewGroup struct {
	ID           string // "" asks for a generated id.
	Type         GroupType
	Owner        string // "" for a group without an owner.
	SupportTopic bool
	// Fields holds the settable fields; Name is required, and
	// MaxMemberNum is the request's MaxMemberCount.
	Fields GroupChange
	// Members is the MemberList: Account, Role (RoleMember or RoleAdmin)
	// and AppDefinedData of each.
	Members []Member
}

// Build checks r and returns the group and its members as CreateGroup
// stores them, created at time now: the owner first, as RoleOwner, unless
// the group is an AVChatRoom, then the MemberList in order. Fields r leaves
// unset get the type's defaults. Errors are ErrInvalidParameter,
// ErrInvalidGroupID for a custom id the caller may not choose,
// ErrNoPermission for members of an AVChatRoom, and ErrGroupFull when the
// members exceed MaxMemberNum.
func (r *NewGroup) Build(now int64) (*Group, []Member, error) {
	t := r.Type
	if r.ID != "" {
		if err := CheckCustomGroupID(r.ID, t); err != nil {
			return nil, nil, err
		}
	}
	if r.Fields.Name == nil {
		return nil, nil, Errorf(ErrInvalidParameter, "Name is required")
	}
	if r.Owner != "" {
		if err := CheckUserID("Owner_Account", r.Owner); err != nil {
			return nil, nil, err
		}
	}
	base := &Group{
		ID: r.ID, Type: t, Owner: r.Owner, CreateTime: now,
		MaxMemberNum: t.DefaultMaxMembers(), ApplyJoin: t.DefaultApplyJoin(), InviteJoin: t.DefaultInviteJoin(),
		SupportTopic: r.SupportTopic && t == GroupCommunity,
	}
	fields := r.Fields
	if n := fields.MaxMemberNum; n != nil && t != GroupAVChatRoom {
		if limit := t.MemberCap(); *n < 1 || *n > int64(limit) {
			return nil, nil, Errorf(ErrInvalidParameter, "MaxMemberCount %d is out of range; a %s group allows 1 to %d", *n, t, limit)
		}
		base.MaxMemberNum = uint32(*n)
	}
	fields.MaxMemberNum = nil
	g, _, err := ApplyGroupChange(base, &fields, now)
	if err != nil {
		return nil, nil, err
	}
	g.InfoSeq, g.LastInfoTime = 1, now

	members, err := r.members(g, now)
	if err != nil {
		return nil, nil, err
	}
	g.MemberNum = uint32(len(members))
	return g, members, nil
}

// members checks the MemberList and returns the group's first members.
func (r *NewGroup) members(g *Group, now int64) ([]Member, error) {
	if !g.Type.KeepsMembers() {
		if len(r.Members) > 0 {
			return nil, Errorf(ErrNoPermission, "an AVChatRoom keeps no members; its audience joins through the SDK, so MemberList must be empty")
		}
		return nil, nil
	}
	if len(r.Members) > MaxCreateMembers {
		return nil, Errorf(ErrInvalidParameter, "MemberList has %d members; the limit is %d", len(r.Members), MaxCreateMembers)
	}
	var out []Member
	if r.Owner != "" {
		out = append(out, Member{Account: r.Owner, Role: RoleOwner, JoinTime: now})
	}
	seen := make(map[string]int, len(r.Members))
	for i, m := range r.Members {
		field := "MemberList[" + strconv.Itoa(i) + "]"
		if err := CheckUserID(field+".Member_Account", m.Account); err != nil {
			return nil, err
		}
		switch {
		case m.Account == r.Owner:
			return nil, Errorf(ErrInvalidParameter, "%s.Member_Account %q is the Owner_Account, who joins as owner", field, m.Account)
		case m.Role != RoleMember && m.Role != RoleAdmin:
			return nil, Errorf(ErrInvalidParameter, "%s.Role must be Member or Admin, not %s", field, m.Role)
		case m.Role == RoleAdmin && g.Type == GroupPrivate:
			return nil, Errorf(ErrInvalidParameter, "%s.Role: a Private group has no admins", field)
		}
		if j, dup := seen[m.Account]; dup {
			return nil, Errorf(ErrInvalidParameter, "%s.Member_Account %q repeats MemberList[%d]", field, m.Account, j)
		}
		seen[m.Account] = i
		if err := CheckCustomFields(field+".AppMemberDefinedData", m.AppDefinedData, MaxMemberFieldKeyLen, MaxMemberFieldValLen, MaxMemberFields); err != nil {
			return nil, err
		}
		out = append(out, Member{Account: m.Account, Role: m.Role, JoinTime: now, AppDefinedData: SetCustomFields(nil, m.AppDefinedData)})
	}
	if len(out) > int(g.MaxMemberNum) {
		return nil, Errorf(ErrGroupFull, "the group would start with %d members; its MaxMemberNum is %d", len(out), g.MaxMemberNum)
	}
	return out, nil
}
