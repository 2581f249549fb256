// Package storecheck reads an app whole from any tally.Store, through the
// calls the API makes (ListGroups, Groups with members, Counters), and sums
// it up: how many groups of each type, members and counters it holds, and
// a SHA-256 of a canonical encoding of every group (every field), member
// and counter, in creation order. Reading two stores with the same code
// tells whether a copy from one to the other (tally migrate) is whole and
// exact, without trusting either store's own counts or encoding; the
// check sees what a client would.
package storecheck

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"

	"github.com/tallyserver/tally"
)

// Summary is what Sum and Compare find of an app in one store.
type Summary struct {
	App uint32
	// Groups counts the groups read, by the index of their type in
	// tally.GroupTypes.
	Groups [5]int
	// Members and Counters count the members and the counter keys of
	// all the groups.
	Members, Counters int
	// Sum is the SHA-256 of every group, with its members and counters,
	// in creation order.
	Sum [sha256.Size]byte
}

// Total returns the number of groups, of every type.
func (s Summary) Total() int {
	n := 0
	for _, c := range s.Groups {
		n += c
	}
	return n
}

// String says what the summary counts, and the start of its sum:
//
//	7 groups (2 Private, 2 Public, 1 ChatRoom, 1 AVChatRoom, 1 Community), 56 members, 6 counters, sha256 3f9a0c1e2b7d
func (s Summary) String() string {
	types := make([]string, len(s.Groups))
	for i, n := range s.Groups {
		types[i] = fmt.Sprintf("%d %s", n, tally.GroupTypes[i])
	}
	return fmt.Sprintf("%d groups (%s), %d members, %d counters, sha256 %x",
		s.Total(), strings.Join(types, ", "), s.Members, s.Counters, s.Sum[:6])
}

// Sum reads app whole from s and sums it up. Besides the store's errors,
// it fails when the store contradicts itself: a listed group that cannot
// be read, or totals of ListGroups that differ from what it lists.
func Sum(ctx context.Context, s tally.Store, app uint32) (Summary, error) {
	w := newWalker(s, app)
	for {
		_, ok, err := w.next(ctx)
		if err != nil {
			return Summary{}, err
		}
		if !ok {
			return w.sum, nil
		}
	}
}

// groupSum is what the walk keeps of one group: its id and type, and a
// sum each of its fields, its members and its counters, so that a
// difference can be named.
type groupSum struct {
	id                        string
	typ                       int
	fields, members, counters [sha256.Size]byte
}

// pageSize is how many ids one ListGroups of the walk asks for, and
// lookupSize how many groups one Groups reads, with their members; tests
// make them small, to walk many pages.
var (
	pageSize   = 1000
	lookupSize = 50
)

// walker reads one app of a store group by group, in creation order.
type walker struct {
	s     tally.Store
	app   uint32
	sum   Summary
	total hash.Hash
	// totals are what ListGroups says the app holds of each type, read
	// before the walk; nil until then.
	totals []int
	// cursor is the cursor of the next page, ids the page's ids not
	// yet read, and read the groups read and not yet returned.
	cursor  uint64
	started bool
	ids     []string
	read    []groupSum
	buf     []byte
}

func newWalker(s tally.Store, app uint32) *walker {
	return &walker{s: s, app: app, sum: Summary{App: app}, total: sha256.New()}
}

// next returns the app's next group, or false once there are no more.
func (w *walker) next(ctx context.Context) (groupSum, bool, error) {
	if w.totals == nil {
		if err := w.readTotals(ctx); err != nil {
			return groupSum{}, false, err
		}
	}
	for len(w.read) == 0 {
		if len(w.ids) == 0 {
			if w.started && w.cursor == 0 {
				return groupSum{}, false, w.end()
			}
			page, err := w.s.ListGroups(ctx, w.app, tally.GroupFilter{Next: w.cursor, Limit: pageSize})
			if err != nil {
				return groupSum{}, false, fmt.Errorf("app %d: list groups after %d: %w", w.app, w.cursor, err)
			}
			w.started, w.cursor, w.ids = true, page.Next, page.IDs
			if len(w.ids) == 0 {
				if w.cursor != 0 {
					return groupSum{}, false, fmt.Errorf("app %d: a page of no groups has a next one (%d)", w.app, w.cursor)
				}
				continue
			}
		}
		n := min(len(w.ids), lookupSize)
		if err := w.lookup(ctx, w.ids[:n]); err != nil {
			return groupSum{}, false, err
		}
		w.ids = w.ids[n:]
	}
	g := w.read[0]
	w.read = w.read[1:]
	return g, true, nil
}

