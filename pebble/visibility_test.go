package pebble

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble/internal/faulttest"
)

// answer renders what a call answered, to compare it with what it should.
func answer(cs []tally.Counter, err error) string {
	if err != nil {
		return fmt.Sprintf("error %d", tally.ErrorCode(err))
	}
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s=%d ", c.Key, c.Value)
	}
	return strings.TrimSpace(b.String())
}

func code(c tally.Code) string { return fmt.Sprintf("error %d", c) }

// The groups of the visibility cases. "a" holds counter n=1 and "d" exists;
// "p", a Private group of at most 4 members, has owner "o" and member "q";
// "x" does not exist yet.
var visibilityCases = []struct {
	name string
	// held is a write whose WAL sync is held back.
	held func(s *Store) error
	// probe is a call whose answer rests on held; want is that answer.
	probe func(s *Store) string
	want  string
}{
	{"counters after increase",
		func(s *Store) error { _, err := increase(s, "a", 1); return err },
		func(s *Store) string { return answer(s.Counters(ctx, testApp, "a", nil)) },
		"n=2"},
	{"same set after set, which writes nothing",
		func(s *Store) error { return set(s, "a", 5) },
		func(s *Store) string {
			return answer(s.UpdateCounters(ctx, testApp, "a", tally.ModeSet, []tally.Counter{{Key: "n", Value: 5}}))
		},
		"n=5"},
	{"counters after delete",
		func(s *Store) error { return s.DeleteCounters(ctx, testApp, "a", nil) },
		func(s *Store) string { return answer(s.Counters(ctx, testApp, "a", nil)) },
		""},
	{"counters after create, not ErrGroupNotFound",
		func(s *Store) error { return create(s, "x", tally.GroupAVChatRoom) },
		func(s *Store) string { return answer(s.Counters(ctx, testApp, "x", nil)) },
		""},
	{"delete of no counters after create, which writes nothing",
		func(s *Store) error { return create(s, "x", tally.GroupAVChatRoom) },
		func(s *Store) string { return answer(nil, s.DeleteCounters(ctx, testApp, "x", []string{"n"})) },
		""},
	{"ErrNoPermission after create of a Community",
		func(s *Store) error { return create(s, "x", tally.GroupCommunity) },
		func(s *Store) string { return answer(increase(s, "x", 1)) },
		code(tally.ErrNoPermission)},
	{"ErrGroupIDInUse after create",
		func(s *Store) error { return create(s, "x", tally.GroupAVChatRoom) },
		func(s *Store) string { return answer(nil, create(s, "x", tally.GroupPublic)) },
		code(tally.ErrGroupIDInUse)},
	{"lookup after create",
		func(s *Store) error { return create(s, "x", tally.GroupAVChatRoom) },
		func(s *Store) string { return lookup(s, "x") },
		"found"},
	{"list after create",
		func(s *Store) error { return create(s, "x", tally.GroupAVChatRoom) },
		func(s *Store) string {
			p, err := s.ListGroups(ctx, testApp, tally.GroupFilter{Limit: 10})
			return answer(nil, err) + fmt.Sprint(p.Total, p.IDs)
		},
		"5 [a d b p x]"},
	{"ErrGroupNotFound after destroy",
		func(s *Store) error { return s.DestroyGroup(ctx, testApp, "d") },
		func(s *Store) string { return answer(s.Counters(ctx, testApp, "d", nil)) },
		code(tally.ErrGroupNotFound)},
	{"lookup after destroy",
		func(s *Store) error { return s.DestroyGroup(ctx, testApp, "d") },
		func(s *Store) string { return lookup(s, "d") },
		code(tally.ErrGroupNotFound)},
	{"members after add",
		func(s *Store) error { return add(s, "p", "m") },
		func(s *Store) string { return members(s.Members(ctx, testApp, "p", tally.MemberQuery{})) },
		"o q m"},
	{"roles after add",
		func(s *Store) error { return add(s, "p", "m") },
		func(s *Store) string { return roles(s.Roles(ctx, testApp, "p", []string{"m", "o"})) },
		"Member Owner"},
	{"lookup with members after delete",
		func(s *Store) error { return s.DeleteMembers(ctx, testApp, "p", []string{"q"}, 2) },
		func(s *Store) string {
			ls, err := s.Groups(ctx, testApp, []string{"p"}, true)
			if err != nil {
				return answer(nil, err)
			}
			return members(tally.MemberPage{Members: ls[0].Members}, nil)
		},
		"o"},
	{"ErrGroupFull after add, which writes nothing",
		func(s *Store) error { return add(s, "p", "m") },
		func(s *Store) string { return answer(nil, add(s, "p", "m", "x", "y")) },
		code(tally.ErrGroupFull)},
	{"fields after modify",
		func(s *Store) error {
			return s.ModifyGroup(ctx, testApp, "p", &tally.GroupChange{Name: ptr("new")}, 2)
		},
		func(s *Store) string {
			ls, err := s.Groups(ctx, testApp, []string{"p"}, false)
			if err != nil {
				return answer(nil, err)
			}
			return ls[0].Group.Name
		},
		"new"},
	{"joined after add",
		func(s *Store) error { return add(s, "p", "m") },
		func(s *Store) string { return joined(s, "m") },
		"p"},
	{"joined after destroy",
		func(s *Store) error { return s.DestroyGroup(ctx, testApp, "p") },
		func(s *Store) string { return joined(s, "q") },
		""},
	// JoinedGroups reads under no latch, so it waits for every write
	// before it, even one to another group.
	{"joined after a write elsewhere",
		func(s *Store) error { _, err := increase(s, "a", 1); return err },
		func(s *Store) string { return joined(s, "q") },
		"p"},
}

