package tally

import (
	"crypto/rand"
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

// Group is a chat group as get_group_info reports it.
type Group struct {
	ID             string
	Type           GroupType
	Name           string
	Owner          string
	CreateTime     int64 // Unix seconds.
	Introduction   string
	Notification   string
	FaceURL        string
	MaxMemberCount uint32
}

// Limits of group fields.
const (
	MaxGroupIDLen   = 48
	MaxGroupNameLen = 100
	MaxGroupIDList  = 50
	MaxListLimit    = 10000

	autoIDPrefix      = "@TGS#"
	communityIDPrefix = "@TGS#_"
)

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
	ID    string
	Group *Group
	Err   error
}
