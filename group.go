package tally

import (
	"crypto/rand"
	"slices"
	"strings"
)

// GroupType is one of Tencent's preset group types.
type GroupType string

// Group types. Work and Meeting are aliases that ParseGroupType folds into
// Private and ChatRoom: a group is always stored and reported by its name.
const (
	GroupPrivate    GroupType = "Private"
	GroupPublic     GroupType = "Public"
	GroupChatRoom   GroupType = "ChatRoom"
	GroupAVChatRoom GroupType = "AVChatRoom"
	GroupCommunity  GroupType = "Community"
)

// GroupTypes lists the types in the order their numbers follow (see Index).
var GroupTypes = []GroupType{GroupPrivate, GroupPublic, GroupChatRoom, GroupAVChatRoom, GroupCommunity}

// ParseGroupType returns the type named s, resolving aliases. Names are
// matched exactly, as Tencent does.
func ParseGroupType(s string) (GroupType, bool) {
	switch s {
	case "Work":
		return GroupPrivate, true
	case "Meeting":
		return GroupChatRoom, true
	}
	for _, t := range GroupTypes {
		if string(t) == s {
			return t, true
		}
	}
	return "", false
}

// Index returns the position of t in GroupTypes, or -1; storage engines use it
// as a compact encoding.
func (t GroupType) Index() int {
	for i, x := range GroupTypes {
		if x == t {
			return i
		}
	}
	return -1
}

// HasCounters reports whether groups of type t may hold group counters.
func (t GroupType) HasCounters() bool { return t != GroupCommunity }

// Group is a chat group as get_group_info reports it, without its members.
type Group struct {
	ID           string
	Type         GroupType
	Name         string
	Owner        string // "" when the group has no owner.
	CreateTime   int64  // Unix seconds.
	Introduction string
	Notification string
	FaceURL      string
	// MaxMemberNum caps MemberNum; 0, for an AVChatRoom, means no cap.
	MaxMemberNum uint32
	ApplyJoin    JoinOption
	InviteJoin   JoinOption // "" for an AVChatRoom, which has none.
	MuteAll      bool
	SupportTopic bool // Set only for a Community.
	// AppDefinedData holds the group's custom fields in the order their
	// keys were first set.
	AppDefinedData []CustomField
	// InfoSeq starts at 1 and grows with every change of the group's
	// fields or members; LastInfoTime is the time of the latest.
	InfoSeq      uint64
	LastInfoTime int64
	MemberNum    uint32
}

// Clone returns a copy of g that shares nothing with it.
func (g *Group) Clone() *Group {
	c := *g
	c.AppDefinedData = slices.Clone(g.AppDefinedData)
	return &c
}

// JoinOption says how users join a group: its ApplyJoinOption or
// InviteJoinOption.
type JoinOption string

const (
	FreeAccess     JoinOption = "FreeAccess"
	NeedPermission JoinOption = "NeedPermission"
	DisableApply   JoinOption = "DisableApply"
	DisableInvite  JoinOption = "DisableInvite"
)

// JoinOptions lists every option, in the order their numbers follow;
// storage engines encode an option as 1 + its position, and "" as 0.
var JoinOptions = []JoinOption{FreeAccess, NeedPermission, DisableApply, DisableInvite}

// CustomField is one key of a group's AppDefinedData or a member's
// AppMemberDefinedData. The value is opaque bytes, returned as given.
type CustomField struct {
	Key   string
	Value string
}

// Limits of group fields.
const (
	MaxGroupIDLen      = 48
	MaxGroupNameLen    = 100
	MaxIntroductionLen = 400
	MaxNotificationLen = 400
	MaxFaceURLLen      = 500
	MaxGroupIDList     = 50
	MaxListLimit       = 10000

	MaxGroupFields      = 10 // Keys of a group's AppDefinedData.
	MaxGroupFieldKeyLen = 16
	MaxGroupFieldValLen = 512

	autoIDPrefix      = "@TGS#"
	communityIDPrefix = "@TGS#_"
)

