package tally

import (
	"errors"
	"fmt"
)

// Code is a Tencent Cloud Chat ErrorCode. Zero means success.
type Code int

// The codes Tally answers with. Their names and default messages are in
// codeTable; a code missing there is a bug that TestCodeTable catches.
const (
	OK Code = 0

	// Codes of the group service (10000..19999).
	ErrInternal         Code = 10002
	ErrInvalidParameter Code = 10004
	ErrNoPermission     Code = 10007
	ErrGroupNotFound    Code = 10010
	ErrInvalidGroupID   Code = 10015
	ErrGroupIDInUse     Code = 10021
	ErrEditionRequired  Code = 10059
	ErrTooManyCounters  Code = 10063

	// Public codes of the REST gateway (60000..79999).
	ErrBadHTTPRequest    Code = 60002
	ErrBadJSON           Code = 60003
	ErrMissingAuth       Code = 60004
	ErrNoSuchApp         Code = 60006
	ErrAPIRateLimit      Code = 60007
	ErrUnknownCommand    Code = 60009
	ErrNotAdmin          Code = 60010
	ErrAppRateLimit      Code = 60011
	ErrMissingSDKAppID   Code = 60012
	ErrAppDisabled       Code = 60016
	ErrUserSigExpired    Code = 70001
	ErrUserSigMalformed  Code = 70003
	ErrUserSigBadHMAC    Code = 70009
	ErrUserSigIdentifier Code = 70013
	ErrUserSigSDKAppID   Code = 70014
)

// CodeInfo describes one error code: its Go name and the message used when a
// failure has nothing more specific to say.
type CodeInfo struct {
	Code    Code
	Name    string
	Message string
}

// codeTable is the one place where Tencent's codes are described. Keep it in
// the order of the constants above.
var codeTable = []CodeInfo{
	{OK, "OK", ""},
	{ErrInternal, "ErrInternal", "internal server error; try again"},
	{ErrInvalidParameter, "ErrInvalidParameter", "invalid parameter"},
	{ErrNoPermission, "ErrNoPermission", "insufficient permission for this operation"},
	{ErrGroupNotFound, "ErrGroupNotFound", "the group does not exist or has been destroyed"},
	{ErrInvalidGroupID, "ErrInvalidGroupID", "invalid GroupId"},
	{ErrGroupIDInUse, "ErrGroupIDInUse", "the GroupId is already in use"},
	{ErrEditionRequired, "ErrEditionRequired", "group counters need the Pro edition or above"},
	{ErrTooManyCounters, "ErrTooManyCounters", "a group holds at most 20 counter keys"},
	{ErrBadHTTPRequest, "ErrBadHTTPRequest", "the HTTP request could not be parsed"},
	{ErrBadJSON, "ErrBadJSON", "the request body is not one JSON object"},
	{ErrMissingAuth, "ErrMissingAuth", "identifier or usersig is missing"},
	{ErrNoSuchApp, "ErrNoSuchApp", "sdkappid is not a known app"},
	{ErrAPIRateLimit, "ErrAPIRateLimit", "the app's per-API rate limit is exceeded"},
	{ErrUnknownCommand, "ErrUnknownCommand", "unknown service or command"},
	{ErrNotAdmin, "ErrNotAdmin", "identifier is not an admin of the app"},
	{ErrAppRateLimit, "ErrAppRateLimit", "the app-wide rate limit is exceeded"},
	{ErrMissingSDKAppID, "ErrMissingSDKAppID", "sdkappid is missing"},
	{ErrAppDisabled, "ErrAppDisabled", "the app is disabled"},
	{ErrUserSigExpired, "ErrUserSigExpired", "the UserSig has expired"},
	{ErrUserSigMalformed, "ErrUserSigMalformed", "the UserSig cannot be decoded"},
	{ErrUserSigBadHMAC, "ErrUserSigBadHMAC", "the UserSig signature does not verify"},
	{ErrUserSigIdentifier, "ErrUserSigIdentifier", "identifier differs from the UserSig's identifier"},
	{ErrUserSigSDKAppID, "ErrUserSigSDKAppID", "sdkappid differs from the UserSig's sdkappid"},
}

var codeIndex = func() map[Code]CodeInfo {
	m := make(map[Code]CodeInfo, len(codeTable))
	for _, c := range codeTable {
		m[c.Code] = c
	}
	return m
}()

// Codes returns the table of every code Tally can answer with.
func Codes() []CodeInfo { return append([]CodeInfo(nil), codeTable...) }

// Info returns the table entry of c, and false for a code not in the table.
func (c Code) Info() (CodeInfo, bool) {
	i, ok := codeIndex[c]
	return i, ok
}

func (c Code) String() string {
	if i, ok := codeIndex[c]; ok {
		return i.Name
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// Error is a failure that maps to one ErrorCode. Info is the human-readable
// ErrorInfo; it names the offending field or value where there is one.
type Error struct {
	Code Code
	Info string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d: %s", int(e.Code), e.Info)
}

// Errorf returns an *Error with code and a formatted ErrorInfo.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Info: fmt.Sprintf(format, args...)}
}

// NewError returns an *Error with the code's default message.
func NewError(code Code) *Error {
	return &Error{Code: code, Info: codeIndex[code].Message}
}

// ErrorCode returns the code of err: OK for nil, the code of an *Error in its
// chain, and ErrInternal for anything else, since an error that was not
// mapped to a code is by definition one the client cannot fix.
func ErrorCode(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrInternal
}

// ErrorInfo returns the ErrorInfo of err. Internal errors are reported with
// the generic message only: their text may carry paths or engine details
// that are of no use to a client.
func ErrorInfo(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Info
	}
	return codeIndex[ErrInternal].Message
}