// shown tells, for the cases whose probe holds no latch, when Pebble shows
// the held write. The sync is held once the batch is in the WAL, a moment
// before Pebble applies it; a probe under the latch waits for the writer,
// but JoinedGroups holds none, and until then may rightly answer without
// the write, which no answer has yet shown.
var shown = map[string]func(t *testing.T, s *Store) bool{
	"joined after add": func(t *testing.T, s *Store) bool {
		return rawHas(t, s, appendMemberKey(nil, testApp, "p", "m"))
	},
	"joined after destroy": func(t *testing.T, s *Store) bool {
		return !rawHas(t, s, groupKey(tagGroup, testApp, "p"))
	},
	"joined after a write elsewhere": func(t *testing.T, s *Store) bool { return rawValue(t, s, "a") == 2 },
}

// rawHas reports whether Pebble holds key, as no call of the store may
// read it: it sees writes that are not yet durable.
func rawHas(t *testing.T, s *Store, key []byte) bool {
	t.Helper()
	if err := s.enter(); err != nil {
		t.Fatal(err)
	}
	defer s.closeMu.RUnlock()
	v, err := s.get(key)
	if err != nil {
		t.Fatal(err)
	}
	return v != nil
}

func add(s *Store, id string, accounts ...string) error {
	_, err := s.AddMembers(ctx, testApp, id, accounts, 2)
	return err
}

func members(p tally.MemberPage, err error) string {
	if err != nil {
		return answer(nil, err)
	}
	var b strings.Builder
	for _, m := range p.Members {
		fmt.Fprintf(&b, "%s ", m.Account)
	}
	return strings.TrimSpace(b.String())
}

func roles(rs []tally.Role, err error) string {
	if err != nil {
		return answer(nil, err)
	}
	return strings.Trim(fmt.Sprint(rs), "[]")
}

func joined(s *Store, account string) string {
	p, err := s.JoinedGroups(ctx, testApp, account, tally.JoinedFilter{WithGroups: true})
	if err != nil {
		return answer(nil, err)
	}
	var b strings.Builder
	for _, g := range p.Groups {
		fmt.Fprintf(&b, "%s ", g.ID)
	}
	return strings.TrimSpace(b.String())
}

func ptr[T any](v T) *T { return &v }

func set(s *Store, id string, v int64) error {
	_, err := s.UpdateCounters(ctx, testApp, id, tally.ModeSet, []tally.Counter{{Key: "n", Value: v}})
	return err
}

