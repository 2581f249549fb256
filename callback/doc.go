// Package callback sends an app's third-party callbacks in Tencent Cloud
// Chat's format: the before-callback that create_group asks
// (Group.CallbackBeforeCreateGroup), and the after-events that the store's
// outbox keeps, which a Deliverer sends at least once and in order per
// group.
//
// The wire format is Tencent's, so that a handler written for Tencent's
// callbacks runs unchanged: the URL's query (url.go), a JSON body with the
// CallbackCommand repeated, and an answer of HTTP 200 with
// {"ActionStatus":"OK","ErrorCode":0}. Tally adds one field to the
// after-events' bodies, EventId, for a handler to drop a duplicate.
package callback
