package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
)

// The outbox keeps after-events (tally.Outbox) under tagOutbox, keyed by
// their IDs in big-endian order, so that the oldest comes first. An event
// is put in the batch of the write it reports, so it is exactly as durable
// as that write. IDs come from one counter, taken while the writer holds
// its group's latch, so a group's events are numbered in the order of its
// writes. A handler drops an EventId it has handled, so an ID is never
// given twice: the counter starts after both the last ID in the outbox and
// the mark that every deletion of events writes, in its batch, of the
// greatest ID handed out by then; so a store reopened after its newest
// events were delivered goes on above them.

func outboxKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagOutbox}, id)
}

var outboxEnd = []byte{tagOutbox + 1}

var outboxMarkKey = []byte{tagOutboxMark}

// lastEventID returns the greatest event ID db has handed out as far as it
// can tell: the newest event in its outbox or its mark, 0 for neither.
func lastEventID(db *pebble.DB) (uint64, error) {
	mark, err := outboxMark(db)
	if err != nil {
		return 0, err
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagOutbox}, UpperBound: outboxEnd})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return mark, it.Error()
	}
	if len(it.Key()) != 9 {
		return 0, errCorrupt
	}
	return max(mark, binary.BigEndian.Uint64(it.Key()[1:])), nil
}

// outboxMark reads the mark DeleteEvents writes, 0 if none was written.
func outboxMark(db *pebble.DB) (uint64, error) {
	v, closer, err := db.Get(outboxMarkKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer closer.Close()
	mark, n := binary.Uvarint(v)
	if n <= 0 || n != len(v) {
		return 0, errCorrupt
	}
	return mark, nil
}

// record puts ev in the outbox as part of b. The caller holds the latch
// of ev's group.
func (s *Store) record(b *pebble.Batch, ev tally.Event) {
	ev.ID = s.lastEvent.Add(1)
	b.Set(outboxKey(ev.ID), encodeEvent(&ev), nil)
}

// encodeEvent encodes all of an event but its ID, which is its key: a
// version byte, then the app, the kind, the time, and the group id, the
// client address and the body, each after its length.
func encodeEvent(ev *tally.Event) []byte {
	b := make([]byte, 0, 32+len(ev.GroupID)+len(ev.ClientIP)+len(ev.Body))
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(ev.App))
	b = append(b, byte(ev.Kind))
	b = binary.AppendVarint(b, ev.Time)
	b = binary.AppendUvarint(b, uint64(len(ev.GroupID)))
	b = append(b, ev.GroupID...)
	b = binary.AppendUvarint(b, uint64(len(ev.ClientIP)))
	b = append(b, ev.ClientIP...)
	b = binary.AppendUvarint(b, uint64(len(ev.Body)))
	return append(b, ev.Body...)
}

// decodeEvent decodes the event with ID id from its record, copying what
// it keeps.
func decodeEvent(id uint64, v []byte) (tally.Event, error) {
	ev := tally.Event{ID: id}
	if len(v) < 1 || v[0] != 1 {
		return ev, errCorrupt
	}
	v = v[1:]
	app, n := binary.Uvarint(v)
	if n <= 0 || app > 1<<32-1 || len(v) == n {
		return ev, errCorrupt
	}
	ev.App, ev.Kind, v = uint32(app), tally.EventKind(v[n]), v[n+1:]
	if ev.Time, n = binary.Varint(v); n <= 0 {
		return ev, errCorrupt
	}
	v = v[n:]
	var fields [3][]byte
	for i := range fields {
		l, n := binary.Uvarint(v)
		if n <= 0 || l > uint64(len(v)-n) {
			return ev, errCorrupt
		}
		fields[i], v = v[n:n+int(l)], v[n+int(l):]
	}
	if len(v) != 0 {
		return ev, errCorrupt
	}
	ev.GroupID, ev.ClientIP, ev.Body = string(fields[0]), string(fields[1]), append([]byte(nil), fields[2]...)
	return ev, nil
}

// eventAt decodes the outbox entry it is at.
func eventAt(it *pebble.Iterator) (tally.Event, error) {
	v, err := it.ValueAndErr()
	if err != nil {
		return tally.Event{}, err
	}
	if len(it.Key()) != 9 {
		return tally.Event{}, errCorrupt
	}
	return decodeEvent(binary.BigEndian.Uint64(it.Key()[1:]), v)
}

// Events implements tally.Outbox. It reads the oldest events in one view,
// then waits for a barrier, so that none it returns is a write that a
// crash could take back.
func (s *Store) Events(ctx context.Context, limit int) ([]tally.Event, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()

	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagOutbox}, UpperBound: outboxEnd})
	if err != nil {
		return nil, err
	}
	var out []tally.Event
	for it.First(); it.Valid() && len(out) < limit; it.Next() {
		ev, err := eventAt(it)
		if err != nil {
			it.Close()
			return nil, err
		}
		out = append(out, ev)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	if err := s.barrier(); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteEvents implements tally.Outbox. The deletions are not synced on
// their own: they reach the disk with the next synced write, and a crash
// before that delivers their events again, which at least once allows.
// Their batch also marks the greatest ID handed out (lastEventID), which
// the next open counts from should the outbox be empty by then.
func (s *Store) DeleteEvents(ctx context.Context, ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()

	// A run of IDs is removed by one range deletion, which readers skip
	// at once, where a tombstone per event would be stepped over one by
	// one by every Events until compactions drop them. No event can hide
	// inside a run: every ID in it is named.
	ids = slices.Clone(ids)
	slices.Sort(ids)
	b := s.db.NewBatch()
	defer b.Close()
	for i := 0; i < len(ids); {
		j := i + 1
		for j < len(ids) && ids[j] <= ids[j-1]+1 {
			j++
		}
		if j-i == 1 {
			b.Delete(outboxKey(ids[i]), nil)
		} else {
			b.DeleteRange(outboxKey(ids[i]), outboxKey(ids[j-1]+1), nil)
		}
		i = j
	}
	// The mark is read and applied under deleteMu, so that two calls
	// cannot leave the smaller of their marks last.
	s.deleteMu.Lock()
	defer s.deleteMu.Unlock()
	b.Set(outboxMarkKey, binary.AppendUvarint(nil, s.lastEvent.Load()), nil)
	if err := s.db.Apply(b, pebble.NoSync); err != nil {
		s.fs.Fault(err)
		return err
	}
	return nil
}

// ClaimDelivery implements tally.Outbox: one node owns the embedded
// store, so it is always the one that delivers.
func (s *Store) ClaimDelivery(ctx context.Context, holder string, span time.Duration) (bool, error) {
	return true, nil
}