// MemberCap returns the largest MaxMemberNum a group of type t may have,
// or 0 for an AVChatRoom, which has no cap.
func (t GroupType) MemberCap() uint32 {
	switch t {
	case GroupAVChatRoom:
		return 0
	case GroupCommunity:
		return 100000
	}
	return 6000
}

// DefaultMaxMembers is the MaxMemberNum of a new group of type t that
// names none.
func (t GroupType) DefaultMaxMembers() uint32 {
	switch t {
	case GroupPrivate:
		return 200
	case GroupPublic:
		return 2000
	}
	return t.MemberCap()
}

// DefaultApplyJoin and DefaultInviteJoin are the join options of a new
// group of type t that names none: a Private group is joined by
// invitation only, the others by application only.
func (t GroupType) DefaultApplyJoin() JoinOption {
	if t == GroupPrivate {
		return DisableApply
	}
	return NeedPermission
}

func (t GroupType) DefaultInviteJoin() JoinOption {
	switch t {
	case GroupPrivate:
		return FreeAccess
	case GroupAVChatRoom:
		return ""
	}
	return DisableInvite
}

// KeepsMembers reports whether groups of type t keep a member list: an
// AVChatRoom's audience joins through the SDK and is not kept.
func (t GroupType) KeepsMembers() bool { return t != GroupAVChatRoom }

// CheckGroupID reports whether id is well formed: 1..48 bytes of printable
// ASCII. It returns an ErrInvalidGroupID error naming the problem.
func CheckGroupID(id string) error {
	if len(id) == 0 || len(id) > MaxGroupIDLen {
		return Errorf(ErrInvalidGroupID, "GroupId %q is %d bytes; it must be 1 to %d", id, len(id), MaxGroupIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e {
			return Errorf(ErrInvalidGroupID, "GroupId %q has byte 0x%02x at %d; only printable ASCII is allowed", id, c, i)
		}
	}
	return nil
}

// CheckCustomGroupID reports whether a caller may choose id for a new group
// of type t. The @TGS# prefix belongs to generated ids, except that a
// Community's id must carry @TGS#_ whoever picks it.
func CheckCustomGroupID(id string, t GroupType) error {
	if err := CheckGroupID(id); err != nil {
		return err
	}
	if t == GroupCommunity {
		if !strings.HasPrefix(id, communityIDPrefix) {
			return Errorf(ErrInvalidGroupID, "GroupId %q of a Community must start with %q", id, communityIDPrefix)
		}
		return nil
	}
	if strings.HasPrefix(id, autoIDPrefix) {
		return Errorf(ErrInvalidGroupID, "GroupId %q must not start with %q, which is kept for generated ids", id, autoIDPrefix)
	}
	return nil
}

// NewGroupID returns a random id in Tencent's generated form: @TGS#, a
// character for the type, and nine random characters.
func NewGroupID(t GroupType) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	tag := map[GroupType]byte{GroupPrivate: '1', GroupPublic: '2', GroupChatRoom: '3', GroupAVChatRoom: 'a', GroupCommunity: '_'}[t]
	var r [9]byte
	rand.Read(r[:])
	b := []byte(autoIDPrefix)
	b = append(b, tag)
	for _, x := range r {
		b = append(b, alphabet[int(x)%len(alphabet)])
	}
	return string(b)
}

// GroupFilter selects a page of get_appid_group_list.
type GroupFilter struct {
	Type  GroupType // Empty means every type.
	Next  uint64    // Cursor from the previous page; 0 starts at the beginning.
	Limit int
}

// GroupPage is one page of an app's groups, in creation order.
type GroupPage struct {
	Total int      // Groups matching the filter's type, over all pages.
	IDs   []string // At most Limit ids.
	Next  uint64   // Cursor of the next page; 0 when this is the last.
}

// GroupLookup is the result for one id of get_group_info. Err is nil when
// the group was found.
type GroupLookup struct {
	ID      string
	Group   *Group
	Members []Member // When asked for, and the group keeps members.
	Err     error
}
