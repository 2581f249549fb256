package tally

import (
	"errors"
	"fmt"
)

// Code is a Tencent Cloud Chat ErrorCode. Zero means success.
//
// The codes are defined in one place, errors.json, one row each; go
// generate turns it into errors_gen.go, which holds the constants and
// codeTable. To add a code, add its row and run go generate.
type Code int

//go:generate go run ./internal/gencodes

// CodeInfo describes one error code: its Go name, and the ErrorInfo of a
// failure that has nothing more specific to say ("" for most codes, whose
// failures always say what went wrong).
type CodeInfo struct {
	Code    Code
	Name    string
	Message string
}

var codeIndex = func() map[Code]CodeInfo {
	m := make(map[Code]CodeInfo, len(codeTable))
	for _, c := range codeTable {
		m[c.Code] = c
	}
	return m
}()

// Codes returns the table of every code Tally can answer with.
func Codes() []CodeInfo { return append([]CodeInfo(nil), codeTable[:]...) }

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

// An app's back end may refuse a Group.CallbackBeforeCreateGroup with a
// code of its own, from MinAppCode to MaxAppCode, which Tencent hands to
// the caller as it is, with the back end's ErrorInfo. Such codes are the
// app's, so they are in no table: an *Error carries one like any other.
const (
	MinAppCode Code = 10100
	MaxAppCode Code = 10200
)

// IsAppCode reports whether c is one of the codes an app's back end may
// answer with, MinAppCode to MaxAppCode.
func (c Code) IsAppCode() bool { return c >= MinAppCode && c <= MaxAppCode }
