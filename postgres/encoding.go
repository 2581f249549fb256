package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tallyserver/tally"
)

// Lists that the schema keeps in one bytea column, custom fields and
// counters, use one encoding: for each entry, its key as a uvarint length
// and bytes, then its value, as a uvarint length and bytes for a field and
// 8 bytes big-endian for a counter. It keeps values byte for byte, NUL
// included, which jsonb would not.

var errCorrupt = errors.New("postgres: stored value is corrupt")

// encodeFields encodes custom fields, in order.
func encodeFields(fs []tally.CustomField) []byte {
	b := []byte{}
	for _, f := range fs {
		b = binary.AppendUvarint(b, uint64(len(f.Key)))
		b = append(b, f.Key...)
		b = binary.AppendUvarint(b, uint64(len(f.Value)))
		b = append(b, f.Value...)
	}
	return b
}

// decodeFields decodes what encodeFields made; nil for none.
func decodeFields(b []byte) ([]tally.CustomField, error) {
	var out []tally.CustomField
	for len(b) > 0 {
		k, rest, err := lengthPrefixed(b)
		if err != nil {
			return nil, err
		}
		v, rest, err := lengthPrefixed(rest)
		if err != nil {
			return nil, err
		}
		out = append(out, tally.CustomField{Key: string(k), Value: string(v)})
		b = rest
	}
	return out, nil
}

// encodeCounters encodes counters, sorted by key as ApplyCounters keeps them.
func encodeCounters(cs []tally.Counter) []byte {
	b := []byte{}
	for _, c := range cs {
		b = binary.AppendUvarint(b, uint64(len(c.Key)))
		b = append(b, c.Key...)
		b = binary.BigEndian.AppendUint64(b, uint64(c.Value))
	}
	return b
}

// decodeCounters decodes what encodeCounters made; nil for none.
func decodeCounters(b []byte) ([]tally.Counter, error) {
	var out []tally.Counter
	for len(b) > 0 {
		k, rest, err := lengthPrefixed(b)
		if err != nil {
			return nil, err
		}
		if len(rest) < 8 {
			return nil, errCorrupt
		}
		out = append(out, tally.Counter{Key: string(k), Value: int64(binary.BigEndian.Uint64(rest))})
		b = rest[8:]
	}
	return out, nil
}

// lengthPrefixed splits b into the bytes its uvarint length prefix covers
// and what follows.
func lengthPrefixed(b []byte) (v, rest []byte, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, errCorrupt
	}
	return b[w : w+int(n)], b[w+int(n):], nil
}

// joinOption encodes o as 1 + its index in tally.JoinOptions, or 0 for none.
func joinOption(o tally.JoinOption) (int16, error) {
	if o == "" {
		return 0, nil
	}
	for i, x := range tally.JoinOptions {
		if x == o {
			return int16(i + 1), nil
		}
	}
	return 0, fmt.Errorf("postgres: join option %q is not one of tally.JoinOptions", o)
}

func decodeJoinOption(n int16) (tally.JoinOption, error) {
	if n == 0 {
		return "", nil
	}
	if n < 0 || int(n) > len(tally.JoinOptions) {
		return "", fmt.Errorf("%w: join option %d", errCorrupt, n)
	}
	return tally.JoinOptions[n-1], nil
}

func decodeType(n int16) (tally.GroupType, error) {
	if n < 0 || int(n) >= len(tally.GroupTypes) {
		return "", fmt.Errorf("%w: group type %d", errCorrupt, n)
	}
	return tally.GroupTypes[n], nil
}

// groupColumns are the columns of tally_groups that make a tally.Group, in
// the order scanGroup reads them.
const groupColumns = `id, type, name, owner, create_time, introduction, notification, face_url,
	max_member_num, apply_join, invite_join, mute_all, support_topic, app_data,
	info_seq, last_info_time, member_num`