// readTotals reads what ListGroups says the app holds of each type.
func (w *walker) readTotals(ctx context.Context) error {
	w.totals = make([]int, len(tally.GroupTypes))
	for i, t := range tally.GroupTypes {
		page, err := w.s.ListGroups(ctx, w.app, tally.GroupFilter{Type: t})
		if err != nil {
			return fmt.Errorf("app %d: count the %s groups: %w", w.app, t, err)
		}
		w.totals[i] = page.Total
	}
	return nil
}

// end checks, once every group is read, that ListGroups's totals agree
// with what it listed.
func (w *walker) end() error {
	for i, n := range w.totals {
		if n != w.sum.Groups[i] {
			return fmt.Errorf("app %d: the store counts %d %s groups, and lists %d", w.app, n, tally.GroupTypes[i], w.sum.Groups[i])
		}
	}
	copy(w.sum.Sum[:], w.total.Sum(nil))
	return nil
}

// lookup reads the groups ids, with their members and counters, and sums
// them.
func (w *walker) lookup(ctx context.Context, ids []string) error {
	res, err := w.s.Groups(ctx, w.app, ids, true)
	if err != nil {
		return fmt.Errorf("app %d: read groups %q: %w", w.app, ids, err)
	}
	if len(res) != len(ids) {
		return fmt.Errorf("app %d: asked for %d groups, and read %d", w.app, len(ids), len(res))
	}
	for i, r := range res {
		if r.Err != nil || r.Group == nil || r.ID != ids[i] || r.Group.ID != ids[i] {
			return fmt.Errorf("app %d: group %q is listed and cannot be read: %v", w.app, ids[i], r.Err)
		}
		g := r.Group
		var cs []tally.Counter
		if g.Type.HasCounters() {
			if cs, err = w.s.Counters(ctx, w.app, g.ID, nil); err != nil {
				return fmt.Errorf("app %d: read the counters of %q: %w", w.app, g.ID, err)
			}
		}
		t := g.Type.Index()
		if t < 0 {
			return fmt.Errorf("app %d: group %q has type %q", w.app, g.ID, g.Type)
		}
		gs := groupSum{id: g.ID, typ: t}
		gs.fields = w.hash(func(b []byte) []byte { return appendGroup(b, g) })
		gs.members = w.hash(func(b []byte) []byte { return appendMembers(b, r.Members) })
		gs.counters = w.hash(func(b []byte) []byte { return appendCounters(b, cs) })
		w.sum.Groups[t]++
		w.sum.Members += len(r.Members)
		w.sum.Counters += len(cs)
		w.total.Write(gs.fields[:])
		w.total.Write(gs.members[:])
		w.total.Write(gs.counters[:])
		w.read = append(w.read, gs)
	}
	return nil
}

// hash returns the SHA-256 of what encode appends.
func (w *walker) hash(encode func([]byte) []byte) [sha256.Size]byte {
	w.buf = encode(w.buf[:0])
	return sha256.Sum256(w.buf)
}

// The canonical encoding: each string as its length (uvarint) and bytes,
// each number as 8 bytes big-endian, each bool as a byte, each list as
// its length and then its entries, fields in the order of the struct.
// Every value is told apart from the next by its length, so that no two
// different groups encode alike, NUL bytes and empty strings included.

func appendGroup(b []byte, g *tally.Group) []byte {
	b = appendString(b, "group/1") // the encoding's version
	for _, s := range []string{g.ID, string(g.Type), g.Name, g.Owner} {
		b = appendString(b, s)
	}
	b = appendInt(b, g.CreateTime)
	for _, s := range []string{g.Introduction, g.Notification, g.FaceURL} {
		b = appendString(b, s)
	}
	b = appendInt(b, int64(g.MaxMemberNum))
	b = appendString(b, string(g.ApplyJoin))
	b = appendString(b, string(g.InviteJoin))
	b = appendBool(b, g.MuteAll)
	b = appendBool(b, g.SupportTopic)
	b = appendFields(b, g.AppDefinedData)
	b = appendInt(b, int64(g.InfoSeq))
	b = appendInt(b, g.LastInfoTime)
	return appendInt(b, int64(g.MemberNum))
}

func appendMembers(b []byte, ms []tally.Member) []byte {
	b = appendString(b, "members/1")
	b = binary.AppendUvarint(b, uint64(len(ms)))
	for _, m := range ms {
		b = appendString(b, m.Account)
		b = appendInt(b, int64(m.Role))
		b = appendInt(b, m.JoinTime)
		b = appendInt(b, int64(m.Seq))
		b = appendFields(b, m.AppDefinedData)
	}
	return b
}

func appendCounters(b []byte, cs []tally.Counter) []byte {
	b = appendString(b, "counters/1")
	b = binary.AppendUvarint(b, uint64(len(cs)))
	for _, c := range cs {
		b = appendString(b, c.Key)
		b = appendInt(b, c.Value)
	}
	return b
}

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

func appendInt(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}
