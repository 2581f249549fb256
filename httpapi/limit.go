package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/tallyserver/tally"
)

// limiter admits calls under one rate limit: a sliding window of this
// node's own (window), or a share of a limit that many nodes keep
// together through a tally.RateLedger (leased).
type limiter interface {
	// acquire admits one call that arrived at now, by the server's
	// clock, or refuses it. A call admitted and then refused by another
	// limit is given back with release(token).
	acquire(ctx context.Context, now time.Time) (token int64, ok bool, err error)
	release(token int64)
}

// newLimiter returns the limiter of a limit of n calls per second under
// key: nil when n is 0 (unlimited), a leased share when the store keeps a
// ledger, and a window of this node's own otherwise.
func newLimiter(ledger tally.RateLedger, key tally.RateKey, n int) limiter {
	switch {
	case n <= 0:
		return nil
	case ledger != nil:
		return &leased{ledger: ledger, key: key, limit: n, want: 1}
	}
	return newWindow(n)
}

// leased admits the calls of leases taken from a tally.RateLedger, one
// lease at a time, so that the nodes sharing the ledger together keep the
// limit. A lease is asked for when the last one is used up or has
// expired; the calls that arrive meanwhile wait for it, and one lease
// answers them all. A lease of none, the limit reached, refuses every call
// until it expires without asking the ledger again.
//
// It keeps time by the machine's monotonic clock, not the server's Now: a
// lease is valid for a span of real time, which the ledger measures.
type leased struct {
	ledger tally.RateLedger
	key    tally.RateKey
	limit  int

	mu sync.Mutex
	// left are the calls of the current lease not yet admitted, until
	// its expiry; used those admitted.
	left, used int
	until      time.Time
	// want is the size of the next lease: doubled when a lease is used
	// up before it expires, cut to what was used when one expires with
	// calls left, so that a node asks for about what it admits and
	// leaves the rest of the limit to the others.
	want int
	// asking is closed when the lease being asked for has come; nil
	// when none is.
	asking chan struct{}
}

func (l *leased) acquire(ctx context.Context, _ time.Time) (int64, bool, error) {
	// A client that half-closes its connection cancels the request's
	// context while it still waits for the answer; the lease is short.
	ctx = context.WithoutCancel(ctx)
	for {
		now := time.Now()
		l.mu.Lock()
		if now.Before(l.until) {
			if l.left > 0 {
				l.left--
				l.used++
				l.mu.Unlock()
				return 1, true, nil
			}
			if l.used == 0 && l.asking == nil {
				// The ledger granted nothing: the limit is reached
				// until this lease's time is over.
				l.mu.Unlock()
				return 0, false, nil
			}
		}
		if ch := l.asking; ch != nil {
			l.mu.Unlock()
			<-ch
			continue
		}
		ch := make(chan struct{})
		l.asking = ch
		l.adapt(now)
		want := l.want
		l.mu.Unlock()

		granted, valid, err := l.ledger.Lease(ctx, l.key, want, l.limit)

		l.mu.Lock()
		if err == nil {
			l.left, l.used, l.until = granted, 0, now.Add(valid)
		}
		l.asking = nil
		close(ch)
		l.mu.Unlock()
		if err != nil {
			return 0, false, err
		}
		if granted == 0 {
			return 0, false, nil
		}
	}
}

// adapt sets the size of the next lease from how the last one went. The
// caller holds l.mu.
func (l *leased) adapt(now time.Time) {
	switch {
	case l.until.IsZero():
	case l.left == 0 && now.Before(l.until):
		l.want = min(2*l.want, l.limit)
	default:
		l.want = max(1, l.used+l.used/2)
	}
}

// release gives a call back to the current lease, if it has not expired.
func (l *leased) release(int64) {
	l.mu.Lock()
	if time.Now().Before(l.until) && l.used > 0 {
		l.left++
		l.used--
	}
	l.mu.Unlock()
}
