package tally

import (
	"strings"
	"testing"
)

func TestParseGroupType(t *testing.T) {
	for _, c := range []struct {
		in   string
		want GroupType
		ok   bool
	}{
		{"Private", GroupPrivate, true},
		{"Work", GroupPrivate, true},
		{"Public", GroupPublic, true},
		{"ChatRoom", GroupChatRoom, true},
		{"Meeting", GroupChatRoom, true},
		{"AVChatRoom", GroupAVChatRoom, true},
		{"Community", GroupCommunity, true},
		{"public", "", false},
		{"", "", false},
	} {
		got, ok := ParseGroupType(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseGroupType(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestCustomGroupID(t *testing.T) {
	for _, c := range []struct {
		id   string
		typ  GroupType
		want Code
	}{
		{"room-1", GroupPublic, OK},
		{" ~", GroupPrivate, OK},
		{strings.Repeat("x", 48), GroupPublic, OK},
		{strings.Repeat("x", 49), GroupPublic, ErrInvalidGroupID},
		{"", GroupPublic, ErrInvalidGroupID},
		{"tab\there", GroupPublic, ErrInvalidGroupID},
		{"caf\xc3\xa9", GroupPublic, ErrInvalidGroupID},
		{"\x7f", GroupPublic, ErrInvalidGroupID},
		{"@TGS#mine", GroupPublic, ErrInvalidGroupID},
		{"@TGS#_mine", GroupAVChatRoom, ErrInvalidGroupID},
		{"@TGS#_mine", GroupCommunity, OK},
		{"@TGS#_", GroupCommunity, OK},
		{"mine", GroupCommunity, ErrInvalidGroupID},
		{"@TGS#mine", GroupCommunity, ErrInvalidGroupID},
	} {
		if got := ErrorCode(CheckCustomGroupID(c.id, c.typ)); got != c.want {
			t.Errorf("CheckCustomGroupID(%q, %s) = %d, want %d", c.id, c.typ, got, c.want)
		}
	}
}

func TestNewGroupID(t *testing.T) {
	for _, typ := range GroupTypes {
		id := NewGroupID(typ)
		// A generated id is valid, and a caller could not have picked it
		// (except a Community's, whose ids share one form).
		if err := CheckGroupID(id); err != nil {
			t.Fatal(err)
		}
		custom := CheckCustomGroupID(id, typ)
		if (typ == GroupCommunity) != (custom == nil) {
			t.Errorf("%s id %q: CheckCustomGroupID = %v", typ, id, custom)
		}
	}
}
