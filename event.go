package tally

import (
	"context"
	"time"
)

// EventKind is one of the after-events a write may cause, which Tally
// sends to an app's callback URL in Tencent's third-party callback format.
// Before-events (Group.CallbackBeforeCreateGroup) ask the app's back end
// before a write and are never stored; see package callback.
type EventKind uint8

// The after-events, in the order of EventKinds. The numbers are stored in
// outboxes: never renumber them.
const (
	EventAfterCreateGroup EventKind = iota + 1
	EventAfterGroupDestroyed
	EventAfterGroupInfoChanged
	EventAfterNewMemberJoin
	EventAfterMemberExit
	// EventAfterGroupCounterChanged is Tally's own: Tencent has no
	// callback for group counters.
	EventAfterGroupCounterChanged
)

// EventKinds lists every after-event.
var EventKinds = []EventKind{
	EventAfterCreateGroup, EventAfterGroupDestroyed, EventAfterGroupInfoChanged,
	EventAfterNewMemberJoin, EventAfterMemberExit, EventAfterGroupCounterChanged,
}

var eventCommands = [...]string{
	EventAfterCreateGroup:         "Group.CallbackAfterCreateGroup",
	EventAfterGroupDestroyed:      "Group.CallbackAfterGroupDestroyed",
	EventAfterGroupInfoChanged:    "Group.CallbackAfterGroupInfoChanged",
	EventAfterNewMemberJoin:       "Group.CallbackAfterNewMemberJoin",
	EventAfterMemberExit:          "Group.CallbackAfterMemberExit",
	EventAfterGroupCounterChanged: "Group.CallbackAfterGroupCounterChanged",
}

// Command returns the event's CallbackCommand, as the URL and the body
// name it; "" for a kind that is none of EventKinds.
func (k EventKind) Command() string {
	if int(k) >= len(eventCommands) {
		return ""
	}
	return eventCommands[k]
}

// ParseEventKind returns the after-event whose CallbackCommand is s.
func ParseEventKind(s string) (EventKind, bool) {
	for _, k := range EventKinds {
		if k.Command() == s {
			return k, true
		}
	}
	return 0, false
}

// EventSet is a set of after-events.
type EventSet uint16

// AllEvents holds every after-event: what an app with a callback URL and
// no callback_events list is sent.
const AllEvents EventSet = 1<<(EventAfterGroupCounterChanged+1) - 2

// Has reports whether k is in the set.
func (s EventSet) Has(k EventKind) bool { return s&(1<<k) != 0 }

// With returns the set with k in it.
func (s EventSet) With(k EventKind) EventSet { return s | 1<<k }

// Origin says who made a write, and which after-events the write is to
// record in the store's outbox: those the app asks for. The HTTP layer
// puts it in the context of each write; a write whose context holds none,
// or an empty Events, records no event.
type Origin struct {
	// Operator is the caller's identifier, the events' Operator_Account.
	Operator string
	// ClientIP is the caller's address, the callback URL's ClientIP.
	ClientIP string
	// Time is when the call was made, the events' EventTime.
	Time time.Time
	// Events are the after-events to record.
	Events EventSet
}

type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginOf returns the Origin ctx carries, and whether it asks for ev.
// A store calls it to learn whether a write records ev.
func OriginOf(ctx context.Context, ev EventKind) (Origin, bool) {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o, o.Events.Has(ev)
}

// Event is one after-event in a store's outbox.
type Event struct {
	// ID is the event's place in the outbox, set by the store: unique
	// in it, and increasing in the order a group's writes were made, so
	// that a group's events are delivered in order. The body carries it
	// as EventId, for a handler to drop a duplicate.
	ID      uint64
	App     uint32
	GroupID string
	Kind    EventKind
	// ClientIP is the Origin's: the callback URL carries it.
	ClientIP string
	// Time is EventTime, Unix milliseconds.
	Time int64
	// Body is the JSON object Tencent documents for the event, as the
	// Event* functions make it, without EventId, which is added when it
	// is sent.
	Body []byte
}

// Stored events are bounded: an event names at most the members of one
// call or of one group, so its body is at most some megabytes.

// Outbox is what a Store implements to keep after-events, for delivery
// to the apps' callback URLs at least once. The Store's other methods
// keep their contract; the outbox adds:
//
//   - A write whose context carries an Origin (WithOrigin) records, for
//     each after-event it causes that the Origin asks for, one Event, in
//     the same atomic and durable write as the change it reports: a change
//     that a crash takes back leaves no event, and a change that lasts
//     leaves its events. A write that changes nothing records nothing.
//   - A group's events get increasing IDs in the order its writes were
//     made.
//   - Events and DeleteEvents show and remove only durable events.
type Outbox interface {
	// Events returns up to limit events of the outbox, lowest ID first,
	// beginning with the lowest. The caller remembers which it holds.
	Events(ctx context.Context, limit int) ([]Event, error)

	// DeleteEvents removes delivered (or dropped) events by ID; an ID
	// not in the outbox is no error.
	DeleteEvents(ctx context.Context, ids []uint64) error

	// ClaimDelivery asks to be, for span from now, the one node that
	// delivers the outbox's events, as holder; it reports whether holder
	// is. A store of one node grants it always. A holder renews its claim
	// before it runs out; a node that dies stops renewing, and another
	// takes over once the claim has run out.
	ClaimDelivery(ctx context.Context, holder string, span time.Duration) (bool, error)
}
