package pebble

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
)

// The records of the encoding tests: each field at an edge of its range.
var (
	testGroupRecord = groupRecord{seq: 1<<64 - 1, nextMember: 7, Group: tally.Group{
		ID: "g", Type: tally.GroupCommunity, Name: "n", Owner: "用户", CreateTime: -1,
		Introduction: "\x00", Notification: strings.Repeat("x", 400), FaceURL: "",
		MaxMemberNum: 1<<32 - 1, ApplyJoin: tally.FreeAccess, InviteJoin: tally.DisableInvite,
		MuteAll: true, SupportTopic: true, AppDefinedData: []tally.CustomField{{Key: "k", Value: "\x00\x01"}, {Key: "e", Value: ""}},
		InfoSeq: 3, LastInfoTime: 1 << 40, MemberNum: 6,
	}}
	testMember = tally.Member{Account: "a\x00b", Role: tally.RoleAdmin, JoinTime: -1 << 63, Seq: 1,
		AppDefinedData: []tally.CustomField{{Key: "mk", Value: "\xff"}}}
)

// decoders decode each kind of record that holds members or the new group
// fields, for the tests that feed them damaged records.
var decoders = map[string]struct {
	valid  []byte
	decode func([]byte) (any, error)
	// emptyIsNone says that an empty record decodes as none rather than
	// as corrupt, as no counters record does.
	emptyIsNone bool
}{
	"counters": {valid: encodeCounters(1<<64-1, []tally.Counter{{Key: "k", Value: -1 << 63}, {Key: "\x00", Value: 0}}),
		decode: func(b []byte) (any, error) {
			seq, cs, err := decodeCounters(b)
			return []any{seq, cs}, err
		}, emptyIsNone: true},
	"counters, keys shared": {valid: encodeCounters(1, []tally.Counter{{Key: "k", Value: -1 << 63}, {Key: "\x00", Value: 0}}),
		decode: func(b []byte) (any, error) {
			seq, cs, err := decodeCountersShared(b)
			return []any{seq, cs}, err
		}, emptyIsNone: true},
	"event": {valid: encodeEvent(&tally.Event{App: 1<<32 - 1, GroupID: "g", Kind: tally.EventAfterGroupCounterChanged,
		ClientIP: "::1", Time: -1 << 63, Body: []byte(`{"a":1}`)}),
		decode: func(b []byte) (any, error) { return decodeEvent(1, b) }},
	"group": {valid: testGroupRecord.encode(), decode: func(b []byte) (any, error) { return decodeGroupRecord("g", b) }},
	"member": {valid: appendMember(nil, &testMember), decode: func(b []byte) (any, error) {
		return decodeMember(testMember.Account, b)
	}},
	"order": {valid: encodeOrder(nil, &testMember), decode: func(b []byte) (any, error) { return decodeOrder(b) }},
	"joined": {valid: encodeJoined(nil, &testGroupRecord.Group, &testMember), decode: func(b []byte) (any, error) {
		return decodeJoined(testMember.Account, b)
	}},
}

func TestEncodingRoundTrips(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"group", must(decodeGroupRecord("g", testGroupRecord.encode())), &testGroupRecord},
		{"member", must(decodeMember(testMember.Account, appendMember(nil, &testMember))), testMember},
		{"order", must(decodeOrder(encodeOrder(nil, &testMember))), testMember},
		{"joined", must(decodeJoined(testMember.Account, encodeJoined(nil, &testGroupRecord.Group, &testMember))), testMember},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: decoded %+v, want %+v", c.name, c.got, c.want)
		}
	}
	// No custom fields decode as nil, which tally.ApplyGroupChange's
	// comparison tells from an empty slice.
	g := testGroupRecord
	g.AppDefinedData = []tally.CustomField{}
	if r, err := decodeGroupRecord("g", g.encode()); err != nil || r.AppDefinedData != nil {
		t.Errorf("no custom fields decode as %#v, %v; want nil", r.AppDefinedData, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestDecodersRejectDamage feeds every decoder every truncation of a valid
// record, and the record with a byte too many: each is errCorrupt.
func TestDecodersRejectDamage(t *testing.T) {
	for name, d := range decoders {
		for n := range len(d.valid) {
			if n == 0 && d.emptyIsNone {
				continue
			}
			if _, err := d.decode(d.valid[:n]); !errors.Is(err, errCorrupt) {
				t.Errorf("%s cut to %d of %d bytes: %v, want errCorrupt", name, n, len(d.valid), err)
			}
		}
		if _, err := d.decode(append(d.valid[:len(d.valid):len(d.valid)], 0)); !errors.Is(err, errCorrupt) {
			t.Errorf("%s with a byte too many: %v, want errCorrupt", name, err)
		}
	}
}

// FuzzDecoders checks that no input makes a decoder panic, and that each
// refuses what it cannot decode as corrupt.
func FuzzDecoders(f *testing.F) {
	for _, d := range decoders {
		f.Add(d.valid)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for name, d := range decoders {
			if _, err := d.decode(b); err != nil && !errors.Is(err, errCorrupt) {
				t.Errorf("%s %q: %v, want errCorrupt", name, b, err)
			}
		}
	})
}
