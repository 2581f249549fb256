package client

import (
	"fmt"

	"github.com/tallyserver/tally"
)

// Error is a call the server refused: an answer with "ActionStatus":"FAIL".
// Code and Info are its ErrorCode and ErrorInfo.
type Error struct {
	// Command is the command that was called, such as
	// "update_group_counter".
	Command string
	Code    tally.Code
	Info    string
	// RequestID is the answer's X-Request-Id, which Tally's log line of
	// the failure carries too; "" when the server sent none.
	RequestID string
}

func (e *Error) Error() string {
	return fmt.Sprintf("tally: %s: %d %s: %s", e.Command, int(e.Code), e.Code, e.Info)
}

// ResponseError is an answer that is not a Tencent envelope: an HTTP
// status other than 200, or a body that is not one JSON object with
// ActionStatus, ErrorCode and ErrorInfo that agree. It comes from
// something other than a Tally or Tencent server, such as a proxy in
// between, so whether a write was applied is unknown.
type ResponseError struct {
	Command    string
	StatusCode int
	// Body is the start of the answer's body, to show what answered.
	Body string
	// Err says what is wrong with a body that came with status 200; it
	// is nil when the status is what is wrong.
	Err error
}

func (e *ResponseError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("tally: %s: HTTP status %d, not 200: %q", e.Command, e.StatusCode, e.Body)
	}
	return fmt.Sprintf("tally: %s: the answer is not a Tencent envelope: %v: %q", e.Command, e.Err, e.Body)
}

func (e *ResponseError) Unwrap() error { return e.Err }

// maxErrorBody bounds the part of a body that a ResponseError keeps: enough
// to recognise a proxy's error page, not enough to flood a log.
const maxErrorBody = 256

func responseError(command string, status int, body []byte, err error) *ResponseError {
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	return &ResponseError{Command: command, StatusCode: status, Body: string(body), Err: err}
}
