package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
)

// Export, ExportEvents and Apps read the whole store, for moving its data
// to another backend (tally migrate), which runs them on a store no server
// has open. Each reads one snapshot, made durable before anything is
// returned by a barrier, as JoinedGroups's is: so they may run on a
// serving store too, show it as of one moment, and show nothing that a
// crash could take back. While they run, the store cannot be closed, nor
// reopen after a storage fault.

// Export calls fn with every group the store holds, with its members and
// counters: app by app in ascending sdkappid, each app's groups in
// creation order, as its group list (tagList) holds them. fn owns what it
// is given. Export stops at fn's first error and returns it.
func (s *Store) Export(fn func(*tally.GroupExport) error) error {
	return s.snapshot(func(snap *pebble.Snapshot) error {
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{tagList}, UpperBound: []byte{tagList + 1}})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.First(); it.Valid(); it.Next() {
			k, v := it.Key(), it.Value()
			if len(k) != 1+4+8 || len(v) < 2 {
				return fmt.Errorf("%w: group list entry %q", errCorrupt, k)
			}
			e := &tally.GroupExport{App: binary.BigEndian.Uint32(k[1:]), Seq: binary.BigEndian.Uint64(k[5:])}
			if err := exportGroup(snap, e, string(v[1:]), int(v[0])); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return it.Error()
	})
}

// exportGroup fills e with the group id, which the app's group list holds
// at e.Seq with type index t, and its members and counters.
func exportGroup(snap *pebble.Snapshot, e *tally.GroupExport, id string, t int) error {
	v, err := getFrom(snap, groupKey(tagGroup, e.App, id))
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("%w: app %d lists group %q, which has no record", errCorrupt, e.App, id)
	}
	rec, err := decodeGroupRecord(id, v)
	if err != nil {
		return err
	}
	if rec.seq != e.Seq || rec.Type.Index() != t {
		return fmt.Errorf("%w: app %d lists group %q as number %d of type %d, and its record says %d of type %q",
			errCorrupt, e.App, id, e.Seq, t, rec.seq, rec.Type)
	}
	e.Group = rec.Group

	prefix := membersPrefix(tagOrder, e.App, id)
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	e.Members, _, err = scanMembers(it, tally.MemberQuery{}, -1)
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	cv, err := getFrom(snap, groupKey(tagCount, e.App, id))
	if err != nil {
		return err
	}
	// The group's Seq is not exported: it numbers the changes one store
	// has told, and a store the data moves to starts its own.
	_, e.Counters, err = decodeCounters(cv)
	return err
}

// ExportEvents calls fn with every event of the outbox, lowest ID first,
// so that a move to another backend takes the callbacks not yet delivered
// with it, under the IDs their handlers may already have seen. fn owns
// what it is given. ExportEvents stops at fn's first error and returns it.
func (s *Store) ExportEvents(fn func(tally.Event) error) error {
	return s.snapshot(func(snap *pebble.Snapshot) error {
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{tagOutbox}, UpperBound: outboxEnd})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.First(); it.Valid(); it.Next() {
			ev, err := eventAt(it)
			if err != nil {
				return err
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
		return it.Error()
	})
}

// LastEventID returns the ID of the last event the store has recorded, or
// 0 when it has recorded none, for a move to another backend to number
// the events that follow above it. A store reopened knows it from the
// newest event left in its outbox and the mark that deleting delivered
// ones leaves (outbox.go); a store written by a release before that mark
// forgot the IDs of the events it delivered then.
func (s *Store) LastEventID() uint64 {
	return s.lastEvent.Load()
}

// Apps returns the sdkappids of the apps that hold groups, ascending.
func (s *Store) Apps() ([]uint32, error) {
	var apps []uint32
	err := s.snapshot(func(snap *pebble.Snapshot) error {
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{tagApp}, UpperBound: []byte{tagApp + 1}})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.First(); it.Valid(); it.Next() {
			k := it.Key()
			if len(k) != 1+4 {
				return fmt.Errorf("%w: app key %q", errCorrupt, k)
			}
			ar, err := decodeAppRecord(it.Value())
			if err != nil {
				return err
			}
			var n uint64
			for _, c := range ar.counts {
				n += c
			}
			if n > 0 {
				apps = append(apps, binary.BigEndian.Uint32(k[1:]))
			}
		}
		return it.Error()
	})
	if err != nil {
		return nil, err
	}
	return apps, nil
}

// snapshot runs fn on a snapshot of the store, once everything the
// snapshot shows is durable.
func (s *Store) snapshot(fn func(*pebble.Snapshot) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	snap := s.db.NewSnapshot()
	defer snap.Close()
	if err := s.barrier(); err != nil {
		return err
	}
	return fn(snap)
}

// getFrom returns a copy of the value at key in r, or nil when there is
// none.
func getFrom(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte{}, v...), nil
}
