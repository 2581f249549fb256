package pebble

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
)

// JoinedGroups implements tally.Store.
//
// A user's list of groups is written under the latches of all those
// groups, so no latch covers it and the latches' pending writes cannot say
// which writes it might show. It is read instead from one snapshot, with
// no latch held, and then made durable by a barrier: a batch that holds
// only a LogData record, applied like any write and waited for through
// commit.sync, which records a fault as for any write. Pebble orders the
// WAL as it publishes batches to readers, and syncs it in order, so every
// batch the snapshot could show lies in the WAL before the barrier and is
// durable once the barrier is. A write whose sync failed has faulted the
// database, so the barrier fails too, and the answer with it.
func (s *Store) JoinedGroups(ctx context.Context, app uint32, account string, f tally.JoinedFilter) (tally.JoinedPage, error) {
	if err := s.enter(); err != nil {
		return tally.JoinedPage{}, err
	}
	defer s.closeMu.RUnlock()

	page, err := s.joinedGroups(app, account, f)
	if err != nil {
		return tally.JoinedPage{}, err
	}
	if err := s.barrier(); err != nil {
		return tally.JoinedPage{}, err
	}
	return page, nil
}

// joinedGroups reads one page of the account's groups from a snapshot.
// The caller has entered the store.
func (s *Store) joinedGroups(app uint32, account string, f tally.JoinedFilter) (tally.JoinedPage, error) {
	var page tally.JoinedPage
	// No member has a longer account, nor would its key prefix fit one.
	if len(account) == 0 || len(account) > tally.MaxUserIDLen {
		return page, nil
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	prefix := joinedPrefix(app, account)
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return page, err
	}
	defer it.Close()
	want := -1
	if f.Type != "" {
		want = f.Type.Index()
	}
	// Every matching group counts toward Total, so the scan reads the
	// whole list; only those of the page are decoded in full.
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return page, err
		}
		if len(v) < 2 {
			return page, errCorrupt
		}
		if want >= 0 && int(v[0]) != want || f.SupportTopic && v[1]&flagSupportTopic == 0 {
			continue
		}
		page.Total++
		if page.Total <= f.Offset || f.Limit > 0 && len(page.Groups) == f.Limit {
			continue
		}
		joinTime, id, err := parseJoinedKey(it.Key(), len(prefix))
		if err != nil {
			return page, err
		}
		self, err := decodeJoined(account, v)
		if err != nil {
			return page, err
		}
		if self.JoinTime != joinTime {
			return page, fmt.Errorf("%w: %q joined %q at %d, its key says %d", errCorrupt, account, id, self.JoinTime, joinTime)
		}
		page.Groups = append(page.Groups, tally.JoinedGroup{ID: id, Self: self})
	}
	if err := it.Error(); err != nil {
		return page, err
	}
	if !f.WithGroups {
		return page, nil
	}
	for i := range page.Groups {
		g := &page.Groups[i]
		v, closer, err := snap.Get(groupKey(tagGroup, app, g.ID))
		if errors.Is(err, pebble.ErrNotFound) {
			// A group and its members go in one batch.
			return page, fmt.Errorf("%w: %q is a member of %q, which does not exist", errCorrupt, account, g.ID)
		}
		if err != nil {
			return page, err
		}
		rec, err := decodeGroupRecord(g.ID, v)
		closer.Close()
		if err != nil {
			return page, err
		}
		g.Group = &rec.Group
	}
	return page, nil
}

// barrier returns once every write that a read might have seen before it
// was called is durable (JoinedGroups says why), or fails. The caller has
// entered the store. The barrier counts as a commit in the WAL's fsync
// batches, which it shares, but is not timed as a durable write.
func (s *Store) barrier() error {
	b := s.db.NewBatch()
	// An empty batch would not reach the WAL; a LogData record does, and
	// changes nothing that replay or a reader sees.
	if err := b.LogData(nil, nil); err != nil {
		b.Close()
		return err
	}
	c, err := s.apply(b)
	if err != nil {
		return err
	}
	return c.sync()
}
