package tally

import "context"

// Change is one durable change of a group's counters, as the live counter
// stream reports it.
type Change struct {
	App     uint32
	GroupID string
	// Seq is the group's change number after this change. Every change
	// of a group's counters adds one to it; a call that changes nothing
	// (a Set to the value a key has, a delete of a missing key) is no
	// change and keeps it. A group starts at 0, and a group re-created
	// under an old id starts again at 0.
	Seq uint64
	// Counters are the keys whose values the change set, with their new
	// values, sorted by key.
	Counters []Counter
	// Deleted are the keys the change removed, sorted.
	Deleted []string
	// Destroyed says the group is gone: this is its last change, and Seq
	// the last it had. Counters and Deleted are empty.
	Destroyed bool
}

// ChangeFeed is what a Store implements to tell of its groups' changes,
// for the live counter stream. The Store's other methods keep their
// contract; the feed adds:
//
//   - Every change of a group's counters made through the Store, by
//     UpdateCounters, DeleteCounters or DestroyGroup, is handed to the
//     function given to OnChange once the change is durable, never
//     before: a change that a crash could take back is never told.
//   - A group's changes are handed over in increasing Seq order, each
//     once, from one goroutine at a time. Changes of different groups
//     may come in any order.
//   - The function must return quickly: the feed may wait for it before
//     telling of later changes.
//   - A store that many nodes share tells of the changes made through
//     this node only, so its Seqs may skip those made through others;
//     they reach this node another way (a message bus), and a gap tells
//     a subscriber's node to read CounterState.
type ChangeFeed interface {
	// OnChange sets the function the feed hands changes to. It is set
	// once, before the store serves calls.
	OnChange(fn func(Change))

	// CounterState returns a group's counters, sorted by key, and its
	// Seq, as of one durable state, with the errors of Counters:
	// ErrGroupNotFound, and ErrNoPermission for a Community.
	CounterState(ctx context.Context, app uint32, id string) (seq uint64, counters []Counter, err error)
}
