package httpapi

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/usersig"
)

// query holds the URL parameters of a REST call. Names are matched exactly.
type query struct {
	sdkappid, identifier, usersig string
}

// queryParams are the parameters parseQuery reads, in the order of its
// values array.
var queryParams = [...]string{"sdkappid", "identifier", "usersig", "random", "contenttype"}

const (
	paramRandom      = 3
	paramContentType = 4
)

// parseQuery reads the URL parameters, refusing a malformed query, a
// random that is not a uint32 and a contenttype other than json. It
// accepts and refuses exactly what url.ParseQuery does, and like
// url.Values.Get takes the first of repeated parameters, but allocates
// only for a value that is escaped: a query is parsed on every call.
func parseQuery(raw string) (query, error) {
	var vals [len(queryParams)]string
	var seen [len(queryParams)]bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(pair, ";") {
			return query{}, tally.Errorf(tally.ErrBadHTTPRequest, "the URL query cannot be parsed: invalid semicolon separator in query")
		}
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, err := unescapeQuery(name)
		if err != nil {
			return query{}, err
		}
		value, err = unescapeQuery(value)
		if err != nil {
			return query{}, err
		}
		for i, p := range queryParams {
			if name == p && !seen[i] {
				vals[i], seen[i] = value, true
			}
		}
	}
	if random := vals[paramRandom]; seen[paramRandom] {
		if _, err := strconv.ParseUint(random, 10, 32); err != nil {
			return query{}, tally.Errorf(tally.ErrBadHTTPRequest, "random %q is not a number from 0 to 4294967295", random)
		}
	}
	if ct := vals[paramContentType]; seen[paramContentType] && ct != "json" {
		return query{}, tally.Errorf(tally.ErrBadHTTPRequest, "contenttype %q is not supported; use json", ct)
	}
	return query{sdkappid: vals[0], identifier: vals[1], usersig: vals[2]}, nil
}

// unescapeQuery decodes one query name or value; only one that holds an
// escape or a plus needs decoding. Two IndexBytes, which the runtime
// vectorises, look for them: ContainsAny goes a byte at a time, 160 ns
// on every call for a UserSig of 288 bytes against 7 ns.
func unescapeQuery(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return "", tally.Errorf(tally.ErrBadHTTPRequest, "the URL query cannot be parsed: %v", err)
	}
	return u, nil
}

// authenticate finds the app and checks that the caller is one of its
// admins holding a UserSig valid at now.
func (s *Server) authenticate(q query, now time.Time) (*appState, error) {
	st, err := s.authenticateUser(q, now)
	if err != nil {
		return nil, err
	}
	if !st.IsAdmin(q.identifier) {
		return nil, tally.Errorf(tally.ErrNotAdmin, "identifier %q is not an admin of app %d", q.identifier, st.SDKAppID)
	}
	return st, nil
}

// authenticateUser finds the app and checks that the caller, any user of
// it, holds a UserSig valid at now: the stream's authentication, and the
// REST API's but for the admin.
func (s *Server) authenticateUser(q query, now time.Time) (*appState, error) {
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
	if err := st.verify(q.usersig, q.identifier, now); err != nil {
		return nil, err
	}
	return st, nil
}

// verify checks a UserSig against the app's key, or its old key while one
// is being rotated out, from the cache when the same sig has verified
// before.
//
// Every call admitted under the old key is counted, so that an operator can
// tell when the last client has moved to the new one and the old key can
// go.
func (st *appState) verify(sig, identifier string, now time.Time) error {
	if ok, oldKey := st.sigs.valid(sig, identifier, now.Unix()); ok {
		if oldKey {
			st.oldKeyCalls.Inc()
		}
		return nil
	}
	d, err := usersig.Decode(sig)
	if err != nil {
		return err
	}
	err = d.Verify(st.SDKAppID, identifier, st.SecretKey, now)
	oldKey := false
	if st.OldSecretKey != "" && tally.ErrorCode(err) == tally.ErrUserSigBadHMAC {
		// Only a MAC that fails under the new key is tried under the old:
		// every other check is the same for both. When the old key fails
		// too, the answer is about the new one, which is the key clients
		// should be moving to; an expired sig under the old key is
		// reported as expired, for it is genuine.
		if oldErr := d.Verify(st.SDKAppID, identifier, st.OldSecretKey, now); tally.ErrorCode(oldErr) != tally.ErrUserSigBadHMAC {
			err, oldKey = oldErr, oldErr == nil
		}
	}
	if err != nil {
		return err
	}
	if oldKey {
		st.oldKeyCalls.Inc()
	}
	st.sigs.add(sig, sigEntry{identifier: identifier, expiresAt: d.ExpiresAt(), oldKey: oldKey})
	return nil
}
