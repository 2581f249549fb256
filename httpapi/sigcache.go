package httpapi

import (
	"sync"
	"sync/atomic"
)

// maxCachedSigs bounds the verified UserSigs one app remembers. A server
// sees a few sigs per admin, reused for days; the bound only matters when
// a client mints a sig per call, and then clearing the cache costs one
// verification per sig, as if there were no cache.
const maxCachedSigs = 4096

// sigCache remembers UserSigs that verified, so that a sig is decoded and
// its HMAC computed once rather than on every call: that work is the
// largest single cost of a call after the HTTP exchange itself.
//
// An entry is keyed by the whole sig, so only a byte-identical copy of a
// sig that verified can hit; it records the identifier the sig was made
// for and when it expires, which are the checks that depend on the request
// and the clock. An app keeps its cache only while its keys stay the same
// (newAppState), so that a change of key forgets every sig.
type sigCache struct {
	m sync.Map // sig string → sigEntry
	n atomic.Int64
}

type sigEntry struct {
	identifier string
	expiresAt  int64 // Unix seconds; valid while now <= expiresAt
	oldKey     bool  // verified under the app's old key, not its current one
}

// valid reports whether sig verified earlier for identifier and has not
// expired at now, and whether it did so under the app's old key.
func (c *sigCache) valid(sig, identifier string, now int64) (ok, oldKey bool) {
	v, ok := c.m.Load(sig)
	if !ok {
		return false, false
	}
	e := v.(sigEntry)
	return e.identifier == identifier && now <= e.expiresAt, e.oldKey
}

// add remembers a sig that has just verified.
func (c *sigCache) add(sig string, e sigEntry) {
	if c.n.Add(1) > maxCachedSigs {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(sig, e)
}
