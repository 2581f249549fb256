package httpapi

import (
	"net/url"
	"strconv"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/usersig"
)

// query holds the URL parameters of a REST call. Names are matched exactly.
type query struct {
	sdkappid, identifier, usersig string
}

// parseQuery reads the URL parameters, refusing a malformed query, a
// random that is not a uint32 and a contenttype other than json.
func parseQuery(raw string) (query, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return query{}, tally.Errorf(tally.ErrBadHTTPRequest, "the URL query cannot be parsed: %v", err)
	}
	if v, ok := vals["random"]; ok {
		if _, err := strconv.ParseUint(v[0], 10, 32); err != nil {
			return query{}, tally.Errorf(tally.ErrBadHTTPRequest, "random %q is not a number from 0 to 4294967295", v[0])
		}
	}
	if v, ok := vals["contenttype"]; ok && v[0] != "json" {
		return query{}, tally.Errorf(tally.ErrBadHTTPRequest, "contenttype %q is not supported; use json", v[0])
	}
	return query{sdkappid: vals.Get("sdkappid"), identifier: vals.Get("identifier"), usersig: vals.Get("usersig")}, nil
}

// authenticate finds the app and checks that the caller is one of its
// admins holding a valid UserSig.
func (s *Server) authenticate(q query) (*appState, error) {
	if q.sdkappid == "" {
		return nil, tally.Errorf(tally.ErrMissingSDKAppID, "sdkappid is missing from the URL")
	}
	id, err := strconv.ParseUint(q.sdkappid, 10, 32)
	if err != nil {
		return nil, tally.Errorf(tally.ErrNoSuchApp, "sdkappid %q is not a number from 1 to 4294967295", q.sdkappid)
	}
	st := s.app(uint32(id))
	if st == nil {
		return nil, tally.Errorf(tally.ErrNoSuchApp, "sdkappid %d is not an app of this server", id)
	}
	if st.Disabled {
		return nil, tally.Errorf(tally.ErrAppDisabled, "app %d is disabled", id)
	}
	switch {
	case q.identifier == "":
		return nil, tally.Errorf(tally.ErrMissingAuth, "identifier is missing from the URL")
	case q.usersig == "":
		return nil, tally.Errorf(tally.ErrMissingAuth, "usersig is missing from the URL")
	}
	if err := st.verify(q.usersig, q.identifier, s.Now()); err != nil {
		return nil, err
	}
	if !st.IsAdmin(q.identifier) {
		return nil, tally.Errorf(tally.ErrNotAdmin, "identifier %q is not an admin of app %d", q.identifier, id)
	}
	return st, nil
}

// verify checks a UserSig against the app's key, from the cache when the
// same sig has verified before.
func (st *appState) verify(sig, identifier string, now time.Time) error {
	if st.sigs.valid(sig, identifier, now.Unix()) {
		return nil
	}
	d, err := usersig.Decode(sig)
	if err != nil {
		return err
	}
	if err := d.Verify(st.SDKAppID, identifier, st.SecretKey, now); err != nil {
		return err
	}
	st.sigs.add(sig, identifier, d.ExpiresAt())
	return nil
}
