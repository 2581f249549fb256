package client

import (
	"context"

	"github.com/tallyserver/tally"
)

// CreateGroupRequest is create_group's body.
type CreateGroupRequest struct {
	Type tally.GroupType `json:"Type"`
	Name string          `json:"Name"`
	// GroupID is the id to give the group; "" has the server make one,
	// which the answer carries.
	GroupID          string              `json:"GroupId,omitempty"`
	OwnerAccount     string              `json:"Owner_Account,omitempty"`
	Introduction     string              `json:"Introduction,omitempty"`
	Notification     string              `json:"Notification,omitempty"`
	FaceURL          string              `json:"FaceUrl,omitempty"`
	MaxMemberCount   uint32              `json:"MaxMemberCount,omitempty"`
	ApplyJoinOption  tally.JoinOption    `json:"ApplyJoinOption,omitempty"`
	InviteJoinOption tally.JoinOption    `json:"InviteJoinOption,omitempty"`
	AppDefinedData   []tally.CustomField `json:"AppDefinedData,omitempty"`
	MemberList       []NewMember         `json:"MemberList,omitempty"`
	// SupportTopic is for a Community only.
	SupportTopic Flag `json:"SupportTopic,omitempty"`
}

// NewMember is one of create_group's first members.
type NewMember struct {
	MemberAccount string `json:"Member_Account"`
	// Role is RoleAdmin or RoleMember; "" is RoleMember.
	Role                 Role                `json:"Role,omitempty"`
	AppMemberDefinedData []tally.CustomField `json:"AppMemberDefinedData,omitempty"`
}

// CreateGroupResponse is create_group's answer.
type CreateGroupResponse struct {
	GroupID string `json:"GroupId"`
	// Type is the group's type by its name: Work is answered as Private,
	// Meeting as ChatRoom.
	Type          tally.GroupType `json:"Type"`
	HugeGroupFlag int             `json:"HugeGroupFlag"`
}