func create(s *Store, id string, typ tally.GroupType) error {
	return createWith(s, testApp, id, typ, "")
}

func lookup(s *Store, id string) string {
	ls, err := s.Groups(ctx, testApp, []string{id}, false)
	if err != nil {
		return answer(nil, err)
	}
	if ls[0].Err != nil {
		return answer(nil, ls[0].Err)
	}
	return "found"
}

// async runs fn and delivers its answer.
func async[T any](fn func() T) <-chan T {
	ch := make(chan T, 1)
	go func() { ch <- fn() }()
	return ch
}

// blocked checks that ch delivers nothing within d.
func blocked[T any](t *testing.T, what string, ch <-chan T, d time.Duration) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s answered %v while the write it rests on was not durable", what, v)
	case <-time.After(d):
	}
}

// receive waits for ch's answer.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not answer", what)
		panic("unreachable")
	}
}

// groupOnOtherLatch returns a group id whose latch none of ids use, so
// that a call on it shares nothing with calls on them.
func groupOnOtherLatch(s *Store, ids ...string) string {
	for i := 0; ; i++ {
		id := fmt.Sprint("b", i)
		free := true
		for _, other := range ids {
			free = free && s.groupLatch(testApp, id) != s.groupLatch(testApp, other)
		}
		if free {
			return id
		}
	}
}

