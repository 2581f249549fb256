package httpapi

import (
	"context"
	"sync"
	"time"
)

// window is a sliding-window rate limiter: it admits a call only while
// fewer than limit calls were admitted in the last second. A token bucket
// would let through up to twice the limit in a second that starts with a
// full bucket; users who set "N calls per second" expect at most N.
//
// The second is kept as slots of 10 ms, one more than fit in a second, so
// that the window counted always covers a full second: the limiter can
// refuse a call slightly early, never admit one too many.
type window struct {
	mu    sync.Mutex
	limit int
	head  int64 // Number of the newest slot, in slot units since the epoch.
	total int   // Calls admitted in the slots held.
	slots [windowSlots]int32
}

const (
	slotLen     = 10 * time.Millisecond
	windowSlots = int(time.Second/slotLen) + 1
)

func newWindow(limit int) *window {
	return &window{limit: limit}
}

// acquire admits one call at now, returning the slot it was counted in
// for release; ok is false when the limit is reached.
func (w *window) acquire(_ context.Context, now time.Time) (slot int64, ok bool, err error) {
	slot = now.UnixNano() / int64(slotLen)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(slot)
	slot = w.head // A clock that stepped back counts in the newest slot.
	if w.total >= w.limit {
		return 0, false, nil
	}
	w.slots[slot%int64(windowSlots)]++
	w.total++
	return slot, true, nil
}

// release gives back a call acquired in slot, for a call that another
// limiter then refused.
func (w *window) release(slot int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if slot > w.head-int64(windowSlots) && w.slots[slot%int64(windowSlots)] > 0 {
		w.slots[slot%int64(windowSlots)]--
		w.total--
	}
}

// advance moves the window forward to slot, forgetting slots that fell
// out of it. Time going backwards only keeps the window where it is.
func (w *window) advance(slot int64) {
	if slot <= w.head {
		return
	}
	if slot-w.head >= int64(windowSlots) {
		w.slots = [windowSlots]int32{}
		w.total = 0
	} else {
		for s := w.head + 1; s <= slot; s++ {
			i := s % int64(windowSlots)
			w.total -= int(w.slots[i])
			w.slots[i] = 0
		}
	}
	w.head = slot
}
