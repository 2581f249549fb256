package tally

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodeTable(t *testing.T) {
	// Every code the package names must be described exactly once.
	named := []Code{OK, ErrInternal, ErrInvalidParameter, ErrNoPermission, ErrGroupNotFound,
		ErrInvalidGroupID, ErrGroupIDInUse, ErrEditionRequired, ErrTooManyCounters,
		ErrBadHTTPRequest, ErrBadJSON, ErrMissingAuth, ErrNoSuchApp, ErrAPIRateLimit,
		ErrUnknownCommand, ErrNotAdmin, ErrAppRateLimit, ErrMissingSDKAppID, ErrAppDisabled,
		ErrUserSigExpired, ErrUserSigMalformed, ErrUserSigBadHMAC, ErrUserSigIdentifier, ErrUserSigSDKAppID}
	if len(Codes()) != len(named) {
		t.Fatalf("table has %d codes, the package names %d", len(Codes()), len(named))
	}
	names := map[string]bool{}
	for _, c := range named {
		info, ok := c.Info()
		if !ok {
			t.Fatalf("code %d is not in the table", c)
		}
		if names[info.Name] {
			t.Fatalf("name %s used twice", info.Name)
		}
		names[info.Name] = true
		if c != OK && info.Message == "" {
			t.Fatalf("code %d has no default message", c)
		}
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
		{fmt.Errorf("wrapped: %w", NewError(ErrInvalidGroupID)), ErrInvalidGroupID, "invalid GroupId"},
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
