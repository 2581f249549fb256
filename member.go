package tally

import "unicode/utf8"

// Role is a member's place in a group. RoleNone is get_role_in_group's
// NotMember.
type Role uint8

const (
	RoleNone Role = iota
	RoleMember
	RoleAdmin
	RoleOwner
)

// Roles lists the roles in the order their numbers follow.
var Roles = []Role{RoleNone, RoleMember, RoleAdmin, RoleOwner}

func (r Role) String() string {
	switch r {
	case RoleMember:
		return "Member"
	case RoleAdmin:
		return "Admin"
	case RoleOwner:
		return "Owner"
	}
	return "NotMember"
}

// ParseRole returns the member role named s (Owner, Admin or Member),
// matched exactly.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles[1:] {
		if r.String() == s {
			return r, true
		}
	}
	return RoleNone, false
}

// Member is one member of a group.
type Member struct {
	Account  string
	Role     Role
	JoinTime int64 // Unix seconds.
	// Seq is the member's place in the group's join order, from 1; a
	// Community's member pages are cursored by it. Stores set it.
	Seq uint64
	// AppDefinedData is the member's AppMemberDefinedData.
	AppDefinedData []CustomField
}

// Limits of members and of the calls on them. Where Tencent's pages
// disagree on a per-call count, the larger is taken, so that a client
// written against either is served.
const (
	MaxUserIDLen         = 32
	MaxCreateMembers     = 500 // create_group's MemberList.
	MaxAddMembers        = 300 // add_group_member's MemberList.
	MaxDeleteMembers     = 100 // delete_group_member's MemberToDel_Account.
	MaxRoleAccounts      = 500 // get_role_in_group's User_Account.
	MaxMemberPage        = 6000
	DefaultCommunityPage = 100 // A Community's member page when Limit is 0.
	MaxJoinedLimit       = 5000
	MaxDeleteReasonLen   = 256

	MaxMemberFields      = 5 // Keys of a member's AppMemberDefinedData.
	MaxMemberFieldKeyLen = 16
	MaxMemberFieldValLen = 64
)

// CheckUserID reports whether id is a valid UserID: 1..32 bytes of UTF-8.
// field names the request field, for the message. Tally keeps no account
// list, so every valid UserID exists.
func CheckUserID(field, id string) error {
	if n := len(id); n < 1 || n > MaxUserIDLen {
		return Errorf(ErrInvalidParameter, "%s is %d bytes; a UserID must be 1 to %d", field, n, MaxUserIDLen)
	}
	if !utf8.ValidString(id) {
		return Errorf(ErrInvalidParameter, "%s is not valid UTF-8", field)
	}
	return nil
}

// MemberCall names a kind of call on a group's members, for the rules of
// which group types allow it.
type MemberCall uint8

const (
	AddMembersCall    MemberCall = iota // add_group_member
	DeleteMembersCall                   // delete_group_member
	ReadMembersCall                     // get_group_member_info, get_role_in_group
)

// CheckMemberCall reports whether call may be made on g. An AVChatRoom
// keeps no members: adding or reading them is ErrNoPermission, and
// deleting them ErrInvalidParameter, as Tencent answers.
func (g *Group) CheckMemberCall(call MemberCall) error {
	if g.Type.KeepsMembers() {
		return nil
	}
	if call == DeleteMembersCall {
		return Errorf(ErrInvalidParameter, "group %q is an AVChatRoom, which keeps no members to delete", g.ID)
	}
	return Errorf(ErrNoPermission, "group %q is an AVChatRoom, which keeps no members; its audience joins through the SDK", g.ID)
}

// AddResult is add_group_member's Result for one account.
type AddResult uint8

const (
	AddFailed     AddResult = 0
	Added         AddResult = 1
	AlreadyMember AddResult = 2
)

