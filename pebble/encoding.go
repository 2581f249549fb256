package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/tallyserver/tally"
)

// The keyspace. Every key starts with a tag byte and the app's sdkappid in
// big-endian, so that one app's keys of one kind are contiguous:
//
//	tagApp    app                          -> appRecord
//	tagGroup  app groupID                  -> group record
//	tagList   app seq(8, BE)               -> type index byte, groupID
//	tagCount  app groupID                  -> Seq and counters of the group, sorted by key
//	tagMember app groupID 0x00 account     -> member record
//	tagOrder  app groupID 0x00 seq(8, BE)  -> account, member record
//	tagJoined app len(account) account joinTime(8, BE, sign bit flipped) groupID
//	                                       -> type index byte, flags, member record
//	tagFormat                              -> format of the stored records
//	tagOutbox id(8, BE)                    -> after-event (outbox.go)
//	tagOutboxMark                          -> greatest event ID handed out when events were last deleted
//
// A group's id is the rest of its key, so ids need no escaping; where
// something follows the id, 0x00 ends it, which no id holds (ids are
// printable ASCII). An account is any 1..32 bytes of UTF-8, so where
// something follows it, its length comes first.
//
// A member is kept three times, each a complete copy of its record, so
// that each question is one scan without point reads: by account, for
// lookups and changes (tagMember); in join order, for member pages, owner
// first since the owner gets Seq 1 at create (tagOrder); and in the
// user's list of groups, ordered by JoinTime then groupID as
// get_joined_group_list wants it (tagJoined). All three are written and
// removed in one batch under the group's latch, with the group record,
// whose MemberNum and next Seq they change. A member's type index and
// SupportTopic flag in tagJoined are the group's, which never change.
const (
	tagApp    byte = 1
	tagGroup  byte = 2
	tagList   byte = 3
	tagCount  byte = 4
	tagMember byte = 5
	tagOrder  byte = 6
	tagJoined byte = 7
	tagFormat byte = 8
	tagOutbox byte = 9
	// tagOutboxMark sorts after the outbox, whose scans end at
	// tagOutbox+1 and would take it for a corrupt event.
	tagOutboxMark byte = 10
)

func appKey(app uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{tagApp}, app)
}

func groupKey(tag byte, app uint32, id string) []byte {
	k := make([]byte, 0, 5+len(id))
	k = append(k, tag)
	k = binary.BigEndian.AppendUint32(k, app)
	return append(k, id...)
}

func listKey(app uint32, seq uint64) []byte {
	k := binary.BigEndian.AppendUint32([]byte{tagList}, app)
	return binary.BigEndian.AppendUint64(k, seq)
}

// membersPrefix is the start of every tagMember or tagOrder key of a
// group.
func membersPrefix(tag byte, app uint32, id string) []byte {
	return appendMembersPrefix(make([]byte, 0, 6+len(id)+8), tag, app, id)
}

func appendMembersPrefix(k []byte, tag byte, app uint32, id string) []byte {
	k = append(k, tag)
	k = binary.BigEndian.AppendUint32(k, app)
	k = append(k, id...)
	return append(k, 0)
}

func appendMemberKey(k []byte, app uint32, id, account string) []byte {
	return append(appendMembersPrefix(k, tagMember, app, id), account...)
}

func orderKey(app uint32, id string, seq uint64) []byte {
	return appendOrderKey(make([]byte, 0, 6+len(id)+8), app, id, seq)
}

func appendOrderKey(k []byte, app uint32, id string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(appendMembersPrefix(k, tagOrder, app, id), seq)
}

// joinedPrefix is the start of every tagJoined key of an account.
func joinedPrefix(app uint32, account string) []byte {
	return appendJoinedPrefix(make([]byte, 0, 6+len(account)), app, account)
}

func appendJoinedPrefix(k []byte, app uint32, account string) []byte {
	k = append(k, tagJoined)
	k = binary.BigEndian.AppendUint32(k, app)
	k = append(k, byte(len(account)))
	return append(k, account...)
}

func appendJoinedKey(k []byte, app uint32, account string, joinTime int64, id string) []byte {
	k = appendJoinedPrefix(k, app, account)
	k = binary.BigEndian.AppendUint64(k, uint64(joinTime)^(1<<63))
	return append(k, id...)
}