// TestVisibility holds back the WAL's sync while a write is on its way to
// stable storage, and checks that every answer that rests on that write
// waits for it: a crash would take the write back. An answer that rests
// only on durable writes comes at once.
func TestVisibility(t *testing.T) {
	for _, c := range visibilityCases {
		t.Run(c.name, func(t *testing.T) {
			var in faulttest.Injector
			s := openOn(t, errorfs.Wrap(vfs.Default, &in), t.TempDir())
			mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
			mustCreate(t, s, testApp, "d", tally.GroupAVChatRoom)
			b := groupOnOtherLatch(s, "a", "d", "p", "x")
			mustCreate(t, s, testApp, b, tally.GroupAVChatRoom)
			if err := createWith(s, testApp, "p", tally.GroupPrivate, "o", "q"); err != nil {
				t.Fatal(err)
			}
			if err := s.ModifyGroup(ctx, testApp, "p", &tally.GroupChange{MaxMemberNum: ptr[int64](4)}, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := increase(s, "a", 1); err != nil {
				t.Fatal(err)
			}
			if _, err := increase(s, b, 7); err != nil {
				t.Fatal(err)
			}
			if c.want == "5 [a d b p x]" {
				c.want = "5 [a d " + b + " p x]"
			}

			h := holdWALSyncs(t, &in)
			held := async(func() error { return c.held(s) })
			h.waitHeld(t)
			if shown := shown[c.name]; shown != nil {
				eventually(t, "Pebble shows the held write", func() bool { return shown(t, s) })
			}
			probe := async(func() string { return c.probe(s) })

			// A call on a group whose writes are all durable answers while
			// the sync is held.
			other := receive(t, "a read of a durable group", async(func() string {
				return answer(s.Counters(ctx, testApp, b, nil))
			}))
			if other != "n=7" {
				t.Fatalf("read of a durable group: %q, want n=7", other)
			}
			blocked(t, "the probe", probe, 100*time.Millisecond)
			blocked(t, "the held write", held, 0)

			h.release(nil)
			if err := receive(t, "the held write", held); err != nil {
				t.Fatalf("held write: %v", err)
			}
			if got := receive(t, "the probe", probe); got != c.want {
				t.Fatalf("probe answered %q, want %q", got, c.want)
			}
		})
	}
}

// rawValue reads counter n of a group straight from Pebble, as no call of
// the store may: it sees writes that are not yet durable.
func rawValue(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	if err := s.enter(); err != nil {
		t.Fatal(err)
	}
	defer s.closeMu.RUnlock()
	v, err := s.get(groupKey(tagCount, testApp, id))
	if err != nil {
		t.Fatal(err)
	}
	_, cs, err := decodeCounters(v)
	if err != nil || len(cs) != 1 {
		t.Fatalf("counters of %s: %v, %v", id, cs, err)
	}
	return cs[0].Value
}

// TestCrashWhileSyncHeld crashes the file system while an increment is
// applied but not yet synced. The crash takes the increment back, and no
// call had answered with it, though Pebble already showed it. Canceling
// the increment's context once it is applied changes none of this: a call
// that has changed anything runs to its end.
func TestCrashWhileSyncHeld(t *testing.T) {
	for _, c := range []struct {
		name   string
		cancel bool
	}{{"context-kept", false}, {"context-canceled-after-apply", true}} {
		t.Run(c.name, func(t *testing.T) { crashWhileSyncHeld(t, c.cancel) })
	}
}

func crashWhileSyncHeld(t *testing.T, cancelIncrement bool) {
	mem := vfs.NewCrashableMem()
	var in faulttest.Injector
	s := openOn(t, errorfs.Wrap(mem, &in), "/db")
	mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
	if _, err := increase(s, "a", 1); err != nil {
		t.Fatal(err)
	}

	h := holdWALSyncs(t, &in)
	incCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	inc := async(func() string {
		return answer(s.UpdateCounters(incCtx, testApp, "a", tally.ModeIncrease, []tally.Counter{{Key: "n", Value: 1}}))
	})
	h.waitHeld(t)
	read := async(func() string { return answer(s.Counters(ctx, testApp, "a", nil)) })
	// The sync is held once the batch is in the WAL, a moment before Pebble
	// applies it to the memtable; the writer holds the latch until then.
	eventually(t, "Pebble shows the unsynced n=2", func() bool { return rawValue(t, s, "a") == 2 })
	blocked(t, "the read", read, 100*time.Millisecond)
	blocked(t, "the increment", inc, 0)
	if cancelIncrement {
		cancel()
	}

	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	if got := valuesAfterCrash(t, crashed, "/db", []string{"a"}); got["a"] != 1 {
		t.Fatalf("after the crash n=%d, want 1: the increment was never synced", got["a"])
	}
	blocked(t, "the read", read, 0)
	blocked(t, "the increment", inc, 0)

	h.release(nil)
	if got := receive(t, "the increment", inc); got != "n=2" {
		t.Fatalf("increment answered %q", got)
	}
	if got := receive(t, "the read", read); got != "n=2" {
		t.Fatalf("read answered %q", got)
	}
	if got := valuesAfterCrash(t, mem.CrashClone(vfs.CrashCloneCfg{}), "/db", []string{"a"}); got["a"] != 2 {
		t.Fatalf("after a crash once synced n=%d, want 2", got["a"])
	}
}

// TestFailedSyncFailsReaders fails a held WAL sync while a read waits for
// it: the read fails with the write, and until the fault clears, no read
// shows the write, which never became durable. Reopening fails meanwhile,
// because flushing what it replays fails too.
func TestFailedSyncFailsReaders(t *testing.T) {
	mem := vfs.NewCrashableMem()
	var in faulttest.Injector
	s := openOn(t, errorfs.Wrap(mem, &in), "/db")
	mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
	if _, err := increase(s, "a", 1); err != nil {
		t.Fatal(err)
	}

	h := holdWALSyncs(t, &in)
	failTables := faulttest.Fail(faulttest.ErrIO, faulttest.DataOps, ".sst")
	in.Set(func(op errorfs.Op) error {
		if err := failTables(op); err != nil {
			return err
		}
		return h.inject(op)
	})
	inc := async(func() error { _, err := increase(s, "a", 1); return err })
	h.waitHeld(t)
	read := async(func() string { return answer(s.Counters(ctx, testApp, "a", nil)) })
	blocked(t, "the read", read, 100*time.Millisecond)

	h.release(faulttest.ErrIO)
	if err := receive(t, "the increment", inc); !isInternal(err) {
		t.Fatalf("increment whose sync failed: %v, want an internal error", err)
	}
	if got := receive(t, "the read", read); got != code(tally.ErrInternal) {
		t.Fatalf("read that waited for the failed sync answered %q, want an internal error", got)
	}
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
		if v, err := value(s, "a"); err == nil {
			t.Fatalf("read during the fault answered n=%d", v)
		}
	}
	if got := valuesAfterCrash(t, mem.CrashClone(vfs.CrashCloneCfg{}), "/db", []string{"a"}); got["a"] != 1 {
		t.Fatalf("after a crash during the fault n=%d, want 1", got["a"])
	}

	in.Set(nil)
	var v int64
	eventually(t, "the store serves again", func() bool {
		var err error
		v, err = value(s, "a")
		return err == nil
	})
	// The failed increment may or may not have survived: it was not
	// acknowledged. Whatever the store now shows is durable.
	if v != 1 && v != 2 {
		t.Fatalf("after the fault n=%d, want 1 or 2", v)
	}
	if got := valuesAfterCrash(t, mem.CrashClone(vfs.CrashCloneCfg{}), "/db", []string{"a"}); got["a"] != v {
		t.Fatalf("after a crash n=%d, but the store served %d", got["a"], v)
	}
}

