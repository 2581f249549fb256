package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble/internal/faultvfs"
)

// The upgrade of a store written by the first release, whose group records
// end at FaceURL and whose groups have no members.
//
// Open upgrades every such record before the store serves, so that no
// call ever meets one (decodeGroupRecord refuses them). Each group's
// upgrade is self-contained: its new record and its owner's member keys
// go in one batch, and a record already in the new format is left alone,
// so an upgrade that a crash cuts short is finished by the next Open. The
// upgrades are applied in synced chunks, which bounds the size of a batch
// however many groups the store holds. Once all are done, the format key
// says so, and later opens skip the scan of every group record, which on
// a big store would take far longer than the open itself (census.go).

// The formats of the stored records. A store of the first release has no
// format key. formatMembers added members and the group fields above, and
// its group records are what the upgrade writes. formatSeq added the Seq
// to counters records, which needs no upgrade, since a record from before
// reads as Seq 0 (encoding.go), but which a release before it cannot
// read: the key makes such a release refuse the store at Open, rather than
// fail the counters of every group that has changed since.
const (
	formatMembers = 2
	formatSeq     = 3
	formatLatest  = formatSeq
)

// migrateChunk is how many groups one synced batch of the upgrade holds.
const migrateChunk = 1000

// migrate upgrades the records of the first release that db holds, in
// chunks of chunk groups, and records that the store is in this release's
// format. It runs before the store serves, alone on db.
func migrate(db *pebble.DB, fs *faultvfs.FS, chunk int) error {
	v, closer, err := db.Get(formatKey())
	switch {
	case err == nil:
		f, n := binary.Uvarint(v)
		closer.Close()
		if n <= 0 || f > formatLatest {
			return fmt.Errorf("pebble: the store's format %d is not one this release knows; it was written by a newer one", f)
		}
		if f == formatLatest {
			return nil
		}
		if f >= formatMembers {
			// Nothing to upgrade: only the key to move on.
			b := db.NewBatch()
			b.Set(formatKey(), binary.AppendUvarint(nil, formatLatest), nil)
			return commitSynced(db, fs, b)
		}
	case !errors.Is(err, pebble.ErrNotFound):
		return err
	}

	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagGroup}, UpperBound: []byte{tagGroup + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	b := db.NewBatch()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) < 6 {
			b.Close()
			return fmt.Errorf("%w: group key %q", errCorrupt, k)
		}
		app, id := binary.BigEndian.Uint32(k[1:5]), string(k[5:])
		v, err := it.ValueAndErr()
		if err != nil {
			b.Close()
			return err
		}
		rec, old, err := decodeAnyGroupRecord(id, v)
		if err != nil {
			b.Close()
			return fmt.Errorf("pebble: upgrading group %q of app %d: %w", id, app, err)
		}
		if !old {
			continue
		}
		upgradeGroup(b, app, rec)
		if n++; n == chunk {
			if err := commitSynced(db, fs, b); err != nil {
				return err
			}
			b, n = db.NewBatch(), 0
		}
	}
	if err := it.Error(); err != nil {
		b.Close()
		return err
	}
	b.Set(formatKey(), binary.AppendUvarint(nil, formatLatest), nil)
	return commitSynced(db, fs, b)
}

// upgradeGroup adds to b the upgrade of one group of the first release:
// its record with the new fields at their defaults, and its owner, if any,
// as its one member, joined when the group was created. A MaxMemberCount
// that the group's type does not allow gives way to the type's default.
// An owner that is not a valid UserID (the first release did not check)
// stays the group's Owner but is not made a member, since a member's keys
// need a valid one.
func upgradeGroup(b *pebble.Batch, app uint32, rec *groupRecord) {
	t := rec.Type
	if n := rec.MaxMemberNum; n < 1 || n > t.MemberCap() {
		rec.MaxMemberNum = t.DefaultMaxMembers()
	}
	rec.ApplyJoin, rec.InviteJoin = t.DefaultApplyJoin(), t.DefaultInviteJoin()
	rec.InfoSeq, rec.LastInfoTime = 1, rec.CreateTime
	rec.nextMember = 1
	if rec.Owner != "" && t.KeepsMembers() && tally.CheckUserID("Owner_Account", rec.Owner) == nil {
		owner := tally.Member{Account: rec.Owner, Role: tally.RoleOwner, JoinTime: rec.CreateTime, Seq: 1}
		w := memberWriter{b: b, app: app, g: &rec.Group}
		w.put(&owner)
		rec.MemberNum, rec.nextMember = 1, 2
	}
	b.Set(groupKey(tagGroup, app, rec.ID), rec.encode(), nil)
}

// commitSynced applies b and syncs it, failing if the database has faulted
// meanwhile: after a fault Pebble is told its syncs succeed (faultvfs).
func commitSynced(db *pebble.DB, fs *faultvfs.FS, b *pebble.Batch) error {
	err := db.Apply(b, pebble.Sync)
	b.Close()
	if err != nil {
		fs.Fault(err)
		return err
	}
	return faultErr(fs)
}
