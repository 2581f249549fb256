package main

import (
	"testing"
	"time"
)

// TestHistogram puts latencies on both sides of the fine buckets' end and
// past the last coarse one: each quantile must be the upper edge of the
// bucket that holds it.
func TestHistogram(t *testing.T) {
	var h histogram
	for _, d := range []time.Duration{5 * time.Microsecond, 99_995 * time.Microsecond, 100 * time.Millisecond, 2500*time.Millisecond + 1, time.Minute} {
		h.add(d)
	}
	var o histogram
	o.merge(&h)
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{
		{0, 10 * time.Microsecond},
		{0.2, 100 * time.Millisecond},
		{0.4, 101 * time.Millisecond},
		{0.6, 2501 * time.Millisecond},
		{0.8, 10*time.Second + time.Millisecond},
	} {
		if got := o.quantile(c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
}
