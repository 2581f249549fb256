package pebble

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble/internal/faultvfs"
)

// oldGroup is a group as the first release stored it.
type oldGroup struct {
	id                       string
	typ                      tally.GroupType
	createTime               int64
	maxMemberCount           uint32
	name, owner, intro, note string
}

// encode returns the record the first release wrote for g, byte for byte
// as its groupRecord.encode did.
func (g *oldGroup) encode(seq uint64) []byte {
	b := binary.AppendUvarint(nil, seq)
	b = append(b, byte(g.typ.Index()))
	b = binary.AppendVarint(b, g.createTime)
	b = binary.AppendUvarint(b, uint64(g.maxMemberCount))
	for _, s := range []string{g.name, g.owner, g.intro, g.note, "face"} {
		b = appendString(b, s)
	}
	return b
}

// encodeCountersBeforeSeq returns the counters record that the releases
// before Seq wrote, byte for byte as their encodeCounters did.
func encodeCountersBeforeSeq(cs []tally.Counter) []byte {
	b := binary.AppendUvarint(nil, uint64(len(cs)))
	for _, c := range cs {
		b = appendString(b, c.Key)
		b = binary.AppendVarint(b, c.Value)
	}
	return b
}

// The groups of the first release that the upgrade tests store, and what
// each becomes.
var oldGroups = []struct {
	old     oldGroup
	max     uint32 // MaxMemberNum after the upgrade.
	members []string
}{
	{oldGroup{"pub", tally.GroupPublic, 1000, 500, "n", "alice", "i", "x"}, 500, []string{"alice"}},
	{oldGroup{"priv", tally.GroupPrivate, 1001, 0, "n", "alice", "", ""}, 200, []string{"alice"}},
	{oldGroup{"chat", tally.GroupChatRoom, 1002, 7000, "n", "", "", ""}, 6000, nil},
	{oldGroup{"live", tally.GroupAVChatRoom, 1003, 50, "n", "bob", "", ""}, 0, nil},
	{oldGroup{"@TGS#_c", tally.GroupCommunity, 1004, 100000, "n", "bob", "", ""}, 100000, []string{"bob"}},
	// The first release took any Owner_Account, which a member's keys
	// cannot hold.
	{oldGroup{"long", tally.GroupPublic, 1005, 1, "n", strings.Repeat("o", 40), "", ""}, 1, nil},
}

