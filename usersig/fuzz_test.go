package usersig

import (
	"compress/zlib"
	"math"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
)

// FuzzVerify feeds arbitrary sigs to Verify: it must never panic, and must
// answer nil or a *tally.Error with one of the five UserSig codes.
func FuzzVerify(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		now := fx.Time + 1
		f.Add(fx.Sig, fx.SDKAppID, fx.Identifier, fx.Key, now)
		f.Add(fx.Sig, fx.SDKAppID, fx.Identifier, fx.Key, fx.Time+fx.Expire+1)
		f.Add(fx.Sig[:len(fx.Sig)/2], fx.SDKAppID, fx.Identifier, fx.Key, now)
		f.Add(strings.ReplaceAll(fx.Sig, "*", "+"), fx.SDKAppID, fx.Identifier, fx.Key, now)
		f.Add(encodeDoc(f, []byte(fx.Doc), zlib.NoCompression), fx.SDKAppID, fx.Identifier, fx.Key, now)
		f.Add(fx.Sig, fx.SDKAppID+1, fx.Identifier+"x", "", int64(math.MaxInt64))
	}
	f.Add("", uint32(0), "", "", int64(0))
	f.Add("eJw_", uint32(1), "a", "k", int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, sig string, sdkappid uint32, identifier, key string, now int64) {
		checkVerify(t, sig, sdkappid, identifier, key, now)
	})
}

// FuzzVerifyDoc fuzzes the JSON document itself. FuzzVerify seldom gets
// that far, since almost every change to a sig breaks its zlib checksum.
func FuzzVerifyDoc(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add([]byte(fx.Doc), fx.SDKAppID, fx.Identifier, fx.Key, fx.Time+1)
	}
	f.Add(docWith("TLS.time", "1.5"), uint32(1400000000), "xiaojun", "k", int64(0))
	f.Add(docWith("+TLS.userbuf", `"AAEC"`), uint32(1400000000), "xiaojun", "k", int64(0))
	f.Add([]byte(`{"TLS.ver":"2.0","TLS.identifier":"\ud800\u00e9","TLS.sdkappid":0,"TLS.time":-9223372036854775808,"TLS.expire":-1,"TLS.sig":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`),
		uint32(0), "\uFFFDé", "", int64(0))
	// The key appears in the message only because the message quotes the
	// sig's own TLS.ver, which holds it by chance: not a leak.
	f.Add([]byte(`{"TLS.ver":"000000000"}`), uint32(1), "a", "00000000", int64(0))
	f.Fuzz(func(t *testing.T, doc []byte, sdkappid uint32, identifier, key string, now int64) {
		checkVerify(t, encodeDoc(t, doc, zlib.NoCompression), sdkappid, identifier, key, now)
	})
}

// checkVerify checks what must hold for any input to Verify.
func checkVerify(t *testing.T, sig string, sdkappid uint32, identifier, key string, now int64) {
	err := verify(sig, sdkappid, identifier, key, unix(now))
	if err != nil {
		e, ok := err.(*tally.Error)
		if !ok {
			t.Fatalf("error %v is a %T, not a *tally.Error", err, err)
		}
		switch e.Code {
		case tally.ErrUserSigExpired, tally.ErrUserSigMalformed, tally.ErrUserSigBadHMAC,
			tally.ErrUserSigIdentifier, tally.ErrUserSigSDKAppID:
		default:
			t.Fatalf("unexpected code in %v", e)
		}
		// The key may appear in the message by chance, echoed from the
		// sig's own fields; it is a leak only if the message follows the
		// key, so the same call under another key must say the same.
		if key != "" && len(key) >= 8 && strings.Contains(e.Info, key) {
			other := verify(sig, sdkappid, identifier, key+"~", unix(now))
			if tally.ErrorInfo(other) != e.Info {
				t.Fatalf("error info %q reveals the key", e.Info)
			}
		}
	}
	s, derr := Decode(sig)
	if (derr != nil) != (tally.ErrorCode(err) == tally.ErrUserSigMalformed) {
		t.Fatalf("Decode says %v but Verify says %v", derr, err)
	}
	if derr != nil {
		return
	}
	if last, ever := s.expiry(); err == nil && (s.SDKAppID != sdkappid || s.Identifier != identifier || !ever || now > last) {
		t.Fatalf("Verify accepted %+v for sdkappid %d identifier %q at %d", s, sdkappid, identifier, now)
	}
	// Whatever decodes must survive signing again: Sign and Decode agree
	// on every field, userbuf included.
	again := SignWithUserBuf(s.SDKAppID, key, s.Identifier, s.Expire, s.UserBuf, unix(s.Time))
	want := tally.OK
	if s.Expire < 0 {
		want = tally.ErrUserSigExpired
	}
	if got := tally.ErrorCode(verify(again, s.SDKAppID, s.Identifier, key, unix(s.Time))); got != want {
		t.Fatalf("re-signed %+v: got code %d, want %d", s, got, want)
	}
}
