package pebble

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// CreateGroup implements tally.Store.
func (s *Store) CreateGroup(ctx context.Context, app uint32, g *tally.Group, members []tally.Member) error {
	if err := checkGroup(g, members); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()

	custom := g.ID != ""
	for {
		id := g.ID
		if !custom {
			id = tally.NewGroupID(g.Type)
		}
		rec := groupRecord{Group: *g}
		rec.ID = id
		err := s.under(func() (*pebble.Batch, error) {
			b, err := s.createGroup(app, &rec, members)
			if o, ok := tally.OriginOf(ctx, tally.EventAfterCreateGroup); ok && err == nil {
				s.record(b, tally.CreateGroupEvent(app, o, &rec.Group, members))
			}
			return b, err
		}, s.appLatch(app), s.groupLatch(app, id))
		if tally.ErrorCode(err) == tally.ErrGroupIDInUse && !custom {
			continue // A generated id collided; draw another.
		}
		if err != nil {
			return err
		}
		s.census.changed(1, 0)
		g.ID = id
		return nil
	}
}

// checkGroup refuses, as internal errors, a group that NewGroup.Build would
// not have returned in ways the store could not keep: fields with no
// encoding, or members that would break its indexes.
func checkGroup(g *tally.Group, members []tally.Member) error {
	if g.Type.Index() < 0 {
		return fmt.Errorf("pebble: group type %q is not one of tally.GroupTypes", g.Type)
	}
	for _, o := range []tally.JoinOption{g.ApplyJoin, g.InviteJoin} {
		if joinOptionByte(o) == 0xff {
			return fmt.Errorf("pebble: join option %q is not one of tally.JoinOptions", o)
		}
	}
	if len(members) == 0 {
		return nil
	}
	if err := g.CheckMemberCall(tally.AddMembersCall); err != nil {
		return err
	}
	seen := make(map[string]bool, len(members))
	for _, m := range members {
		if seen[m.Account] || tally.CheckUserID("account", m.Account) != nil {
			return fmt.Errorf("pebble: member %q is repeated or not a valid UserID", m.Account)
		}
		seen[m.Account] = true
	}
	return nil
}

// createGroup returns the batch that stores rec and its members, giving
// rec the app's next sequence number and the members Seqs 1..n. The caller
// holds the app's and the group's latches.
func (s *Store) createGroup(app uint32, rec *groupRecord, members []tally.Member) (*pebble.Batch, error) {
	gk := groupKey(tagGroup, app, rec.ID)
	old, err := s.get(gk)
	if err != nil {
		return nil, err
	}
	if old != nil {
		return nil, tally.Errorf(tally.ErrGroupIDInUse, "GroupId %q is already in use", rec.ID)
	}
	ar, err := s.appRecord(app)
	if err != nil {
		return nil, err
	}
	ar.seq++
	ar.counts[rec.Type.Index()]++
	rec.seq = ar.seq
	// MemberNum and the next Seq are the store's to keep, so that they
	// always agree with the member keys.
	rec.MemberNum = uint32(len(members))
	rec.nextMember = 1

	b := s.db.NewBatch()
	b.Set(appKey(app), ar.encode(), nil)
	b.Set(listKey(app, rec.seq), append([]byte{byte(rec.Type.Index())}, rec.ID...), nil)
	// A group re-created under an old id starts with no counters; destroy
	// removed them, and this makes sure of it. (Its members, which destroy
	// removed as well, would cost range deletions to make sure of.) The
	// counter cache learns that the new group has none, at Seq 0, so that
	// its first calls read no table: a group is most often used soon after
	// it is made.
	ck := groupKey(tagCount, app, rec.ID)
	b.Delete(ck, nil)
	if l := s.groupLatch(app, rec.ID); rec.Type.HasCounters() {
		l.cache.put(ck, 0, nil, true, rec.Type, s.cacheShare)
	} else {
		l.cache.drop(ck)
	}
	w := memberWriter{b: b, app: app, g: &rec.Group}
	for _, m := range members {
		m.Seq = rec.nextMember
		rec.nextMember++
		w.put(&m)
	}
	b.Set(gk, rec.encode(), nil)
	return b, nil
}

// DestroyGroup implements tally.Store.
func (s *Store) DestroyGroup(ctx context.Context, app uint32, id string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()

	var counters int64 // Counter keys the destroyed group held.
	err := s.underTelling(func() (*pebble.Batch, changefeed.Change, error) {
		rec, err := s.group(app, id)
		if err != nil {
			return nil, changefeed.Change{}, err
		}
		ar, err := s.appRecord(app)
		if err != nil {
			return nil, changefeed.Change{}, err
		}
		ar.counts[rec.Type.Index()]--
		// The census must lose the group's counters with it, and the
		// feed tells the group's last Seq; only a destroy pays for this
		// read.
		ck := groupKey(tagCount, app, id)
		cv, err := s.get(ck)
		if err != nil {
			return nil, changefeed.Change{}, err
		}
		if n, err := countersLen(cv); err == nil {
			counters = n
		}
		var told changefeed.Change
		if s.feed.Load() != nil {
			// A record that does not decode is no reason to keep a
			// group its owner destroys, as with the census above; its
			// end is told with Seq 0.
			seq, _, _ := decodeCounters(cv)
			told = changefeed.Change{App: app, GroupID: id, Seq: seq, Destroyed: true}
		}

		b := s.db.NewBatch()
		b.Set(appKey(app), ar.encode(), nil)
		b.Delete(groupKey(tagGroup, app, id), nil)
		b.Delete(listKey(app, rec.seq), nil)
		b.Delete(ck, nil)
		s.groupLatch(app, id).cache.drop(ck)
		o, record := tally.OriginOf(ctx, tally.EventAfterGroupDestroyed)
		members, err := s.destroyMembers(b, app, id, record)
		if err != nil {
			b.Close()
			return nil, changefeed.Change{}, err
		}
		if record {
			s.record(b, tally.GroupDestroyedEvent(app, o, &rec.Group, members))
		}
		return b, told, nil
	}, s.appLatch(app), s.groupLatch(app, id))
	if err == nil {
		s.census.changed(-1, -counters)
	}
	return err
}