// prefixed returns a list of columns with each qualified by prefix.
func prefixed(prefix, columns string) string {
	fields := strings.Split(columns, ",")
	for i, f := range fields {
		fields[i] = prefix + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// groupRow holds a row of tally_groups as scanned.
type groupRow struct {
	id, name, owner, intro, note, face, data []byte
	typ, apply, invite                       int16
	createTime, maxMembers                   int64
	muteAll, topic                           bool
	infoSeq, lastInfo, memberNum             int64
}

// dest returns where Scan puts groupColumns, followed by more.
func (r *groupRow) dest(more ...any) []any {
	return append([]any{&r.id, &r.typ, &r.name, &r.owner, &r.createTime, &r.intro, &r.note, &r.face,
		&r.maxMembers, &r.apply, &r.invite, &r.muteAll, &r.topic, &r.data,
		&r.infoSeq, &r.lastInfo, &r.memberNum}, more...)
}

// group returns the tally.Group the row holds.
func (r *groupRow) group() (*tally.Group, error) {
	g := &tally.Group{
		ID: string(r.id), Name: string(r.name), Owner: string(r.owner), CreateTime: r.createTime,
		Introduction: string(r.intro), Notification: string(r.note), FaceURL: string(r.face),
		MuteAll: r.muteAll, SupportTopic: r.topic,
		InfoSeq: uint64(r.infoSeq), LastInfoTime: r.lastInfo,
	}
	var err error
	if g.Type, err = decodeType(r.typ); err != nil {
		return nil, err
	}
	if g.ApplyJoin, err = decodeJoinOption(r.apply); err != nil {
		return nil, err
	}
	if g.InviteJoin, err = decodeJoinOption(r.invite); err != nil {
		return nil, err
	}
	if r.maxMembers < 0 || r.maxMembers > math.MaxUint32 || r.memberNum < 0 || r.memberNum > math.MaxUint32 {
		return nil, fmt.Errorf("%w: group %q has MaxMemberNum %d and MemberNum %d", errCorrupt, g.ID, r.maxMembers, r.memberNum)
	}
	g.MaxMemberNum, g.MemberNum = uint32(r.maxMembers), uint32(r.memberNum)
	if g.AppDefinedData, err = decodeFields(r.data); err != nil {
		return nil, fmt.Errorf("group %q AppDefinedData: %w", g.ID, err)
	}
	return g, nil
}

// scanGroup scans a row of groupColumns, then more.
func scanGroup(row pgx.Row, more ...any) (*tally.Group, error) {
	var r groupRow
	if err := row.Scan(r.dest(more...)...); err != nil {
		return nil, err
	}
	return r.group()
}

// groupValues returns the values of g for groupColumns other than id and
// type, in their order, which are the columns a change of the group sets.
func groupValues(g *tally.Group) ([]any, error) {
	apply, err := joinOption(g.ApplyJoin)
	if err != nil {
		return nil, err
	}
	invite, err := joinOption(g.InviteJoin)
	if err != nil {
		return nil, err
	}
	return []any{bs(g.Name), bs(g.Owner), g.CreateTime, bs(g.Introduction), bs(g.Notification), bs(g.FaceURL),
		int64(g.MaxMemberNum), apply, invite, g.MuteAll, g.SupportTopic, encodeFields(g.AppDefinedData),
		int64(g.InfoSeq), g.LastInfoTime, int64(g.MemberNum)}, nil
}

// memberColumns are the columns of tally_members that make a tally.Member.
const memberColumns = `account, seq, role, join_time, data`

// scanMember scans a row of memberColumns, then more.
func scanMember(row pgx.Row, more ...any) (tally.Member, error) {
	var (
		account, data []byte
		seq, join     int64
		role          int16
	)
	if err := row.Scan(append([]any{&account, &seq, &role, &join, &data}, more...)...); err != nil {
		return tally.Member{}, err
	}
	m := tally.Member{Account: string(account), Seq: uint64(seq), JoinTime: join}
	if role <= int16(tally.RoleNone) || int(role) >= len(tally.Roles) {
		return m, fmt.Errorf("%w: member %q has role %d", errCorrupt, m.Account, role)
	}
	m.Role = tally.Role(role)
	var err error
	if m.AppDefinedData, err = decodeFields(data); err != nil {
		return m, fmt.Errorf("member %q AppMemberDefinedData: %w", m.Account, err)
	}
	return m, nil
}

// bytesOf returns ss as the bytea values the schema keeps them as.
func bytesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = bs(s)
	}
	return out
}

// bs returns s as a bytea value: never nil, which pgx would send as NULL.
func bs(s string) []byte {
	return append([]byte{}, s...)
}
