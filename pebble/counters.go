package pebble

import (
	"context"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
)

// UpdateCounters implements tally.Store.
func (s *Store) UpdateCounters(ctx context.Context, app uint32, id string, mode tally.Mode, items []tally.Counter) ([]tally.Counter, error) {
	var out []tally.Counter
	err := s.changeCounters(app, id, func(cur []tally.Counter) (next []tally.Counter, err error) {
		next, out, err = tally.ApplyCounters(cur, mode, items)
		return next, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteCounters implements tally.Store.
func (s *Store) DeleteCounters(ctx context.Context, app uint32, id string, keys []string) error {
	return s.changeCounters(app, id, func(cur []tally.Counter) ([]tally.Counter, error) {
		return tally.RemoveCounters(cur, keys), nil
	})
}

// Counters implements tally.Store.
func (s *Store) Counters(ctx context.Context, app uint32, id string, keys []string) ([]tally.Counter, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()

	var cur []tally.Counter
	l := s.groupLatch(app, id)
	err := s.under(func() (_ *pebble.Batch, err error) {
		hot, ok := l.cached(groupKey(tagCount, app, id))
		if !ok {
			cur, err = s.counters(app, id)
			return nil, err
		}
		// The caller owns what it gets, and the latch keeps hot.
		cur = slices.Clone(hot)
		return nil, nil
	}, l)
	if err != nil {
		return nil, err
	}
	return tally.SelectCounters(cur, keys), nil
}

// changeCounters runs one read-modify-write of a group's counters. change
// gets the current counters and returns the new ones, or an error to change
// nothing.
func (s *Store) changeCounters(app uint32, id string, change func([]tally.Counter) ([]tally.Counter, error)) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()

	l := s.groupLatch(app, id)
	var added int // Counter keys the write adds (or, negative, removes).
	err := s.under(func() (*pebble.Batch, error) {
		key := groupKey(tagCount, app, id)
		cur, ok := l.cached(key)
		if !ok {
			var err error
			if cur, err = s.counters(app, id); err != nil {
				return nil, err
			}
		}
		next, err := change(cur)
		if err != nil || slices.Equal(cur, next) {
			return nil, err
		}
		added = len(next) - len(cur)
		b := s.db.NewBatch()
		if len(next) == 0 {
			b.Delete(key, nil)
		} else {
			b.Set(key, encodeCounters(next), nil)
			l.remember(key, next)
		}
		return b, nil
	}, l)
	if err == nil {
		s.census.changed(0, int64(added))
	}
	return err
}

// counters returns the counters of a group that may hold them, failing for
// a missing group or a Community. The caller holds the group's latch.
//
// The counters record is read first: it exists only for a live group that
// may hold counters (create and destroy delete it, and nothing writes it
// for a Community), so for a group that has counters, which is every call
// of a busy counter, one read answers. Only a group without counters costs
// the second read of its group record.
func (s *Store) counters(app uint32, id string) ([]tally.Counter, error) {
	v, err := s.get(groupKey(tagCount, app, id))
	if err != nil {
		return nil, err
	}
	if v != nil {
		return decodeCounters(v)
	}
	rec, err := s.get(groupKey(tagGroup, app, id))
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errGroupNotFound(id)
	}
	t, err := groupRecordType(rec)
	if err != nil {
		return nil, err
	}
	if !t.HasCounters() {
		return nil, tally.Errorf(tally.ErrNoPermission, "group %q is a %s, which has no group counters", id, t)
	}
	return nil, nil
}

func errGroupNotFound(id string) error {
	return tally.Errorf(tally.ErrGroupNotFound, "group %q does not exist or has been destroyed", id)
}