// parseJoinedKey returns the join time and group of a tagJoined key whose
// prefix, of n bytes, names the account.
func parseJoinedKey(k []byte, n int) (joinTime int64, id string, err error) {
	if len(k) < n+8+1 {
		return 0, "", errCorrupt
	}
	return int64(binary.BigEndian.Uint64(k[n:]) ^ (1 << 63)), string(k[n+8:]), nil
}

// formatKey holds the format of the stored records, so that Open knows
// without a scan whether records of an older release may remain.
func formatKey() []byte { return []byte{tagFormat} }

// prefixEnd returns the least key that follows every key starting with
// prefix, or nil if there is none.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte{}, prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

var errCorrupt = errors.New("pebble: corrupt record")

// appRecord holds what the app's group list needs without a scan: the
// sequence number of its newest group and how many groups of each type it
// holds.
type appRecord struct {
	seq    uint64
	counts [5]uint64 // Indexed by tally.GroupType.Index.
}

func (r *appRecord) encode() []byte {
	b := binary.AppendUvarint(nil, r.seq)
	for _, n := range r.counts {
		b = binary.AppendUvarint(b, n)
	}
	return b
}

func decodeAppRecord(b []byte) (appRecord, error) {
	var r appRecord
	d := decoder{b: b}
	r.seq = d.uvarint()
	for i := range r.counts {
		r.counts[i] = d.uvarint()
	}
	return r, d.done()
}

// groupRecord is a group as stored: its public fields, the sequence number
// that places it in the app's group list, and the Seq its next member gets.
type groupRecord struct {
	seq uint64
	tally.Group
	nextMember uint64
}

// The bits of a group record's flags byte, and of a tagJoined value's.
const (
	flagMuteAll      = 1 << 0
	flagSupportTopic = 1 << 1
	knownFlags       = flagMuteAll | flagSupportTopic
)

func (r *groupRecord) encode() []byte {
	b := binary.AppendUvarint(nil, r.seq)
	b = append(b, byte(r.Type.Index()))
	b = binary.AppendVarint(b, r.CreateTime)
	b = binary.AppendUvarint(b, uint64(r.MaxMemberNum))
	for _, s := range []string{r.Name, r.Owner, r.Introduction, r.Notification, r.FaceURL} {
		b = appendString(b, s)
	}
	// The fields added since the first release follow its fields, so that
	// a record of that release is told by ending here (migrate.go).
	b = append(b, joinOptionByte(r.ApplyJoin), joinOptionByte(r.InviteJoin), groupFlags(&r.Group))
	b = appendFields(b, r.AppDefinedData)
	b = binary.AppendUvarint(b, r.InfoSeq)
	b = binary.AppendVarint(b, r.LastInfoTime)
	b = binary.AppendUvarint(b, uint64(r.MemberNum))
	return binary.AppendUvarint(b, r.nextMember)
}

func groupFlags(g *tally.Group) byte {
	var f byte
	if g.MuteAll {
		f |= flagMuteAll
	}
	if g.SupportTopic {
		f |= flagSupportTopic
	}
	return f
}

