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
//     A call that fails with an *Error changes nothing; one that fails with
//     an internal error may or may not have been applied, as when a
//     networked backend loses its connection during a commit.
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
// bytes, items 1..20 with distinct keys, UserIDs valid, accounts within the
// per-call limits); a Store checks only what needs its state. The rules that
// do need state are functions of this package (ApplyCounters,
// ApplyGroupChange, PlanAdd, PlanDelete), which every Store applies to what
// it read, so that the rules are the same on every backend.
type Store interface {
	// CreateGroup stores a new group and its first members, as
	// NewGroup.Build returns them, giving each member its Seq in list
	// order. When g.ID is empty it picks a fresh generated id; otherwise
	// the id must be free (ErrGroupIDInUse). It sets g.ID.
	CreateGroup(ctx context.Context, app uint32, g *Group, members []Member) error

	// DestroyGroup removes a group with its members and counters
	// (ErrGroupNotFound if there is none).
	DestroyGroup(ctx context.Context, app uint32, id string) error

	// Groups looks up each id, in order; a missing group gets
	// ErrGroupNotFound in its GroupLookup. With members, each found group
	// comes with all its members, as Members orders them, read with it
	// in one view.
	Groups(ctx context.Context, app uint32, ids []string, members bool) ([]GroupLookup, error)

	// ListGroups returns one page of the app's groups in creation order.
	ListGroups(ctx context.Context, app uint32, f GroupFilter) (GroupPage, error)

	// ModifyGroup applies one modify_group_base_info request with
	// ApplyGroupChange at time now. Errors: ErrGroupNotFound and those of
	// ApplyGroupChange.
	ModifyGroup(ctx context.Context, app uint32, id string, ch *GroupChange, now int64) error

	// AddMembers applies one add_group_member request with PlanAdd at
	// time now, giving the new members the next Seqs in request order,
	// and returns each account's result in request order. Errors:
	// ErrGroupNotFound and those of PlanAdd.
	AddMembers(ctx context.Context, app uint32, id string, accounts []string, now int64) ([]AddResult, error)

	// DeleteMembers applies one delete_group_member request with
	// PlanDelete at time now. Errors: ErrGroupNotFound and those of
	// PlanDelete.
	DeleteMembers(ctx context.Context, app uint32, id string, accounts []string, now int64) error

	// Members returns one page of the group's members: the owner first,
	// then by Seq. Errors: ErrGroupNotFound, and those of
	// CheckMemberCall(ReadMembersCall).
	Members(ctx context.Context, app uint32, id string, q MemberQuery) (MemberPage, error)

	// Roles returns the role of each account in the group, in order;
	// RoleNone for one that is not a member. Errors: ErrGroupNotFound,
	// and those of CheckMemberCall(ReadMembersCall).
	Roles(ctx context.Context, app uint32, id string, accounts []string) ([]Role, error)

	// JoinedGroups returns one page of the groups the account is a member
	// of. The page is one view of the store, and like every read it
	// shows no membership that a crash could take back.
	JoinedGroups(ctx context.Context, app uint32, account string, f JoinedFilter) (JoinedPage, error)

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
