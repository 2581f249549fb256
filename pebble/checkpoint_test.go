package pebble

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble/internal/faulttest"
)

// dump returns every group of the test app with its counters, as text that
// two stores holding the same data give alike.
func dump(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	f := tally.GroupFilter{Limit: 2} // Several pages, so that cursors are compared too.
	for {
		page, err := s.ListGroups(ctx, testApp, f)
		if err != nil {
			t.Fatalf("ListGroups: %v", err)
		}
		fmt.Fprintf(&b, "page total=%d next=%d\n", page.Total, page.Next)
		found, err := s.Groups(ctx, testApp, page.IDs, true)
		if err != nil {
			t.Fatalf("Groups: %v", err)
		}
		for _, g := range found {
			fmt.Fprintf(&b, "group %s %+v %v\n  members %+v\n", g.ID, *g.Group, g.Err, g.Members)
			cs, err := s.Counters(ctx, testApp, g.ID, nil)
			if err != nil && tally.ErrorCode(err) != tally.ErrNoPermission {
				t.Fatalf("Counters(%s): %v", g.ID, err)
			}
			fmt.Fprintf(&b, "  counters %v %v\n", cs, err)
		}
		if page.Next == 0 {
			return b.String()
		}
		f.Next = page.Next
	}
}

// TestCheckpoint fills a store, with some of its data in tables and some
// only in the WAL, checkpoints it, and checks that the checkpoint opens as
// a store holding the same data, and none of what was written after it.
func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := openOn(t, vfs.Default, filepath.Join(dir, "store"))
	for i, typ := range []tally.GroupType{tally.GroupPublic, tally.GroupPrivate, tally.GroupCommunity, tally.GroupChatRoom, tally.GroupAVChatRoom} {
		mustCreate(t, s, testApp, fmt.Sprintf("g%d", i), typ)
	}
	set := []tally.Counter{{Key: "max", Value: 1<<63 - 1}, {Key: "min", Value: -1 << 63}, {Key: "zero", Value: 0}, {Key: "gone", Value: 7}}
	if _, err := s.UpdateCounters(ctx, testApp, "g1", tally.ModeSet, set); err != nil {
		t.Fatal(err)
	}
	if err := s.flush(); err != nil { // What follows is only in the WAL.
		t.Fatal(err)
	}
	for range 3 {
		if _, err := increase(s, "g0", 5); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteCounters(ctx, testApp, "g1", []string{"gone"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DestroyGroup(ctx, testApp, "g3"); err != nil {
		t.Fatal(err)
	}
	want := dump(t, s)

	cp := filepath.Join(dir, "checkpoint")
	if err := s.Checkpoint(cp); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	// Writes after the checkpoint change the store, not the checkpoint.
	if _, err := increase(s, "g0", 1); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, testApp, "later", tally.GroupPublic)

	restored := openOn(t, vfs.Default, cp)
	if got := dump(t, restored); got != want {
		t.Errorf("the checkpoint holds\n%s\nwant\n%s", got, want)
	}
	if v := mustValue(t, restored, "g0"); v != 15 {
		t.Errorf("g0 in the checkpoint is %d, want 15", v)
	}
}

// TestCheckpointRefusals checks the checkpoints that cannot be made: into
// a directory that exists, of a closed store, and of a faulted one.
func TestCheckpointRefusals(t *testing.T) {
	t.Run("dir exists", func(t *testing.T) {
		dir := t.TempDir()
		s := openOn(t, vfs.Default, filepath.Join(dir, "store"))
		err := s.Checkpoint(dir)
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("Checkpoint into an existing dir: %v, want an error naming %s", err, dir)
		}
		if !s.serving() {
			t.Error("a refused checkpoint faulted the store")
		}
	})
	t.Run("closed", func(t *testing.T) {
		dir := t.TempDir()
		s := openOn(t, vfs.Default, filepath.Join(dir, "store"))
		s.Close()
		cp := filepath.Join(dir, "cp")
		if err := s.Checkpoint(cp); !errors.Is(err, errClosed) {
			t.Errorf("Checkpoint of a closed store: %v, want %v", err, errClosed)
		}
		if _, err := os.Stat(cp); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused checkpoint left %s (%v)", cp, err)
		}
	})
	t.Run("faulted", func(t *testing.T) {
		var in faulttest.Injector
		dir := t.TempDir()
		s := openOn(t, errorfs.Wrap(vfs.Default, &in), filepath.Join(dir, "store"))
		mustCreate(t, s, testApp, "g", tally.GroupPublic)
		// Every WAL sync fails from now on, so the store cannot reopen.
		in.Set(faulttest.Fail(faulttest.ErrIO, faulttest.SyncOps, ".log"))
		if _, err := increase(s, "g", 1); err == nil {
			t.Fatal("an increase succeeded though its WAL sync failed")
		}
		cp := filepath.Join(dir, "cp")
		if err := s.Checkpoint(cp); err == nil {
			t.Error("Checkpoint of a faulted store succeeded")
		}
		if _, err := os.Stat(cp); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused checkpoint left %s (%v)", cp, err)
		}
	})
}

// TestCheckpointFault makes writing the checkpoint fail, as on a full
// disk. The checkpoint is refused and removed; the store, which wrote it
// through its faultvfs.FS, counts a fault and serves again once it has
// reopened, with everything it had acknowledged.
func TestCheckpointFault(t *testing.T) {
	var in faulttest.Injector
	dir := t.TempDir()
	s := openOn(t, errorfs.Wrap(vfs.Default, &in), filepath.Join(dir, "store"))
	mustCreate(t, s, testApp, "g", tally.GroupPublic)
	if _, err := increase(s, "g", 3); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "cp")
	in.Set(func(op errorfs.Op) error {
		if strings.HasPrefix(op.Path, cp) && faulttest.IsKind(op, append([]errorfs.OpKind{errorfs.OpCreate}, faulttest.WriteOps...)) {
			return syscall.ENOSPC
		}
		return nil
	})
	err := s.Checkpoint(cp)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Checkpoint on a full disk: %v, want ENOSPC", err)
	}
	if _, err := os.Stat(cp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed checkpoint left %s (%v)", cp, err)
	}
	eventually(t, "the store counts a fault", func() bool { return s.faults.Load() == 1 })
	eventually(t, "the store serves again", s.serving)
	if v := mustValue(t, s, "g"); v != 3 {
		t.Errorf("after the reopening g is %d, want 3", v)
	}
	in.Set(nil)
	if err := s.Checkpoint(cp); err != nil {
		t.Errorf("Checkpoint once the disk has room: %v", err)
	}
	if !reflect.DeepEqual(dump(t, s), dump(t, openOn(t, vfs.Default, cp))) {
		t.Error("the checkpoint differs from the store")
	}
}
