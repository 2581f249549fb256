package pebble

import (
	"context"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/changefeed"
)

// UpdateCounters implements tally.Store.
func (s *Store) UpdateCounters(ctx context.Context, app uint32, id string, mode tally.Mode, items []tally.Counter) ([]tally.Counter, error) {
	var out []tally.Counter
	err := s.changeCounters(ctx, app, id, mode.String(), func(cur []tally.Counter) (next []tally.Counter, err error) {
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
	return s.changeCounters(ctx, app, id, tally.CounterModeDelete, func(cur []tally.Counter) ([]tally.Counter, error) {
		return tally.RemoveCounters(cur, keys), nil
	})
}

// Counters implements tally.Store.
func (s *Store) Counters(ctx context.Context, app uint32, id string, keys []string) ([]tally.Counter, error) {
	_, cur, err := s.counterState(app, id)
	if err != nil {
		return nil, err
	}
	return tally.SelectCounters(cur, keys), nil
}

// counterState returns the group's Seq and all its counters, which the
// caller owns, as of its newest durable write.
func (s *Store) counterState(app uint32, id string) (uint64, []tally.Counter, error) {
	if err := s.enter(); err != nil {
		return 0, nil, err
	}
	defer s.closeMu.RUnlock()

	var seq uint64
	var cur []tally.Counter
	l := s.groupLatch(app, id)
	err := s.under(func() (_ *pebble.Batch, err error) {
		key := groupKey(tagCount, app, id)
		var ok bool
		if seq, cur, ok = l.cache.getOwned(key); !ok {
			if seq, cur, err = s.counters(app, id); err != nil {
				return nil, err
			}
			// The cache keeps a copy of what it is given, and the
			// caller owns what it gets.
			l.cache.put(key, seq, cur, false, "", s.cacheShare)
		}
		return nil, nil
	}, l)
	if err != nil {
		return 0, nil, err
	}
	return seq, cur, nil
}

// changeCounters runs one read-modify-write of a group's counters. change
// gets the current counters and returns the new ones, or an error to change
// nothing. A write that changes them adds one to the group's Seq; one that
// leaves them as they were writes nothing and keeps it. mode names the
// change in its after-event, if ctx asks for one.
func (s *Store) changeCounters(ctx context.Context, app uint32, id, mode string, change func([]tally.Counter) ([]tally.Counter, error)) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()

	l := s.groupLatch(app, id)
	var added int // Counter keys the write adds (or, negative, removes).
	err := s.underTelling(func() (*pebble.Batch, changefeed.Change, error) {
		var told changefeed.Change
		key := groupKey(tagCount, app, id)
		seq, cur, ok := l.cache.get(key)
		if !ok {
			var err error
			if seq, cur, err = s.counters(app, id); err != nil {
				return nil, told, err
			}
		}
		next, err := change(cur)
		if err != nil || slices.Equal(cur, next) {
			return nil, told, err
		}
		seq++
		added = len(next) - len(cur)
		var ev *tally.Event
		var typ tally.GroupType // "" unless the event needed it
		if o, ok := tally.OriginOf(ctx, tally.EventAfterGroupCounterChanged); ok {
			// The event names the group's type, which the counters
			// record does not hold: a write with callbacks reads the
			// group's record once, and the cache keeps the type.
			if typ = l.cache.groupType(key); typ == "" {
				rec, err := s.group(app, id)
				if err != nil {
					return nil, told, err
				}
				typ = rec.Type
			}
			set, del := changefeed.Diff(cur, next)
			e := tally.CounterChangedEvent(app, o, id, typ, mode, set, del, seq)
			ev = &e
		}
		b := s.db.NewBatch()
		if ev != nil {
			s.record(b, *ev)
		}
		// Nothing fails from here on but the apply, which faults the
		// store and so clears the cache. The record is the one the
		// cache encoded, which the batch copies. A write that deletes
		// the last counter keeps the record, with the Seq, rather than
		// deleting it: the Seq must go on.
		// next is the feed's too, and no one changes it.
		b.Set(key, l.cache.put(key, seq, next, true, typ, s.cacheShare), nil)
		// A feed is told the counters before and after, which neither
		// the cache nor anyone else changes, and works out the change
		// itself, off the latch. Without a feed this load is all the hot
		// path pays.
		if s.feed.Load() != nil {
			told = changefeed.Change{App: app, GroupID: id, Seq: seq, Cur: cur, Next: next}
		}
		return b, told, nil
	}, l)
	if err == nil {
		s.census.changed(0, int64(added))
	}
	return err
}

// counters returns the Seq and counters of a group that may hold them,
// failing for a missing group or a Community. The caller holds the
// group's latch.
//
// The counters record is read first: it exists only for a live group that
// may hold counters (create and destroy delete it, and nothing writes it
// for a Community), so for a group that has had counters, which is every
// call of a busy counter, one read answers. Only a group that never had
// any costs the second read of its group record, and has Seq 0.
func (s *Store) counters(app uint32, id string) (uint64, []tally.Counter, error) {
	v, err := s.get(groupKey(tagCount, app, id))
	if err != nil {
		return 0, nil, err
	}
	if v != nil {
		return decodeCounters(v)
	}
	rec, err := s.get(groupKey(tagGroup, app, id))
	if err != nil {
		return 0, nil, err
	}
	if rec == nil {
		return 0, nil, errGroupNotFound(id)
	}
	t, err := groupRecordType(rec)
	if err != nil {
		return 0, nil, err
	}
	if !t.HasCounters() {
		return 0, nil, tally.Errorf(tally.ErrNoPermission, "group %q is a %s, which has no group counters", id, t)
	}
	return 0, nil, nil
}

func errGroupNotFound(id string) error {
	return tally.Errorf(tally.ErrGroupNotFound, "group %q does not exist or has been destroyed", id)
}
