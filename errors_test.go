package tally

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodeTable(t *testing.T) {
	// gencodes refuses a table that repeats a code or a name; this holds
	// the generated file to the same, should it be edited by hand.
	codes, names := map[Code]bool{}, map[string]bool{}
	for _, info := range Codes() {
		if codes[info.Code] || names[info.Name] {
			t.Fatalf("%d %s appears twice", info.Code, info.Name)
		}
		codes[info.Code], names[info.Name] = true, true
		if got, ok := info.Code.Info(); !ok || got != info {
			t.Fatalf("Info(%d) = %v, %v; want %v", info.Code, got, ok, info)
		}
		if info.Code.String() != info.Name {
			t.Fatalf("String(%d) = %q, want %q", info.Code, info.Code.String(), info.Name)
		}
	}
	if _, ok := ErrInternal.Info(); !ok || ErrorInfo(errors.New("x")) == "" {
		t.Fatal("ErrInternal needs its message: internal errors are answered with it")
	}
}

func TestErrorCodeAndInfo(t *testing.T) {
	for _, c := range []struct {
		err  error
		code Code
		info string
	}{
		{nil, OK, ""},
		{Errorf(ErrGroupNotFound, "group %q", "g"), ErrGroupNotFound, `group "g"`},
		{fmt.Errorf("wrapped: %w", Errorf(ErrInvalidGroupID, "bad id")), ErrInvalidGroupID, "bad id"},
		// Errors without a code are internal, and their text stays private.
		{errors.New("disk /var/x: I/O error"), ErrInternal, "internal server error; try again"},
	} {
		if got := ErrorCode(c.err); got != c.code {
			t.Errorf("ErrorCode(%v) = %d, want %d", c.err, got, c.code)
		}
		if got := ErrorInfo(c.err); got != c.info {
			t.Errorf("ErrorInfo(%v) = %q, want %q", c.err, got, c.info)
		}
	}
}

func TestAppCodes(t *testing.T) {
	// The app's codes must never collide with Tally's own, or a caller
	// could not tell a refusal of the app's back end from one of Tally's.
	for _, info := range Codes() {
		if info.Code.IsAppCode() {
			t.Errorf("%d (%s) is in the app's range %d..%d", info.Code, info.Name, MinAppCode, MaxAppCode)
		}
	}
	e := &Error{Code: 10150, Info: "banned word in the name"}
	if ErrorCode(e) != 10150 || ErrorInfo(e) != "banned word in the name" || !Code(10150).IsAppCode() || Code(10201).IsAppCode() {
		t.Errorf("an app's code does not pass through: %d %q", ErrorCode(e), ErrorInfo(e))
	}
}
