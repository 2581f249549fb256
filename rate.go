package tally

import (
	"context"
	"time"
)

// RateLedger shares rate limits among the nodes that serve the same apps
// from one store, so that all of them together admit at most an app's
// limit in any one second, as one node does on its own. A store that many
// nodes share implements it; a node whose store does not counts on its
// own.
//
// A node leases calls in advance and admits them locally until the lease
// is used up or expires, so that it asks the ledger once per lease rather
// than once per call. The ledger counts every call it leased, used or not:
// a lease that expires unused is the only slack, and it errs on the safe
// side, refusing calls the limit would have allowed.
type RateLedger interface {
	// Lease asks for up to want calls under key, whose limit is limit
	// calls per second. It returns how many it granted, 0 when the limit
	// is reached, and for how long they may be used, counted from before
	// Lease was called. Calls used within that time, under any number of
	// leases and nodes, never exceed limit in any one second, whatever
	// the nodes' clocks say: the ledger keeps time by a clock of its own.
	Lease(ctx context.Context, key RateKey, want, limit int) (granted int, valid time.Duration, err error)
}

// RateKey names one rate limit: an app's limit on one command, or, with
// Command empty, its limit on all of them together.
type RateKey struct {
	App     uint32
	Command string
}
