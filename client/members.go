package client

import (
	"context"

	"github.com/tallyserver/tally"
)

// Role is a user's role in a group, by its name on the wire.
type Role string

const (
	RoleOwner  Role = "Owner"
	RoleAdmin  Role = "Admin"
	RoleMember Role = "Member"
	// RoleNotMember is get_role_in_group's answer for a user who is not
	// in the group.
	RoleNotMember Role = "NotMember"
)

// AddGroupMemberRequest is add_group_member's body.
type AddGroupMemberRequest struct {
	GroupID string `json:"GroupId"`
	// MemberList is 1 to 300 users to add.
	MemberList []MemberToAdd `json:"MemberList"`
	// Silence asks that no one be notified; Tally notifies no one
	// anyway.
	Silence Flag `json:"Silence,omitempty"`
}

// MemberToAdd is one user of add_group_member's MemberList.
type MemberToAdd struct {
	MemberAccount string `json:"Member_Account"`
}

// AddGroupMemberResponse is add_group_member's answer: one entry for each
// user of the request, in its order.
type AddGroupMemberResponse struct {
	MemberList []AddMemberResult `json:"MemberList"`
}

// AddMemberResult says what add_group_member did with one user.
type AddMemberResult struct {
	MemberAccount string `json:"Member_Account"`
	// Result is tally.Added, or tally.AlreadyMember for a user who was
	// in the group already or named earlier in the same request.
	Result tally.AddResult `json:"Result"`
}

