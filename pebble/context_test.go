package pebble

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/pebble/internal/faulttest"
)

// The contract suite checks calls whose context is done before they start;
// these tests check what the store does when it is done later: while the
// call waits for its latch it is given up, and once it has changed or read
// anything it runs to its end.

// TestContextDoneWhileWaitingForLatch cancels a call while another holds
// its group's latch: once it gets the latch it gives up, changing nothing.
func TestContextDoneWhileWaitingForLatch(t *testing.T) {
	s := openOn(t, vfs.Default, t.TempDir())
	mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
	if _, err := increase(s, "a", 1); err != nil {
		t.Fatal(err)
	}

	l := s.groupLatch(testApp, "a")
	l.mu.Lock()
	locked := true
	defer func() {
		if locked {
			l.mu.Unlock()
		}
	}()
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	inc := async(func() error {
		_, err := s.UpdateCounters(callCtx, testApp, "a", tally.ModeIncrease, []tally.Counter{{Key: "n", Value: 1}})
		return err
	})
	blocked(t, "the increment waiting for the latch", inc, 50*time.Millisecond)
	cancel()
	l.mu.Unlock()
	locked = false

	if err := receive(t, "the increment", inc); !errors.Is(err, context.Canceled) || !isInternal(err) {
		t.Fatalf("increment canceled while it waited for its latch: %v, want an internal error wrapping context.Canceled", err)
	}
	if v := mustValue(t, s, "a"); v != 1 {
		t.Fatalf("n=%d after the canceled increment, want 1", v)
	}
}

// TestContextDoneAfterApply cancels an increment, and a read that saw it,
// while the increment's WAL sync is held: the increment is applied, so
// both still wait for the sync and answer what it made durable.
func TestContextDoneAfterApply(t *testing.T) {
	mem := vfs.NewCrashableMem()
	var in faulttest.Injector
	s := openOn(t, errorfs.Wrap(mem, &in), "/db")
	mustCreate(t, s, testApp, "a", tally.GroupAVChatRoom)
	if _, err := increase(s, "a", 1); err != nil {
		t.Fatal(err)
	}

	h := holdWALSyncs(t, &in)
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	inc := async(func() string {
		return answer(s.UpdateCounters(callCtx, testApp, "a", tally.ModeIncrease, []tally.Counter{{Key: "n", Value: 1}}))
	})
	h.waitHeld(t)
	eventually(t, "Pebble shows the unsynced n=2", func() bool { return rawValue(t, s, "a") == 2 })
	read := async(func() string { return answer(s.Counters(callCtx, testApp, "a", nil)) })
	blocked(t, "the read", read, 100*time.Millisecond)
	cancel()
	blocked(t, "the canceled read", read, 50*time.Millisecond)
	blocked(t, "the canceled increment", inc, 0)

	h.release(nil)
	if got := receive(t, "the increment", inc); got != "n=2" {
		t.Fatalf("increment canceled after it was applied answered %q, want n=2", got)
	}
	if got := receive(t, "the read", read); got != "n=2" {
		t.Fatalf("read canceled after it saw the increment answered %q, want n=2", got)
	}
	if got := valuesAfterCrash(t, mem.CrashClone(vfs.CrashCloneCfg{}), "/db", []string{"a"}); got["a"] != 2 {
		t.Fatalf("after a crash n=%d, want the increment that was answered", got["a"])
	}
}