// Groups implements tally.Store.
func (s *Store) Groups(ctx context.Context, app uint32, ids []string, members bool) ([]tally.GroupLookup, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()

	out := make([]tally.GroupLookup, len(ids))
	for i, id := range ids {
		out[i].ID = id
		var rec *groupRecord
		// The iterator reads the view the record was read in, so the
		// latch is needed only while both are made.
		var it *pebble.Iterator
		err := s.under(func() (_ *pebble.Batch, err error) {
			rec, err = s.group(app, id)
			if err != nil || !members || !rec.Type.KeepsMembers() {
				return nil, err
			}
			it, err = s.orderIter(app, id, 0)
			return nil, err
		}, s.groupLatch(app, id))
		if tally.ErrorCode(err) == tally.ErrGroupNotFound {
			out[i].Err = err
			continue
		}
		if err == nil && it != nil {
			out[i].Members, _, err = scanMembers(it, tally.MemberQuery{}, -1)
		}
		if it != nil {
			it.Close()
		}
		if err != nil {
			return nil, err
		}
		out[i].Group = &rec.Group
	}
	return out, nil
}

// ModifyGroup implements tally.Store.
func (s *Store) ModifyGroup(ctx context.Context, app uint32, id string, ch *tally.GroupChange, now int64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()

	return s.under(func() (*pebble.Batch, error) {
		rec, err := s.group(app, id)
		if err != nil {
			return nil, err
		}
		next, changed, err := tally.ApplyGroupChange(&rec.Group, ch, now)
		if err != nil || !changed {
			return nil, err
		}
		b := s.db.NewBatch()
		if o, ok := tally.OriginOf(ctx, tally.EventAfterGroupInfoChanged); ok {
			if ev, ok := tally.GroupInfoChangedEvent(app, o, &rec.Group, next); ok {
				s.record(b, ev)
			}
		}
		rec.Group = *next
		b.Set(groupKey(tagGroup, app, id), rec.encode(), nil)
		return b, nil
	}, s.groupLatch(app, id))
}

// ListGroups implements tally.Store.
func (s *Store) ListGroups(ctx context.Context, app uint32, f tally.GroupFilter) (tally.GroupPage, error) {
	if err := s.enter(); err != nil {
		return tally.GroupPage{}, err
	}
	defer s.closeMu.RUnlock()

	// The iterator reads a fixed view of the database, so the app latch is
	// needed only while it is made, to learn which writes it may include.
	var ar appRecord
	var it *pebble.Iterator
	err := s.under(func() (_ *pebble.Batch, err error) {
		if ar, err = s.appRecord(app); err != nil {
			return nil, err
		}
		it, err = s.db.NewIter(&pebble.IterOptions{
			LowerBound: listKey(app, f.Next+1),
			UpperBound: append(listKey(app, math.MaxUint64), 0),
		})
		return nil, err
	}, s.appLatch(app))
	if it != nil {
		defer it.Close()
	}
	if err != nil {
		return tally.GroupPage{}, err
	}

	var page tally.GroupPage
	want := -1
	if f.Type != "" {
		want = f.Type.Index()
		page.Total = int(ar.counts[want])
	} else {
		for _, n := range ar.counts {
			page.Total += int(n)
		}
	}
	if f.Next == math.MaxUint64 {
		return page, nil // No group can follow the last possible cursor.
	}
	// The cursor is the sequence number of the last group returned, so
	// that the next page starts right after it.
	var last uint64
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(v) < 1 {
			return tally.GroupPage{}, errCorrupt
		}
		if want >= 0 && int(v[0]) != want {
			continue
		}
		if len(page.IDs) == f.Limit {
			page.Next = last
			break
		}
		page.IDs = append(page.IDs, string(v[1:]))
		last = binary.BigEndian.Uint64(k[5:])
	}
	return page, it.Error()
}

// appRecord reads the app's record; an app with no groups yet has a zero
// one. The caller holds the app latch.
func (s *Store) appRecord(app uint32) (appRecord, error) {
	v, err := s.get(appKey(app))
	if err != nil || v == nil {
		return appRecord{}, err
	}
	return decodeAppRecord(v)
}

// group reads the group's record, failing with ErrGroupNotFound when there
// is none. The caller holds the group's latch.
func (s *Store) group(app uint32, id string) (*groupRecord, error) {
	v, err := s.get(groupKey(tagGroup, app, id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errGroupNotFound(id)
	}
	return decodeGroupRecord(id, v)
}
