package pebble

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tallyserver/tally"
)

// The contract suite checks calls whose context is done before they start;
// this test checks a call whose context is done while it waits for its
// latch. One whose context is done after it has changed anything runs to
// its end, as TestCrashWhileSyncHeld checks.

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