// writeOldStore fills dir with the first release's records of oldGroups,
// with a counter on the first, and no format key. upgraded names groups
// whose upgrade is already in, as a crash in the middle of one leaves them.
func writeOldStore(t *testing.T, dir string, upgraded ...string) {
	t.Helper()
	db, err := pebble.Open(dir, pebbleOptions(vfs.Default, silentLogger{}, DefaultMemoryBudget))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := db.NewBatch()
	var ar appRecord
	for _, c := range oldGroups {
		ar.seq++
		ar.counts[c.old.typ.Index()]++
		v := c.old.encode(ar.seq)
		b.Set(listKey(testApp, ar.seq), append([]byte{byte(c.old.typ.Index())}, c.old.id...), nil)
		for _, id := range upgraded {
			if id == c.old.id {
				rec, old, err := decodeAnyGroupRecord(id, v)
				if err != nil || !old {
					t.Fatalf("the record of %s: %v, old %v", id, err, old)
				}
				upgradeGroup(b, testApp, rec)
				v = nil
			}
		}
		if v != nil {
			b.Set(groupKey(tagGroup, testApp, c.old.id), v, nil)
		}
	}
	b.Set(appKey(testApp), ar.encode(), nil)
	b.Set(groupKey(tagCount, testApp, "pub"), encodeCountersBeforeSeq([]tally.Counter{{Key: "k", Value: 5}}), nil)
	b.Delete(formatKey(), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// TestUpgrade opens stores of the first release, whole and with an upgrade
// cut short, and checks that every group reads as its upgrade says.
func TestUpgrade(t *testing.T) {
	for _, c := range []struct {
		name     string
		upgraded []string
		chunk    int // Groups per synced batch, when not Open's.
	}{
		{"first release", nil, 0},
		{"in chunks of two", nil, 2},
		{"upgrade cut short", []string{"pub", "live"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			openOn(t, vfs.Default, dir).Close() // A store of this release has a format key.
			writeOldStore(t, dir, c.upgraded...)
			if c.chunk > 0 {
				rawMigrate(t, dir, c.chunk)
			}
			s := openOn(t, vfs.Default, dir)
			checkUpgraded(t, s)

			// The upgrade is idempotent: run again over upgraded records,
			// it changes nothing.
			want := dump(t, s)
			s.Close()
			rawMigrate(t, dir, 1)
			s = openOn(t, vfs.Default, dir)
			if got := dump(t, s); got != want {
				t.Errorf("a second upgrade changed the store from\n%s\nto\n%s", want, got)
			}
			checkUpgraded(t, s)
		})
	}
}

// rawMigrate runs the upgrade on the database in dir, as if it had no
// format key, in chunks of chunk groups.
func rawMigrate(t *testing.T, dir string, chunk int) {
	t.Helper()
	db, err := pebble.Open(dir, pebbleOptions(vfs.Default, silentLogger{}, DefaultMemoryBudget))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Delete(formatKey(), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := migrate(db, faultvfs.New(vfs.Default, faultvfs.Hooks{}), chunk); err != nil {
		t.Fatal(err)
	}
}

func checkUpgraded(t *testing.T, s *Store) {
	t.Helper()
	for _, c := range oldGroups {
		o := c.old
		want := &tally.Group{
			ID: o.id, Type: o.typ, Name: o.name, Owner: o.owner, CreateTime: o.createTime,
			Introduction: o.intro, Notification: o.note, FaceURL: "face",
			MaxMemberNum: c.max, ApplyJoin: o.typ.DefaultApplyJoin(), InviteJoin: o.typ.DefaultInviteJoin(),
			InfoSeq: 1, LastInfoTime: o.createTime, MemberNum: uint32(len(c.members)),
		}
		var wantMembers []tally.Member
		for _, a := range c.members {
			wantMembers = append(wantMembers, tally.Member{Account: a, Role: tally.RoleOwner, JoinTime: o.createTime, Seq: 1})
		}
		ls, err := s.Groups(ctx, testApp, []string{o.id}, true)
		if err != nil || ls[0].Err != nil {
			t.Fatalf("Groups(%s): %v, %v", o.id, err, ls[0].Err)
		}
		if !reflect.DeepEqual(ls[0].Group, want) || !reflect.DeepEqual(ls[0].Members, wantMembers) {
			t.Errorf("%s upgraded to\n%+v with %+v\nwant\n%+v with %+v", o.id, ls[0].Group, ls[0].Members, want, wantMembers)
		}
	}
	for _, c := range []struct {
		account string
		want    []string
	}{{"alice", []string{"pub", "priv"}}, {"bob", []string{"@TGS#_c"}}} {
		p, err := s.JoinedGroups(ctx, testApp, c.account, tally.JoinedFilter{})
		var got []string
		for _, g := range p.Groups {
			got = append(got, g.ID)
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s joined %v, %v; want %v", c.account, got, err, c.want)
		}
	}
	if cs, err := s.Counters(ctx, testApp, "pub", nil); err != nil || len(cs) != 1 || cs[0].Value != 5 {
		t.Errorf("the counters of pub are %v, %v; want k=5", cs, err)
	}
}

// TestUpgradedGroupsTakeMembers adds members to an upgraded group: they
// follow its owner.
func TestUpgradedGroupsTakeMembers(t *testing.T) {
	dir := t.TempDir()
	writeOldStore(t, dir)
	s := openOn(t, vfs.Default, dir)
	if _, err := s.AddMembers(ctx, testApp, "pub", []string{"carol"}, 2000); err != nil {
		t.Fatal(err)
	}
	p, err := s.Members(ctx, testApp, "pub", tally.MemberQuery{})
	if err != nil || len(p.Members) != 2 || p.Members[1].Seq != 2 || p.Group.MemberNum != 2 || p.Group.InfoSeq != 2 {
		t.Fatalf("Members after an add = %+v, %v", p, err)
	}
}

// setRaw opens the database in dir without the store and sets keys in it,
// as an earlier or later release would have left them.
func setRaw(t *testing.T, dir string, kv map[string][]byte) {
	t.Helper()
	db, err := pebble.Open(dir, pebbleOptions(vfs.Default, silentLogger{}, DefaultMemoryBudget))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := db.NewBatch()
	for k, v := range kv {
		b.Set([]byte(k), v, nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// rawFormat reads the format key of the database in dir.
func rawFormat(t *testing.T, dir string) uint64 {
	t.Helper()
	db, err := pebble.Open(dir, pebbleOptions(vfs.Default, silentLogger{}, DefaultMemoryBudget))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := getFrom(db, formatKey())
	if err != nil {
		t.Fatal(err)
	}
	f, _ := binary.Uvarint(v)
	return f
}

// TestFormatBeforeSeq opens a store of the release before Seq, whose
// counters records start at their count: Open moves the format key on,
// so that that release would now refuse the store, and an old record
// reads as Seq 0 until the group's next change writes it anew.
func TestFormatBeforeSeq(t *testing.T) {
	dir := t.TempDir()
	s := openOn(t, vfs.Default, dir)
	mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
	s.Close()
	setRaw(t, dir, map[string][]byte{
		string(formatKey()):                      binary.AppendUvarint(nil, formatMembers),
		string(groupKey(tagCount, testApp, "a")): encodeCountersBeforeSeq([]tally.Counter{{Key: "k", Value: 5}}),
	})

	s = openOn(t, vfs.Default, dir)
	seq, cs, err := s.CounterState(ctx, testApp, "a")
	if err != nil || seq != 0 || answer(cs, nil) != "k=5" {
		t.Fatalf("an old record reads as #%d %v, %v; want #0 k=5", seq, cs, err)
	}
	if _, err := s.UpdateCounters(ctx, testApp, "a", tally.ModeIncrease, []tally.Counter{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if v := rawRecord(t, s, "a"); len(v) == 0 || v[0] != countersSeq {
		t.Fatalf("after a change the record is %x, not in this release's format", v)
	}
	s.Close()
	if f := rawFormat(t, dir); f != formatLatest {
		t.Fatalf("the format key says %d, want %d", f, formatLatest)
	}
	s = openOn(t, vfs.Default, dir)
	if seq, cs, err := s.CounterState(ctx, testApp, "a"); err != nil || seq != 1 || answer(cs, nil) != "k=6" {
		t.Fatalf("after reopen a is #%d %v, %v; want #1 k=6", seq, cs, err)
	}
}

// rawRecord reads a group's counters record straight from Pebble.
func rawRecord(t *testing.T, s *Store, id string) []byte {
	t.Helper()
	if err := s.enter(); err != nil {
		t.Fatal(err)
	}
	defer s.closeMu.RUnlock()
	v, err := s.get(groupKey(tagCount, testApp, id))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestFormatOfNewerRelease refuses a store whose format key says a later
// release wrote it: its records may not read as this release expects.
func TestFormatOfNewerRelease(t *testing.T) {
	dir := t.TempDir()
	openOn(t, vfs.Default, dir).Close()
	setRaw(t, dir, map[string][]byte{string(formatKey()): binary.AppendUvarint(nil, formatLatest+1)})
	s, err := open(dir, testOptions(vfs.Default))
	if err == nil {
		s.Close()
		t.Fatal("Open took a store of a newer format")
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("format %d", formatLatest+1)) {
		t.Fatalf("Open = %v, want an error naming format %d", err, formatLatest+1)
	}
}