// CreateGroup creates a group. Made again after a failure with no answer,
// it answers tally.ErrGroupIDInUse if the first one was applied, or, with
// no GroupID, creates a second group.
func (c *Client) CreateGroup(ctx context.Context, req CreateGroupRequest) (*CreateGroupResponse, error) {
	var ans CreateGroupResponse
	if err := c.call(ctx, "create_group", req, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}

// DestroyGroupRequest is destroy_group's body.
type DestroyGroupRequest struct {
	GroupID string `json:"GroupId"`
}

// DestroyGroup destroys a group, its members and its counters.
func (c *Client) DestroyGroup(ctx context.Context, req DestroyGroupRequest) error {
	return c.call(ctx, "destroy_group", req, nil)
}

// GetGroupInfoRequest is get_group_info's body.
type GetGroupInfoRequest struct {
	GroupIDList []string `json:"GroupIdList"`
	// ResponseFilter, when set, has the answer carry only what it names.
	ResponseFilter *GroupInfoFilter `json:"ResponseFilter,omitempty"`
}

// GroupInfoFilter is get_group_info's ResponseFilter. The answer carries
// the base fields that GroupBaseInfoFilter names, the custom keys that
// AppDefinedDataFilterGroup names, and the member list only when
// MemberInfoFilter names a field of it.
type GroupInfoFilter struct {
	GroupBaseInfoFilter             []string `json:"GroupBaseInfoFilter,omitempty"`
	MemberInfoFilter                []string `json:"MemberInfoFilter,omitempty"`
	AppDefinedDataFilterGroup       []string `json:"AppDefinedDataFilter_Group,omitempty"`
	AppDefinedDataFilterGroupMember []string `json:"AppDefinedDataFilter_GroupMember,omitempty"`
}

// GetGroupInfoResponse is get_group_info's answer: one entry for each id
// asked for, in the order asked.
type GetGroupInfoResponse struct {
	GroupInfo []GroupInfo `json:"GroupInfo"`
}

// GroupInfo is one entry of get_group_info's answer. An id that names no
// group, or is malformed, fails in its entry alone: see Err.
type GroupInfo struct {
	GroupID   string     `json:"GroupId"`
	ErrorCode tally.Code `json:"ErrorCode"`
	ErrorInfo string     `json:"ErrorInfo"`
	GroupBaseInfo
	AppDefinedData []tally.CustomField `json:"AppDefinedData"`
	// MemberList is the group's members, the owner first; nil for an
	// AVChatRoom, which keeps none, and when a ResponseFilter asks for
	// no member field.
	MemberList []MemberInfo `json:"MemberList"`
}

// Err returns the entry's failure as an *Error, or nil when the group was
// found.
func (g *GroupInfo) Err() error {
	if g.ErrorCode == tally.OK {
		return nil
	}
	return &Error{Command: "get_group_info", Code: g.ErrorCode, Info: g.ErrorInfo}
}

// GroupBaseInfo is a group's base fields, as get_group_info and
// get_joined_group_list answer them. A field that a ResponseFilter leaves
// out is zero.
type GroupBaseInfo struct {
	Type             tally.GroupType  `json:"Type"`
	Name             string           `json:"Name"`
	AppID            uint32           `json:"Appid"`
	Introduction     string           `json:"Introduction"`
	Notification     string           `json:"Notification"`
	FaceURL          string           `json:"FaceUrl"`
	OwnerAccount     string           `json:"Owner_Account"`
	CreateTime       int64            `json:"CreateTime"`
	InfoSeq          uint64           `json:"InfoSeq"`
	LastInfoTime     int64            `json:"LastInfoTime"`
	LastMsgTime      int64            `json:"LastMsgTime"`
	NextMsgSeq       uint64           `json:"NextMsgSeq"`
	MemberNum        uint32           `json:"MemberNum"`
	MaxMemberNum     uint32           `json:"MaxMemberNum"`
	ApplyJoinOption  tally.JoinOption `json:"ApplyJoinOption"`
	InviteJoinOption tally.JoinOption `json:"InviteJoinOption"`
	// MuteAllMember is "On" or "Off"; ShutUpAllMember is its older
	// name, answered alongside it.
	MuteAllMember   string `json:"MuteAllMember"`
	ShutUpAllMember string `json:"ShutUpAllMember"`
	SupportTopic    Flag   `json:"SupportTopic"`
}

// GetGroupInfo reads up to 50 groups. A group that is missing or whose id
// is malformed does not fail the call: its entry's Err says so.
func (c *Client) GetGroupInfo(ctx context.Context, req GetGroupInfoRequest) (*GetGroupInfoResponse, error) {
	var ans GetGroupInfoResponse
	if err := c.call(ctx, "get_group_info", req, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}

// GetAppIDGroupListRequest is get_appid_group_list's body.
type GetAppIDGroupListRequest struct {
	// Limit is the most ids a page holds; 0 is the server's largest
	// page, 10,000.
	Limit int `json:"Limit,omitempty"`
	// Next is the previous page's Next; 0 starts at the first group.
	Next uint64 `json:"Next,omitempty"`
	// GroupType keeps the groups of that type; "" keeps every one.
	GroupType tally.GroupType `json:"GroupType,omitempty"`
}

// GetAppIDGroupListResponse is one page of get_appid_group_list, in the
// order the groups were created.
type GetAppIDGroupListResponse struct {
	// TotalCount counts the groups of the type over every page.
	TotalCount  int            `json:"TotalCount"`
	GroupIDList []GroupIDEntry `json:"GroupIdList"`
	// Next is the cursor of the next page; 0 on the last.
	Next uint64 `json:"Next"`
}

// GroupIDEntry is an entry of a list of groups that carries only the id.
type GroupIDEntry struct {
	GroupID string `json:"GroupId"`
}

// GetAppIDGroupList reads a page of the app's groups.
func (c *Client) GetAppIDGroupList(ctx context.Context, req GetAppIDGroupListRequest) (*GetAppIDGroupListResponse, error) {
	var ans GetAppIDGroupListResponse
	if err := c.call(ctx, "get_appid_group_list", req, &ans); err != nil {
		return nil, err
	}
	return &ans, nil
}

// ModifyGroupBaseInfoRequest is modify_group_base_info's body. Only the
// fields that are set are sent, and only they change: a nil pointer leaves
// its field alone, and new("") empties it.
type ModifyGroupBaseInfoRequest struct {
	GroupID          string            `json:"GroupId"`
	Name             *string           `json:"Name,omitempty"`
	Introduction     *string           `json:"Introduction,omitempty"`
	Notification     *string           `json:"Notification,omitempty"`
	FaceURL          *string           `json:"FaceUrl,omitempty"`
	MaxMemberNum     *uint32           `json:"MaxMemberNum,omitempty"`
	ApplyJoinOption  *tally.JoinOption `json:"ApplyJoinOption,omitempty"`
	InviteJoinOption *tally.JoinOption `json:"InviteJoinOption,omitempty"`
	// MuteAllMember is "On" or "Off".
	MuteAllMember *string `json:"MuteAllMember,omitempty"`
	// AppDefinedData sets the keys it names; an empty Value removes its
	// key. Keys it does not name are left alone.
	AppDefinedData []tally.CustomField `json:"AppDefinedData,omitempty"`
	// FromAccount is the user to make the change as; "" is the caller.
	FromAccount string `json:"From_Account,omitempty"`
}

// ModifyGroupBaseInfo changes a group's base fields.
func (c *Client) ModifyGroupBaseInfo(ctx context.Context, req ModifyGroupBaseInfoRequest) error {
	return c.call(ctx, "modify_group_base_info", req, nil)
}
