package pebble

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
)

// AddMembers implements tally.Store.
func (s *Store) AddMembers(ctx context.Context, app uint32, id string, accounts []string, now int64) ([]tally.AddResult, error) {
	for _, a := range accounts {
		// A longer account would not fit the length byte of its
		// tagJoined key; the caller has checked them, so this is a bug.
		if len(a) == 0 || len(a) > tally.MaxUserIDLen {
			return nil, fmt.Errorf("pebble: account %q is not a valid UserID", a)
		}
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()

	var results []tally.AddResult
	err := s.under(func() (*pebble.Batch, error) {
		rec, err := s.group(app, id)
		if err != nil {
			return nil, err
		}
		// PlanAdd checks this too, but only after the reads below, which
		// an AVChatRoom need not pay for.
		if err := rec.CheckMemberCall(tally.AddMembersCall); err != nil {
			return nil, err
		}
		found, err := s.lookup(app, id, accounts)
		if err != nil {
			return nil, err
		}
		member := make([]bool, len(accounts))
		for i, m := range found {
			member[i] = m != nil
		}
		res, added, next, err := tally.PlanAdd(&rec.Group, accounts, member, now)
		if err != nil {
			return nil, err
		}
		results = res
		if len(added) == 0 {
			return nil, nil
		}
		rec.Group = *next
		b := s.db.NewBatch()
		w := memberWriter{b: b, app: app, g: &rec.Group}
		for i := range added {
			added[i].Seq = rec.nextMember
			rec.nextMember++
			w.put(&added[i])
		}
		b.Set(groupKey(tagGroup, app, id), rec.encode(), nil)
		if o, ok := tally.OriginOf(ctx, tally.EventAfterNewMemberJoin); ok {
			s.record(b, tally.NewMemberJoinEvent(app, o, &rec.Group, accountsOf(added)))
		}
		return b, nil
	}, s.groupLatch(app, id))
	if err != nil {
		return nil, err
	}
	return results, nil
}

// DeleteMembers implements tally.Store.
func (s *Store) DeleteMembers(ctx context.Context, app uint32, id string, accounts []string, now int64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()

	return s.under(func() (*pebble.Batch, error) {
		rec, err := s.group(app, id)
		if err != nil {
			return nil, err
		}
		if err := rec.CheckMemberCall(tally.DeleteMembersCall); err != nil {
			return nil, err
		}
		members, err := s.lookup(app, id, accounts)
		if err != nil {
			return nil, err
		}
		removed, next, err := tally.PlanDelete(&rec.Group, members, now)
		if err != nil || len(removed) == 0 {
			return nil, err
		}
		rec.Group = *next
		b := s.db.NewBatch()
		w := memberWriter{b: b, app: app, g: &rec.Group}
		for i := range removed {
			w.delete(&removed[i])
		}
		b.Set(groupKey(tagGroup, app, id), rec.encode(), nil)
		if o, ok := tally.OriginOf(ctx, tally.EventAfterMemberExit); ok {
			s.record(b, tally.MemberExitEvent(app, o, &rec.Group, accountsOf(removed)))
		}
		return b, nil
	}, s.groupLatch(app, id))
}

// Members implements tally.Store.
func (s *Store) Members(ctx context.Context, app uint32, id string, q tally.MemberQuery) (tally.MemberPage, error) {
	if err := s.enter(); err != nil {
		return tally.MemberPage{}, err
	}
	defer s.closeMu.RUnlock()

	var rec *groupRecord
	var it *pebble.Iterator
	// The iterator reads the view the record was read in, so the latch
	// is needed only while both are made.
	err := s.under(func() (_ *pebble.Batch, err error) {
		if rec, err = s.group(app, id); err != nil {
			return nil, err
		}
		if err := rec.CheckMemberCall(tally.ReadMembersCall); err != nil {
			return nil, err
		}
		var from uint64
		if rec.Type == tally.GroupCommunity {
			if q.After == math.MaxUint64 {
				return nil, nil // No member can follow the last possible cursor.
			}
			from = q.After + 1
		}
		it, err = s.orderIter(app, id, from)
		return nil, err
	}, s.groupLatch(app, id))
	if it != nil {
		defer it.Close()
	}
	if err != nil {
		return tally.MemberPage{}, err
	}
	page := tally.MemberPage{Group: &rec.Group}
	if it == nil {
		return page, nil
	}
	limit := q.Limit
	if rec.Type == tally.GroupCommunity {
		// A Community pages by cursor, and by a page of its own when
		// the query names none.
		q.Offset = 0
		if limit == 0 {
			limit = tally.DefaultCommunityPage
		}
	} else if limit == 0 {
		limit = -1
	}
	var next uint64
	page.Members, next, err = scanMembers(it, q, limit)
	if err != nil {
		return tally.MemberPage{}, err
	}
	if rec.Type == tally.GroupCommunity {
		page.Next = next
	}
	return page, nil
}

// Roles implements tally.Store.
func (s *Store) Roles(ctx context.Context, app uint32, id string, accounts []string) ([]tally.Role, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()

	roles := make([]tally.Role, len(accounts))
	err := s.under(func() (*pebble.Batch, error) {
		rec, err := s.group(app, id)
		if err != nil {
			return nil, err
		}
		if err := rec.CheckMemberCall(tally.ReadMembersCall); err != nil {
			return nil, err
		}
		members, err := s.lookup(app, id, accounts)
		if err != nil {
			return nil, err
		}
		for i, m := range members {
			if m != nil {
				roles[i] = m.Role
			}
		}
		return nil, nil
	}, s.groupLatch(app, id))
	if err != nil {
		return nil, err
	}
	return roles, nil
}

// lookup returns the member record of each account, nil for one that is
// not a member. The caller holds the group's latch.
//
// One iterator seeks the accounts in order, rather than one Get each: a
// Get of a key that is not there, as an added account's mostly is, still
// opens each table that might hold it, while the iterator opens them once
// and its seeks move forward through the blocks it has read. In a group
// of 100,000 members this makes adding 300 four times as fast
// (BenchmarkMembers).
func (s *Store) lookup(app uint32, id string, accounts []string) ([]*tally.Member, error) {
	order := make([]int, len(accounts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(accounts[a], accounts[b]) })
	prefix := membersPrefix(tagMember, app, id)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	members := make([]*tally.Member, len(accounts))
	key := prefix
	for _, i := range order {
		key = append(key[:len(prefix)], accounts[i]...)
		if !it.SeekGE(key) || !bytes.Equal(it.Key(), key) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		m, err := decodeMember(accounts[i], v)
		if err != nil {
			return nil, err
		}
		members[i] = &m
	}
	return members, it.Error()
}

// orderIter returns an iterator over the group's members in join order,
// from Seq from on. The caller holds the group's latch, so that the
// iterator reads the view in which the caller read the group.
func (s *Store) orderIter(app uint32, id string, from uint64) (*pebble.Iterator, error) {
	prefix := membersPrefix(tagOrder, app, id)
	return s.db.NewIter(&pebble.IterOptions{
		LowerBound: orderKey(app, id, from),
		UpperBound: prefixEnd(prefix),
	})
}

// scanMembers returns the members of q.Roles that it finds from the
// iterator's start, skipping q.Offset of them first and keeping at most
// limit (all when limit is negative). next is the Seq of the last member
// kept when another member of q.Roles follows it, and 0 otherwise.
// Members of other roles are skipped without decoding their records.
func scanMembers(it *pebble.Iterator, q tally.MemberQuery, limit int) (members []tally.Member, next uint64, err error) {
	skip := q.Offset
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, err
		}
		if len(q.Roles) > 0 {
			r, err := orderRole(v)
			if err != nil {
				return nil, 0, err
			}
			if !slices.Contains(q.Roles, r) {
				continue
			}
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(members) == limit {
			return members, members[len(members)-1].Seq, nil
		}
		m, err := decodeOrder(v)
		if err != nil {
			return nil, 0, err
		}
		if k := it.Key(); len(k) < 8 || binary.BigEndian.Uint64(k[len(k)-8:]) != m.Seq {
			return nil, 0, fmt.Errorf("%w: member %q is at the wrong place", errCorrupt, m.Account)
		}
		members = append(members, m)
	}
	return members, 0, it.Error()
}

