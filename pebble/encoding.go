package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tallyserver/tally"
)

// The keyspace. Every key starts with a tag byte and the app's sdkappid in
// big-endian, so that one app's keys of one kind are contiguous:
//
//	tagApp   app                -> appRecord
//	tagGroup app groupID        -> group record
//	tagList  app seq(8, BE)     -> type index byte, groupID
//	tagCount app groupID        -> counters of the group, sorted by key
//
// A group's id is the rest of its key, so ids need no escaping.
const (
	tagApp   byte = 1
	tagGroup byte = 2
	tagList  byte = 3
	tagCount byte = 4
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

// groupRecord is a group as stored: its public fields and the sequence
// number that places it in the app's group list.
type groupRecord struct {
	seq uint64
	tally.Group
}

func (r *groupRecord) encode() []byte {
	b := binary.AppendUvarint(nil, r.seq)
	b = append(b, byte(r.Type.Index()))
	b = binary.AppendVarint(b, r.CreateTime)
	b = binary.AppendUvarint(b, uint64(r.MaxMemberCount))
	for _, s := range []string{r.Name, r.Owner, r.Introduction, r.Notification, r.FaceURL} {
		b = appendString(b, s)
	}
	return b
}

func decodeGroupRecord(id string, b []byte) (*groupRecord, error) {
	d := decoder{b: b}
	r := &groupRecord{seq: d.uvarint()}
	r.ID = id
	r.Type = d.groupType()
	r.CreateTime = d.varint()
	r.MaxMemberCount = uint32(d.uvarint())
	for _, s := range []*string{&r.Name, &r.Owner, &r.Introduction, &r.Notification, &r.FaceURL} {
		*s = d.string()
	}
	return r, d.done()
}

// groupType decodes just the type of a group record; counter calls need no
// more of it.
func groupRecordType(b []byte) (tally.GroupType, error) {
	d := decoder{b: b}
	d.uvarint()
	t := d.groupType()
	return t, d.err
}

func encodeCounters(cs []tally.Counter) []byte {
	n := 1
	for _, c := range cs {
		n += 2 + len(c.Key) + binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = binary.AppendUvarint(b, uint64(len(cs)))
	for _, c := range cs {
		b = appendString(b, c.Key)
		b = binary.AppendVarint(b, c.Value)
	}
	return b
}

func decodeCounters(b []byte) ([]tally.Counter, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := decoder{b: b}
	n := d.uvarint()
	if n > tally.MaxCountersPerGroup {
		return nil, fmt.Errorf("%w: %d counters", errCorrupt, n)
	}
	cs := make([]tally.Counter, n)
	for i := range cs {
		cs[i] = tally.Counter{Key: d.string(), Value: d.varint()}
	}
	return cs, d.done()
}

// countersLen returns how many counters a counters record holds, reading
// only the count at its start, for those that need the number and not the
// counters. An empty record, like decodeCounters's, holds none.
func countersLen(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	d := decoder{b: b}
	n := d.uvarint()
	return int64(n), d.err
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
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
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