// PlanAdd computes one add_group_member request on g at time now. member
// says, for each account in order, whether it is a member already. It
// returns each account's result, the members to add, with Role and
// JoinTime set and Seq left to the store, and the group after them. An
// account named twice is added once; its second entry is AlreadyMember.
// It changes neither input. Errors: those of CheckMemberCall, and
// ErrGroupFull, with nothing added, when the new members would exceed
// MaxMemberNum.
func PlanAdd(g *Group, accounts []string, member []bool, now int64) ([]AddResult, []Member, *Group, error) {
	if err := g.CheckMemberCall(AddMembersCall); err != nil {
		return nil, nil, nil, err
	}
	results := make([]AddResult, len(accounts))
	var added []Member
	seen := make(map[string]bool, len(accounts))
	for i, a := range accounts {
		if member[i] || seen[a] {
			results[i] = AlreadyMember
			continue
		}
		seen[a] = true
		results[i] = Added
		added = append(added, Member{Account: a, Role: RoleMember, JoinTime: now})
	}
	if n := int64(g.MemberNum) + int64(len(added)); n > int64(g.MaxMemberNum) {
		return nil, nil, nil, Errorf(ErrGroupFull, "group %q has %d members and MaxMemberNum %d; adding %d would exceed it, so none was added",
			g.ID, g.MemberNum, g.MaxMemberNum, len(added))
	}
	next := g.Clone()
	if len(added) > 0 {
		next.MemberNum += uint32(len(added))
		next.InfoSeq++
		next.LastInfoTime = now
	}
	return results, added, next, nil
}

// PlanDelete computes one delete_group_member request on g at time now.
// members holds, for each requested account, its member record or nil
// when it is not a member. It returns the members to remove, each once,
// and the group after. A non-member is not an error. It changes neither
// input. Errors: those of CheckMemberCall, and ErrNoPermission, with
// nothing removed, when the owner is named.
func PlanDelete(g *Group, members []*Member, now int64) ([]Member, *Group, error) {
	if err := g.CheckMemberCall(DeleteMembersCall); err != nil {
		return nil, nil, err
	}
	var removed []Member
	seen := make(map[string]bool, len(members))
	for _, m := range members {
		if m == nil || seen[m.Account] {
			continue
		}
		if m.Role == RoleOwner {
			return nil, nil, Errorf(ErrNoPermission, "%q owns group %q and cannot be removed from it; nothing was removed", m.Account, g.ID)
		}
		seen[m.Account] = true
		removed = append(removed, *m)
	}
	next := g.Clone()
	if len(removed) > 0 {
		next.MemberNum -= uint32(len(removed))
		next.InfoSeq++
		next.LastInfoTime = now
	}
	return removed, next, nil
}

// MemberQuery selects a page of get_group_member_info.
type MemberQuery struct {
	// Roles keeps the members of these roles; empty keeps every one.
	Roles []Role
	// Limit is the most members a page holds; 0 means every member,
	// or DefaultCommunityPage for a Community.
	Limit int
	// Offset skips that many members (of Roles) first. A Community
	// ignores it: its pages follow After.
	Offset int
	// After is, for a Community, the Next of the previous page; 0 starts
	// at the first member.
	After uint64
}

// MemberPage is one page of a group's members: the owner first, then in
// join order.
type MemberPage struct {
	Group   *Group // The group as of the page, MemberNum included.
	Members []Member
	// Next is, for a Community, the cursor of the next page: the Seq of
	// the page's last member, or 0 when no member of the query's Roles
	// follows it, so that the last page of a filtered walk says so.
	Next uint64
}

// JoinedFilter selects a page of a user's groups, get_joined_group_list.
type JoinedFilter struct {
	Type         GroupType // Empty means every type.
	SupportTopic bool      // Keep only Communities with topics.
	Offset       int
	Limit        int // 0 means every group.
	// WithGroups asks for each group's fields, not only its id.
	WithGroups bool
}

// JoinedPage is one page of the groups a user is a member of, ordered by
// the user's JoinTime, then GroupId bytewise.
type JoinedPage struct {
	Total  int // Groups matching the filter's Type and SupportTopic, over all pages.
	Groups []JoinedGroup
}

// JoinedGroup is one group of a JoinedPage.
type JoinedGroup struct {
	ID    string
	Group *Group // Set when the filter asked WithGroups.
	Self  Member // The user's membership, as the group's members show it.
}