// memberWriter adds the keys of members of one group to a batch, or
// removes them; the batch copies each key and value, so its buffers serve
// every member.
type memberWriter struct {
	b        *pebble.Batch
	app      uint32
	g        *tally.Group
	key, val []byte
}

// put writes m's three keys (encoding.go).
func (w *memberWriter) put(m *tally.Member) {
	w.key = appendMemberKey(w.key[:0], w.app, w.g.ID, m.Account)
	w.val = appendMember(w.val[:0], m)
	w.b.Set(w.key, w.val, nil)

	w.key = appendOrderKey(w.key[:0], w.app, w.g.ID, m.Seq)
	w.val = encodeOrder(w.val[:0], m)
	w.b.Set(w.key, w.val, nil)

	w.key = appendJoinedKey(w.key[:0], w.app, m.Account, m.JoinTime, w.g.ID)
	w.val = encodeJoined(w.val[:0], w.g, m)
	w.b.Set(w.key, w.val, nil)
}

// delete removes m's three keys.
func (w *memberWriter) delete(m *tally.Member) {
	w.key = appendMemberKey(w.key[:0], w.app, w.g.ID, m.Account)
	w.b.Delete(w.key, nil)
	w.key = appendOrderKey(w.key[:0], w.app, w.g.ID, m.Seq)
	w.b.Delete(w.key, nil)
	w.key = appendJoinedKey(w.key[:0], w.app, m.Account, m.JoinTime, w.g.ID)
	w.b.Delete(w.key, nil)
}

// destroyMembers adds to b the removal of every member of a group that is
// being destroyed: each member's tagJoined key, found by scanning its
// member keys, and the group's tagMember and tagOrder keys by range. A
// group without members costs one seek. The caller holds the group's
// latch.
func (s *Store) destroyMembers(b *pebble.Batch, app uint32, id string, keep bool) (kept []tally.Member, _ error) {
	prefix := membersPrefix(tagMember, app, id)
	end := prefixEnd(prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: end})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var key []byte
	found := false
	for it.First(); it.Valid(); it.Next() {
		found = true
		account := string(it.Key()[len(prefix):])
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		m, err := decodeMember(account, v)
		if err != nil {
			return nil, err
		}
		if keep {
			kept = append(kept, m)
		}
		key = appendJoinedKey(key[:0], app, account, m.JoinTime, id)
		b.Delete(key, nil)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if found {
		b.DeleteRange(prefix, end, nil)
		order := membersPrefix(tagOrder, app, id)
		b.DeleteRange(order, prefixEnd(order), nil)
	}
	if keep {
		// The event lists them in join order, as member pages do.
		slices.SortFunc(kept, func(a, b tally.Member) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return kept, nil
}

// accountsOf returns the accounts of members, in order.
func accountsOf(members []tally.Member) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.Account
	}
	return out
}
