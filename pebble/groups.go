package pebble

import (
	"context"
	"encoding/binary"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
)

// CreateGroup implements tally.Store.
func (s *Store) CreateGroup(ctx context.Context, app uint32, g *tally.Group) error {
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
		rec.CreateTime = time.Now().Unix()
		err := s.under(func() (*pebble.Batch, error) {
			return s.createGroup(app, &rec)
		}, s.appLatch(app), s.groupLatch(app, id))
		if tally.ErrorCode(err) == tally.ErrGroupIDInUse && !custom {
			continue // A generated id collided; draw another.
		}
		if err != nil {
			return err
		}
		s.census.changed(1, 0)
		*g = rec.Group
		return nil
	}
}

// createGroup returns the batch that stores rec, giving it the app's next
// sequence number. The caller holds the app's and the group's latches.
func (s *Store) createGroup(app uint32, rec *groupRecord) (*pebble.Batch, error) {
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

	b := s.db.NewBatch()
	b.Set(appKey(app), ar.encode(), nil)
	b.Set(gk, rec.encode(), nil)
	b.Set(listKey(app, rec.seq), append([]byte{byte(rec.Type.Index())}, rec.ID...), nil)
	// A group re-created under an old id starts with no counters; destroy
	// removed them, and this makes sure of it.
	b.Delete(groupKey(tagCount, app, rec.ID), nil)
	return b, nil
}

// DestroyGroup implements tally.Store.
func (s *Store) DestroyGroup(ctx context.Context, app uint32, id string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()

	var counters int64 // Counter keys the destroyed group held.
	err := s.under(func() (*pebble.Batch, error) {
		gk := groupKey(tagGroup, app, id)
		v, err := s.get(gk)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, errGroupNotFound(id)
		}
		rec, err := decodeGroupRecord(id, v)
		if err != nil {
			return nil, err
		}
		ar, err := s.appRecord(app)
		if err != nil {
			return nil, err
		}
		ar.counts[rec.Type.Index()]--
		// The census must lose the group's counters with it; only a
		// destroy pays for this read.
		cv, err := s.get(groupKey(tagCount, app, id))
		if err != nil {
			return nil, err
		}
		if n, err := countersLen(cv); err == nil {
			counters = n
		}

		b := s.db.NewBatch()
		b.Set(appKey(app), ar.encode(), nil)
		b.Delete(gk, nil)
		b.Delete(listKey(app, rec.seq), nil)
		b.Delete(groupKey(tagCount, app, id), nil)
		return b, nil
	}, s.appLatch(app), s.groupLatch(app, id))
	if err == nil {
		s.census.changed(-1, -counters)
	}
	return err
}

// Groups implements tally.Store.
func (s *Store) Groups(ctx context.Context, app uint32, ids []string) ([]tally.GroupLookup, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()

	out := make([]tally.GroupLookup, len(ids))
	for i, id := range ids {
		var v []byte
		err := s.under(func() (_ *pebble.Batch, err error) {
			v, err = s.get(groupKey(tagGroup, app, id))
			return nil, err
		}, s.groupLatch(app, id))
		if err != nil {
			return nil, err
		}
		out[i].ID = id
		if v == nil {
			out[i].Err = errGroupNotFound(id)
			continue
		}
		rec, err := decodeGroupRecord(id, v)
		if err != nil {
			return nil, err
		}
		out[i].Group = &rec.Group
	}
	return out, nil
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
