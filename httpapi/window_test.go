package httpapi

import (
	"context"
	"testing"
	"time"
)

var ctx = context.Background()

func TestWindow(t *testing.T) {
	start := time.Unix(1700000000, 0)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	w := newWindow(3)
	for _, c := range []struct {
		ms int
		ok bool
	}{
		{0, true}, {1, true}, {500, true},
		{600, false}, // Three calls in the last second.
		{999, false},
		{1005, false}, // The slot of the calls at 0 and 1 ms is still counted.
		{1015, true},  // Now it is not: two calls are free again.
		{1016, true},
		{1017, false},
		{5000, true}, // Long idle: everything forgotten.
		{4000, true}, // A clock step back counts in the newest slot.
		{4000, true},
		{4000, false},
	} {
		if _, ok, _ := w.acquire(ctx, at(c.ms)); ok != c.ok {
			t.Fatalf("at %d ms: admitted=%v, want %v", c.ms, ok, c.ok)
		}
	}
}

// TestWindowNeverOverAdmits checks the promise users rely on: in any one
// second, at most limit calls get through, whatever the pattern.
func TestWindowNeverOverAdmits(t *testing.T) {
	const limit = 50
	w := newWindow(limit)
	start := time.Unix(1700000000, 0)
	var admitted []time.Duration
	for i := range 20000 {
		d := time.Duration(i) * 370 * time.Microsecond
		if _, ok, _ := w.acquire(ctx, start.Add(d)); ok {
			admitted = append(admitted, d)
		}
	}
	for i := limit; i < len(admitted); i++ {
		if admitted[i]-admitted[i-limit] < time.Second {
			t.Fatalf("calls %d and %d are %v apart: %d calls within a second", i-limit, i, admitted[i]-admitted[i-limit], limit+1)
		}
	}
	// And it does not starve: over 7.4 s at a limit of 50/s, close to 370 get in.
	if len(admitted) < 7*limit {
		t.Fatalf("only %d calls admitted", len(admitted))
	}
}

func TestWindowRelease(t *testing.T) {
	w := newWindow(1)
	now := time.Unix(1700000000, 0)
	slot, ok, _ := w.acquire(ctx, now)
	if !ok {
		t.Fatal("first call refused")
	}
	if _, ok, _ := w.acquire(ctx, now); ok {
		t.Fatal("second call admitted")
	}
	w.release(slot)
	if _, ok, _ := w.acquire(ctx, now); !ok {
		t.Fatal("call after release refused")
	}
}