// AddGroupMember adds users to a group. All are added or, with
// tally.ErrGroupFull, none. Made again after a failure with no answer, it
// answers tally.AlreadyMember for the users the first one added.
func (c *Client) AddGroupMember(ctx context.Context, req AddGroupMemberRequest) (*AddGroupMemberResponse, error) {
	var ans AddGroupMemberResponse
	if err := c.call(ctx, "add_group_member", req, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}

// DeleteGroupMemberRequest is delete_group_member's body.
type DeleteGroupMemberRequest struct {
	GroupID string `json:"GroupId"`
	// MemberToDelAccount is 1 to 100 users to remove; a user who is not
	// a member is no error.
	MemberToDelAccount []string `json:"MemberToDel_Account"`
	Silence            Flag     `json:"Silence,omitempty"`
	Reason             string   `json:"Reason,omitempty"`
}

// DeleteGroupMember removes users from a group. The owner cannot be
// removed (tally.ErrNoPermission, and no one is).
func (c *Client) DeleteGroupMember(ctx context.Context, req DeleteGroupMemberRequest) error {
	return c.call(ctx, "delete_group_member", req, nil)
}

// GetGroupMemberInfoRequest is get_group_member_info's body.
type GetGroupMemberInfoRequest struct {
	GroupID string `json:"GroupId"`
	// Limit is the most members a page holds; 0 is every member, or 100
	// for a Community.
	Limit int `json:"Limit,omitempty"`
	// Offset skips that many members first; a Community pages with Next
	// instead.
	Offset int `json:"Offset,omitempty"`
	// Next is, for a Community, the previous page's Next; "" starts at
	// the first member.
	Next string `json:"Next,omitempty"`
	// MemberInfoFilter names the fields each member carries besides
	// Member_Account; empty is every field.
	MemberInfoFilter []string `json:"MemberInfoFilter,omitempty"`
	// MemberRoleFilter keeps the members of these roles; empty keeps
	// every one.
	MemberRoleFilter                []Role   `json:"MemberRoleFilter,omitempty"`
	AppDefinedDataFilterGroupMember []string `json:"AppDefinedDataFilter_GroupMember,omitempty"`
}

// GetGroupMemberInfoResponse is one page of a group's members: the owner
// first, then in the order they joined.
type GetGroupMemberInfoResponse struct {
	// MemberNum counts every member of the group.
	MemberNum  uint32       `json:"MemberNum"`
	MemberList []MemberInfo `json:"MemberList"`
	// Next is, for a Community, the cursor of the next page; "" on the
	// last.
	Next string `json:"Next"`
}

// MemberInfo is one member of a group. A field that a filter leaves out
// is zero.
type MemberInfo struct {
	MemberAccount        string              `json:"Member_Account"`
	Role                 Role                `json:"Role"`
	JoinTime             int64               `json:"JoinTime"`
	MsgSeq               int64               `json:"MsgSeq"`
	MsgFlag              string              `json:"MsgFlag"`
	LastSendMsgTime      int64               `json:"LastSendMsgTime"`
	MuteUntil            int64               `json:"MuteUntil"`
	ShutUpUntil          int64               `json:"ShutUpUntil"`
	NameCard             string              `json:"NameCard"`
	AppMemberDefinedData []tally.CustomField `json:"AppMemberDefinedData"`
}

// GetGroupMemberInfo reads a page of a group's members.
func (c *Client) GetGroupMemberInfo(ctx context.Context, req GetGroupMemberInfoRequest) (*GetGroupMemberInfoResponse, error) {
	var ans GetGroupMemberInfoResponse
	if err := c.call(ctx, "get_group_member_info", req, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}

// GetJoinedGroupListRequest is get_joined_group_list's body.
type GetJoinedGroupListRequest struct {
	MemberAccount string `json:"Member_Account"`
	// Limit is the most groups a page holds; 0 is every group.
	Limit  int `json:"Limit,omitempty"`
	Offset int `json:"Offset,omitempty"`
	// GroupType keeps the groups of that type; "" keeps every one.
	GroupType          tally.GroupType `json:"GroupType,omitempty"`
	WithHugeGroups     Flag            `json:"WithHugeGroups,omitempty"`
	WithNoActiveGroups Flag            `json:"WithNoActiveGroups,omitempty"`
	// SupportTopic keeps the Communities with topics; it needs GroupType
	// Community.
	SupportTopic Flag `json:"SupportTopic,omitempty"`
	// ResponseFilter names the fields each group carries besides its
	// id; without it, each entry is its GroupID alone.
	ResponseFilter *JoinedGroupFilter `json:"ResponseFilter,omitempty"`
}

// JoinedGroupFilter is get_joined_group_list's ResponseFilter.
type JoinedGroupFilter struct {
	GroupBaseInfoFilter []string `json:"GroupBaseInfoFilter,omitempty"`
	SelfInfoFilter      []string `json:"SelfInfoFilter,omitempty"`
}

// GetJoinedGroupListResponse is one page of the groups a user is in, in
// the order the user joined them.
type GetJoinedGroupListResponse struct {
	// TotalCount counts the groups that match over every page.
	TotalCount  int           `json:"TotalCount"`
	GroupIDList []JoinedGroup `json:"GroupIdList"`
}

// JoinedGroup is one group of get_joined_group_list, with the fields that
// the ResponseFilter named.
type JoinedGroup struct {
	GroupID string `json:"GroupId"`
	GroupBaseInfo
	// SelfInfo is the user's membership, when SelfInfoFilter names a
	// field of it.
	SelfInfo *SelfInfo `json:"SelfInfo"`
}

// SelfInfo is a user's membership of a group, as get_joined_group_list
// answers it.
type SelfInfo struct {
	JoinTime    int64  `json:"JoinTime"`
	Role        Role   `json:"Role"`
	MsgFlag     string `json:"MsgFlag"`
	MsgSeq      int64  `json:"MsgSeq"`
	MuteUntil   int64  `json:"MuteUntil"`
	ShutUpUntil int64  `json:"ShutUpUntil"`
}

// GetJoinedGroupList reads a page of the groups a user is a member of.
func (c *Client) GetJoinedGroupList(ctx context.Context, req GetJoinedGroupListRequest) (*GetJoinedGroupListResponse, error) {
	var ans GetJoinedGroupListResponse
	if err := c.call(ctx, "get_joined_group_list", req, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}

// GetRoleInGroupRequest is get_role_in_group's body.
type GetRoleInGroupRequest struct {
	GroupID string `json:"GroupId"`
	// UserAccount is 1 to 500 users.
	UserAccount []string `json:"User_Account"`
}

// GetRoleInGroupResponse is get_role_in_group's answer: one entry for
// each user of the request, in its order.
type GetRoleInGroupResponse struct {
	UserIDList []MemberRole `json:"UserIdList"`
}

// MemberRole is one user's role in get_role_in_group's answer.
type MemberRole struct {
	MemberAccount string `json:"Member_Account"`
	Role          Role   `json:"Role"`
}

// GetRoleInGroup reads the roles of users in a group: RoleNotMember for
// those who are not in it.
func (c *Client) GetRoleInGroup(ctx context.Context, req GetRoleInGroupRequest) (*GetRoleInGroupResponse, error) {
	var ans GetRoleInGroupResponse
	if err := c.call(ctx, "get_role_in_group", req, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}
