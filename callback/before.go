package callback

import (
	"context"
	"strconv"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/jsonstr"
)

// BeforeCreateGroupCommand is the CallbackCommand of the before-callback
// of create_group.
const BeforeCreateGroupCommand = "Group.CallbackBeforeCreateGroup"

// BeforeCreateGroup is what a Group.CallbackBeforeCreateGroup tells the
// app's back end of a create_group about to be made.
type BeforeCreateGroup struct {
	// Operator is the caller's identifier, and ClientIP its address.
	Operator, ClientIP string
	// Time is when the call was made, the body's EventTime.
	Time time.Time
	// Group is the group to be created, and Members its first members,
	// the owner among them.
	Group   *tally.Group
	Members []tally.Member
}

// body is the callback's JSON, in the order of Tencent's example.
// CreateGroupNum, the number of groups of the type that the owner has
// created, is 0: Tally keeps no count of groups by creator, and a count
// read at the moment of the call would be wrong under concurrent calls
// anyway.
func (r *BeforeCreateGroup) body() []byte {
	b := append(make([]byte, 0, 256), `{"CallbackCommand":"`+BeforeCreateGroupCommand+`","Operator_Account":`...)
	b = jsonstr.Append(b, r.Operator)
	b = append(b, `,"Owner_Account":`...)
	b = jsonstr.Append(b, r.Group.Owner)
	b = append(b, `,"Type":`...)
	b = jsonstr.Append(b, string(r.Group.Type))
	b = append(b, `,"Name":`...)
	b = jsonstr.Append(b, r.Group.Name)
	b = append(b, `,"CreateGroupNum":0,"MemberList":[`...)
	for i, m := range r.Members {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Member_Account":`...)
		b = jsonstr.Append(b, m.Account)
		b = append(b, '}')
	}
	b = append(b, `],"EventTime":`...)
	b = strconv.AppendInt(b, r.Time.UnixMilli(), 10)
	return append(b, '}')
}

// BeforeCreateGroup asks the app's back end whether create_group may go
// on, once, as Tencent does. refused, when not nil, is the error the
// caller gets: the back end answered ErrorCode 1, which the caller gets
// as 10016, or a code of its own from 10100 to 10200, which the caller
// gets as it is with the back end's ErrorInfo. failed, when not nil, is
// an attempt that failed (no answer within 2 s, a status other than 200,
// an answer that is no envelope, or an ErrorCode that is none of these);
// it allows the call, as Tencent's default is, and is returned for the
// caller to log. An app without the callback is allowed without a call.
func (c *Client) BeforeCreateGroup(ctx context.Context, app *tally.App, r *BeforeCreateGroup) (refused, failed error) {
	if !app.Callback.BeforeCreateGroup || app.Callback.URL == "" {
		return nil, nil
	}
	a, err := c.post(ctx, app, BeforeCreateGroupCommand, r.ClientIP, r.body())
	if err != nil {
		return nil, err
	}
	switch code := tally.Code(a.ErrorCode); {
	case code == 0:
		return nil, nil
	case code == 1:
		if a.ErrorInfo != "" {
			return tally.Errorf(tally.ErrCallbackRefused, "the app's back end refused the group: %s", a.ErrorInfo), nil
		}
		info, _ := tally.ErrCallbackRefused.Info()
		return &tally.Error{Code: tally.ErrCallbackRefused, Info: info.Message}, nil
	case code.IsAppCode():
		return &tally.Error{Code: code, Info: a.ErrorInfo}, nil
	default:
		return nil, &AttemptError{Command: BeforeCreateGroupCommand,
			Err: errUnknownCode(a.ErrorCode)}
	}
}

type errUnknownCode int64

func (e errUnknownCode) Error() string {
	return "the handler answered ErrorCode " + strconv.FormatInt(int64(e), 10) + ", which is neither 0, 1 nor 10100..10200"
}
