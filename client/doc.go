// Package client calls a Tally server, or Tencent Cloud Chat itself, over
// the REST API of groups, members and group counters: one typed method per
// command, each taking a context.Context.
//
//	c, err := client.New("http://127.0.0.1:8080", 1400000001, "administrator",
//		client.WithSecretKey(key))
//	...
//	ans, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{
//		GroupID:      "lobby",
//		Mode:         client.ModeIncrease,
//		GroupCounter: []tally.Counter{{Key: "likes", Value: 1}},
//	})
//	var e *client.Error
//	if errors.As(err, &e) && e.Code == tally.ErrGroupNotFound { ... }
//
// Requests and answers are structs whose JSON names are Tencent's own
// (GroupId, Owner_Account, MemberToDel_Account, ...), so that what a call
// sends can be read against Tencent's documents field by field. Optional
// fields are left out of the request when they hold their zero value;
// where the zero value is itself a change, as an empty Introduction is in
// ModifyGroupBaseInfoRequest, the field is a pointer, set with Go's
// new("...").
//
// # Errors
//
// A call the server refuses ("ActionStatus":"FAIL") returns an *Error with
// its ErrorCode as a tally.Code. GetGroupInfo is the exception: a group it
// cannot find fails its own entry, which GroupInfo.Err reports, and not
// the call. An answer that is no envelope at all, as a proxy's 502 page
// is, returns a *ResponseError. A call that got no answer returns the
// error of net/http, which errors.Is matches against the context's error
// when the context ended it. No error text holds the UserSig.
//
// # Retries
//
// The client retries nothing. A call that gets no answer, or an answer
// with code 10002, may or may not have been applied, and only the caller
// knows whether making it again is safe: an Increase made twice counts
// twice, and an add_group_member made twice answers "already a member"
// where the first said "added". (net/http itself sends a request again
// only where the server cannot have acted on it: on a kept-alive
// connection found closed before any byte of the request was written, or,
// over HTTP/2, on a stream the server refused or a connection it was
// leaving.)
//
// # The counter stream
//
// Watch follows the counters of groups as they change, over the server's
// live counter stream (Server-Sent Events): first each group's state,
// then a Message per change, in Seq order. Like the calls, it is never
// retried: a new Watch after a lost stream starts from each group's
// state, which is all a client needs to carry on.
package client
