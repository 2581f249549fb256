package tally

import "context"

// Store keeps the groups and counters of every app. It is the seam between
// the API and a storage engine; every implementation must pass the suite in
// package storetest.
//
// The contract, for every method:
//
//   - Durability: a method that changes state returns nil only once the change
//     is on stable storage, so that a crash after it returns loses nothing.
//   - Visibility: no method returns state that a crash could still take back.
//     A read that sees a write not yet durable waits, like the writer, until
//     it is.
//   - Atomicity: each call is applied to its group all or nothing, and calls on
//     the same group behave as if run one at a time (no lost increments).
//   - Errors: failures the client caused are *Error values with the codes
//     named below; anything else is an internal error and is answered 10002.
//     A call that fails changes nothing.
//   - Context: a store may ignore ctx. The HTTP layer passes the request's,
//     which net/http cancels when the client half-closes its connection
//     though the client still waits for the answer, so giving up on a done
//     ctx can fail a client that is there. A store that honours ctx gives
//     up a call only before the call has changed anything, with an error
//     that wraps ctx.Err() (an internal error). Once a call has begun to
//     change state it returns only when the change is durable or has
//     failed, as above, so that a done ctx never lets a caller see or be
//     told of a state that a crash could take back.
//
// Arguments have been validated by the caller (ids well formed, keys 1..128
// bytes, items 1..20 with distinct keys); a Store checks only what needs its
// state.
type Store interface {
	// CreateGroup stores a new group. When g.ID is empty it picks a fresh
	// generated id; otherwise the id must be free (ErrGroupIDInUse). It sets
	// g.ID and g.CreateTime.
	CreateGroup(ctx context.Context, app uint32, g *Group) error

	// DestroyGroup removes a group and all its counters (ErrGroupNotFound if
	// there is none).
	DestroyGroup(ctx context.Context, app uint32, id string) error

	// Groups looks up each id, in order; a missing group gets ErrGroupNotFound
	// in its GroupLookup.
	Groups(ctx context.Context, app uint32, ids []string) ([]GroupLookup, error)

	// ListGroups returns one page of the app's groups in creation order.
	ListGroups(ctx context.Context, app uint32, f GroupFilter) (GroupPage, error)

	// UpdateCounters applies one update_group_counter request with
	// ApplyCounters and returns the new values in request order. Errors:
	// ErrGroupNotFound, ErrNoPermission for a Community, and those of
	// ApplyCounters.
	UpdateCounters(ctx context.Context, app uint32, id string, mode Mode, items []Counter) ([]Counter, error)

	// Counters returns the group's counters as SelectCounters picks them.
	// Errors: ErrGroupNotFound, ErrNoPermission for a Community.
	Counters(ctx context.Context, app uint32, id string, keys []string) ([]Counter, error)

	// DeleteCounters removes the named counters, or all of them when keys is
	// empty. Errors: ErrGroupNotFound, ErrNoPermission for a Community.
	DeleteCounters(ctx context.Context, app uint32, id string, keys []string) error

	// Close releases the store; calls after Close fail.
	Close() error
}