// decodeGroupRecord decodes a group record. One of the first release, which
// Open upgrades before the store serves, is corrupt here.
func decodeGroupRecord(id string, b []byte) (*groupRecord, error) {
	r, old, err := decodeAnyGroupRecord(id, b)
	if err == nil && old {
		err = fmt.Errorf("%w: group %q is in the first release's format", errCorrupt, id)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// decodeAnyGroupRecord decodes a group record of this release or, telling
// it by its end (old), of the first, which holds only the fields up to
// FaceURL.
func decodeAnyGroupRecord(id string, b []byte) (r *groupRecord, old bool, err error) {
	d := decoder{b: b}
	r = &groupRecord{seq: d.uvarint()}
	r.ID = id
	r.Type = d.groupType()
	r.CreateTime = d.varint()
	r.MaxMemberNum = d.uint32()
	for _, s := range []*string{&r.Name, &r.Owner, &r.Introduction, &r.Notification, &r.FaceURL} {
		*s = d.string()
	}
	if d.err == nil && len(d.b) == 0 {
		return r, true, nil
	}
	r.ApplyJoin = d.joinOption()
	r.InviteJoin = d.joinOption()
	flags := d.byte()
	if flags&^knownFlags != 0 {
		d.fail()
	}
	r.MuteAll, r.SupportTopic = flags&flagMuteAll != 0, flags&flagSupportTopic != 0
	r.AppDefinedData = d.fields(tally.MaxGroupFields)
	r.InfoSeq = d.uvarint()
	r.LastInfoTime = d.varint()
	r.MemberNum = d.uint32()
	r.nextMember = d.uvarint()
	return r, false, d.done()
}

// groupType decodes just the type of a group record; counter calls need no
// more of it.
func groupRecordType(b []byte) (tally.GroupType, error) {
	d := decoder{b: b}
	d.uvarint()
	t := d.groupType()
	return t, d.err
}

// A counters record holds a group's Seq and its counters: the marker
// byte countersSeq, the Seq as a uvarint, then the counters as releases
// before Seq stored them, their number as a uvarint and each key and
// value. A record of those releases starts at that number, which is at
// most 20 and so a single byte below 0x80, where countersSeq is not: it
// reads as Seq 0, and the group's next change writes it anew. A group
// whose counters were all deleted keeps its record, with its Seq and no
// counters, so that its Seq goes on from where it was.
const countersSeq = 0xC0

func encodeCounters(seq uint64, cs []tally.Counter) []byte {
	return appendCounters(make([]byte, 0, maxCountersLen(cs)), seq, cs)
}

// maxCountersLen is the most bytes a counters record of cs may take.
func maxCountersLen(cs []tally.Counter) int {
	n := 1 + binary.MaxVarintLen64 + 1
	for _, c := range cs {
		n += 2 + len(c.Key) + binary.MaxVarintLen64
	}
	return n
}

// appendCounters appends the counters record of seq and cs to b.
func appendCounters(b []byte, seq uint64, cs []tally.Counter) []byte {
	b = append(b, countersSeq)
	b = binary.AppendUvarint(b, seq)
	b = binary.AppendUvarint(b, uint64(len(cs)))
	for _, c := range cs {
		b = appendString(b, c.Key)
		b = binary.AppendVarint(b, c.Value)
	}
	return b
}

// decodeCounters decodes a counters record, of this release or an
// earlier one. No record (an empty one) holds Seq 0 and no counters, as a
// group that has never had any; so do no counters, which decode as nil.
func decodeCounters(b []byte) (seq uint64, cs []tally.Counter, err error) {
	if len(b) == 0 {
		return 0, nil, nil
	}
	return decodeCountersFrom(decoder{b: b})
}

// decodeCountersShared is decodeCounters with every key a substring of
// one copy of b: one allocation for all the keys rather than one each,
// for records decoded on every call (cache.go).
func decodeCountersShared(b []byte) (seq uint64, cs []tally.Counter, err error) {
	if len(b) == 0 {
		return 0, nil, nil
	}
	return decodeCountersFrom(decoder{b: b, whole: string(b)})
}

func decodeCountersFrom(d decoder) (seq uint64, cs []tally.Counter, err error) {
	seq = d.countersSeq()
	n := d.uvarint()
	if n > tally.MaxCountersPerGroup {
		return 0, nil, fmt.Errorf("%w: %d counters", errCorrupt, n)
	}
	if n > 0 {
		cs = make([]tally.Counter, n)
	}
	for i := range cs {
		cs[i] = tally.Counter{Key: d.string(), Value: d.varint()}
	}
	if err := d.done(); err != nil {
		return 0, nil, err
	}
	return seq, cs, nil
}

// countersLen returns how many counters a counters record holds, reading
// only what comes before them, for those that need the number and not the
// counters. An empty record, like decodeCounters's, holds none.
func countersLen(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	d := decoder{b: b}
	d.countersSeq()
	n := d.uvarint()
	return int64(n), d.err
}

// countersSeq reads the start of a counters record: its Seq, or 0 for a
// record of a release before Seq, which starts right at its counters.
func (d *decoder) countersSeq() uint64 {
	if len(d.b) == 0 || d.b[0] != countersSeq {
		return 0
	}
	d.b = d.b[1:]
	return d.uvarint()
}

// A member record holds a member's fields but its account, which the key
// holds, or the tagOrder value before it.
func appendMember(b []byte, m *tally.Member) []byte {
	b = append(b, byte(m.Role))
	b = binary.AppendVarint(b, m.JoinTime)
	b = binary.AppendUvarint(b, m.Seq)
	return appendFields(b, m.AppDefinedData)
}

func (d *decoder) member(account string) tally.Member {
	m := tally.Member{Account: account, Role: d.role()}
	m.JoinTime = d.varint()
	m.Seq = d.uvarint()
	m.AppDefinedData = d.fields(tally.MaxMemberFields)
	return m
}

func decodeMember(account string, b []byte) (tally.Member, error) {
	d := decoder{b: b}
	m := d.member(account)
	return m, d.done()
}

// encodeOrder returns the tagOrder value of m: its account, then its
// record, so that a member page needs nothing else.
func encodeOrder(b []byte, m *tally.Member) []byte {
	return appendMember(appendString(b, m.Account), m)
}

// orderRole returns the role of a tagOrder value without decoding the
// rest, for the pages that skip members by role.
func orderRole(b []byte) (tally.Role, error) {
	d := decoder{b: b}
	d.string()
	r := d.role()
	return r, d.err
}

func decodeOrder(b []byte) (tally.Member, error) {
	d := decoder{b: b}
	m := d.member(d.string())
	return m, d.done()
}

// encodeJoined returns the tagJoined value of m in g: what a user's list
// of groups filters on, then the member record.
func encodeJoined(b []byte, g *tally.Group, m *tally.Member) []byte {
	b = append(b, byte(g.Type.Index()), groupFlags(g)&flagSupportTopic)
	return appendMember(b, m)
}

// decodeJoined decodes a tagJoined value, whose first two bytes, the
// group's type index and flags, JoinedGroups filters on before it decodes.
func decodeJoined(account string, b []byte) (tally.Member, error) {
	d := decoder{b: b}
	d.groupType()
	if d.byte()&^flagSupportTopic != 0 {
		d.fail()
	}
	m := d.member(account)
	return m, d.done()
}

// joinOptionByte encodes o as 1 + its place in tally.JoinOptions, and ""
// as 0. An option that is not one of them, which CreateGroup refuses
// (checkGroup), encodes as a byte that decodes as corrupt.
func joinOptionByte(o tally.JoinOption) byte {
	if o == "" {
		return 0
	}
	for i, x := range tally.JoinOptions {
		if x == o {
			return byte(1 + i)
		}
	}
	return 0xff
}

// appendFields appends custom fields: their number, then each key and
// value.
func appendFields(b []byte, fs []tally.CustomField) []byte {
	b = binary.AppendUvarint(b, uint64(len(fs)))
	for _, f := range fs {
		b = appendString(b, f.Key)
		b = appendString(b, f.Value)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads a record, remembering the first error so that decoding
// code reads as a list of fields.
type decoder struct {
	b   []byte
	err error
	// whole, when set, is a copy of the whole record, of which b is
	// always the rest: strings are cut from it rather than copied.
	whole string
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	var s string
	if d.whole != "" {
		at := len(d.whole) - len(d.b)
		s = d.whole[at : at+int(n)]
	} else {
		s = string(d.b[:n])
	}
	d.b = d.b[n:]
	return s
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail()
		return 0
	}
	return uint32(v)
}

func (d *decoder) joinOption() tally.JoinOption {
	c := d.byte()
	switch {
	case c == 0:
		return ""
	case int(c) > len(tally.JoinOptions):
		d.fail()
		return ""
	}
	return tally.JoinOptions[c-1]
}

func (d *decoder) role() tally.Role {
	r := tally.Role(d.byte())
	if r < tally.RoleMember || r > tally.RoleOwner {
		d.fail()
		return tally.RoleNone
	}
	return r
}

// fields decodes custom fields, of which a record holds at most limit;
// none decode as nil, as tally.SetCustomFields leaves them, so that a group
// read back compares equal to the one written.
func (d *decoder) fields(limit int) []tally.CustomField {
	n := d.uvarint()
	if n > uint64(limit) {
		d.fail()
		return nil
	}
	if n == 0 || d.err != nil {
		return nil
	}
	fs := make([]tally.CustomField, n)
	for i := range fs {
		fs[i] = tally.CustomField{Key: d.string(), Value: d.string()}
	}
	return fs
}

func (d *decoder) groupType() tally.GroupType {
	if len(d.b) == 0 || int(d.b[0]) >= len(tally.GroupTypes) {
		d.fail()
		return ""
	}
	t := tally.GroupTypes[d.b[0]]
	d.b = d.b[1:]
	return t
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return d.err
}