// TestPendingKeepsFailedWrite checks the latch's side of the above: a write
// whose sync failed stays pending, so that a reader that saw it answers its
// error rather than the write.
func TestPendingKeepsFailedWrite(t *testing.T) {
	var l latch
	ok := &commit{done: make(chan struct{})}
	close(ok.done)
	l.last = ok
	if p := l.pending(); p != nil {
		t.Fatal("a durable write is still pending")
	}
	failed := &commit{done: make(chan struct{}), err: faulttest.ErrIO}
	close(failed.done)
	l.last = failed
	if p := l.pending(); p != failed || p.wait() != faulttest.ErrIO {
		t.Fatal("a failed write is no longer pending")
	}
}

// TestFailedSyncFailsJoinedGroups fails a held WAL sync while a user's
// list of groups waits for its barrier: the list rests on an add that
// never became durable, so it fails with it, and what the store lists once
// it has reopened is what a crash leaves.
func TestFailedSyncFailsJoinedGroups(t *testing.T) {
	mem := vfs.NewCrashableMem()
	var in faulttest.Injector
	s := openOn(t, errorfs.Wrap(mem, &in), "/db")
	if err := createWith(s, testApp, "p", tally.GroupPublic, "o"); err != nil {
		t.Fatal(err)
	}

	h := holdWALSyncs(t, &in)
	failTables := faulttest.Fail(faulttest.ErrIO, faulttest.DataOps, ".sst")
	in.Set(func(op errorfs.Op) error {
		if err := failTables(op); err != nil {
			return err
		}
		return h.inject(op)
	})
	added := async(func() error { return add(s, "p", "m") })
	h.waitHeld(t)
	list := async(func() string { return joined(s, "m") })
	blocked(t, "the list", list, 100*time.Millisecond)

	h.release(faulttest.ErrIO)
	if err := receive(t, "the add", added); !isInternal(err) {
		t.Fatalf("add whose sync failed: %v, want an internal error", err)
	}
	if got := receive(t, "the list", list); got != code(tally.ErrInternal) {
		t.Fatalf("list that waited for the failed sync answered %q, want an internal error", got)
	}
	crashed := openOn(t, mem.CrashClone(vfs.CrashCloneCfg{}), "/db")
	afterCrash := joined(crashed, "m")
	crashed.Close()

	in.Set(nil)
	var got string
	eventually(t, "the store serves again", func() bool {
		got = joined(s, "m")
		return got != code(tally.ErrInternal)
	})
	// The failed add may or may not have survived; it was not
	// acknowledged. What the store now lists is durable.
	if got != "" && got != "p" {
		t.Fatalf("after the fault m joined %q, want nothing or p", got)
	}
	if afterCrash != "" {
		t.Fatalf("after a crash during the fault m joined %q", afterCrash)
	}
	if after := joined(openOn(t, mem.CrashClone(vfs.CrashCloneCfg{}), "/db"), "m"); after != got {
		t.Fatalf("after a crash m joined %q, but the store listed %q", after, got)
	}
}
