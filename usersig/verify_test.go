package usersig

import (
	"bytes"
	"encoding/base64"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

func TestNodeFixtures(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			s, err := Decode(f.Sig)
			wantCode(t, err, tally.OK)
			if s.SDKAppID != f.SDKAppID || s.Identifier != f.Identifier || s.Time != f.Time || s.Expire != f.Expire {
				t.Errorf("decoded %+v, want sdkappid %d identifier %q time %d expire %d",
					s, f.SDKAppID, f.Identifier, f.Time, f.Expire)
			}
			if got := base64.StdEncoding.EncodeToString(s.UserBuf); (s.UserBuf != nil) != (f.UserBuf != "") || got != f.UserBuf {
				t.Errorf("decoded userbuf %q (nil %v), want %q", got, s.UserBuf == nil, f.UserBuf)
			}
			if doc := inflateSig(t, f.Sig); string(doc) != f.Doc {
				t.Errorf("inflated\n%s\nwant\n%s", doc, f.Doc)
			}

			otherID := f.Identifier + "x"
			otherKey := f.Key + "x"
			cases := []struct {
				name       string
				sdkappid   uint32
				identifier string
				key        string
				now        int64
				want       tally.Code
			}{
				{"valid", f.SDKAppID, f.Identifier, f.Key, f.Time + 1, tally.OK},
				{"valid at issue", f.SDKAppID, f.Identifier, f.Key, f.Time, tally.OK},
				{"valid at last second", f.SDKAppID, f.Identifier, f.Key, f.Time + f.Expire, tally.OK},
				{"expired", f.SDKAppID, f.Identifier, f.Key, f.Time + f.Expire + 1, tally.ErrUserSigExpired},
				{"wrong key", f.SDKAppID, f.Identifier, otherKey, f.Time + 1, tally.ErrUserSigBadHMAC},
				{"empty key", f.SDKAppID, f.Identifier, "", f.Time + 1, tally.ErrUserSigBadHMAC},
				{"wrong identifier", f.SDKAppID, otherID, f.Key, f.Time + 1, tally.ErrUserSigIdentifier},
				{"wrong sdkappid", f.SDKAppID - 1, f.Identifier, f.Key, f.Time + 1, tally.ErrUserSigSDKAppID},
				// The order of checks: each row is wrong in every way the
				// rows below it are, and must report only the first.
				{"all wrong", f.SDKAppID - 1, otherID, otherKey, f.Time + f.Expire + 1, tally.ErrUserSigSDKAppID},
				{"identifier before hmac", f.SDKAppID, otherID, otherKey, f.Time + f.Expire + 1, tally.ErrUserSigIdentifier},
				{"hmac before expiry", f.SDKAppID, f.Identifier, otherKey, f.Time + f.Expire + 1, tally.ErrUserSigBadHMAC},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					err := verify(f.Sig, c.sdkappid, c.identifier, c.key, unix(c.now))
					e := wantCode(t, err, c.want)
					if e != nil && f.Key != "" && strings.Contains(e.Info, f.Key) {
						t.Errorf("error info %q reveals the key", e.Info)
					}
				})
			}
		})
	}
}

// TestTamperedFixture changes each signed field of a genuine document and
// re-encodes it: every change must break the MAC.
func TestTamperedFixture(t *testing.T) {
	f := loadFixtures(t)[0]
	for _, c := range []struct{ old, new string }{
		{`"TLS.time":`, `"TLS.time":1`},
		{`"TLS.expire":`, `"TLS.expire":9`},
		{`"TLS.sig":"`, `"TLS.userbuf":"","TLS.sig":"`},
	} {
		doc := strings.Replace(f.Doc, c.old, c.new, 1)
		if doc == f.Doc {
			t.Fatalf("%q not in the fixture", c.old)
		}
		sig := encodeDoc(t, []byte(doc), 6)
		wantCode(t, verify(sig, f.SDKAppID, f.Identifier, f.Key, unix(f.Time+1)), tally.ErrUserSigBadHMAC)
	}
}

// TestExpiryArithmetic checks the expiry of sigs whose Time + Expire
// overflows or underflows int64, through Verify itself, and that ExpiresAt
// names a second at which every sig Verify accepts is still valid.
func TestExpiryArithmetic(t *testing.T) {
	const maxI, minI = math.MaxInt64, math.MinInt64
	const key = "k"
	for _, c := range []struct {
		time, expire, now int64
		expired           bool
	}{
		{100, 10, 110, false},
		{100, 10, 111, true},
		{100, 0, 100, false},
		{100, -1, 100, true},
		{maxI - 5, 100, maxI, false}, // the sum overflows: valid forever
		{maxI, maxI, maxI, false},
		{minI, -1, minI, true}, // the sum underflows: expired always
		{minI, minI, minI, true},
		{-10, maxI, maxI, true},
		{-10, maxI, maxI - 10, false},
		{10, minI, minI, false}, // 10 + MinInt64 does not underflow, and equals now + 10
		{0, minI, minI, false},
		{-1, minI, minI, true},
	} {
		s := &Sig{SDKAppID: 1, Identifier: "u", Time: c.time, Expire: c.expire}
		s.mac = computeMAC(key, 1, "u", c.time, c.expire, nil)
		want := tally.OK
		if c.expired {
			want = tally.ErrUserSigExpired
		}
		if got := tally.ErrorCode(s.Verify(1, "u", key, unix(c.now))); got != want {
			t.Errorf("time %d expire %d now %d: code %d, want %d", c.time, c.expire, c.now, got, want)
		}
		if !c.expired && c.now > s.ExpiresAt() {
			t.Errorf("time %d expire %d: valid at %d, after ExpiresAt %d", c.time, c.expire, c.now, s.ExpiresAt())
		}
	}
}

// TestHugeExpiry signs extreme times for real, to check the arithmetic also
// holds through Sign and Verify.
func TestHugeExpiry(t *testing.T) {
	key := "k"
	for _, c := range []struct {
		time, expire, now int64
		want              tally.Code
	}{
		{math.MaxInt64 - 5, math.MaxInt64, 0, tally.OK},
		{1, math.MaxInt64, math.MaxInt64, tally.OK},
		{math.MinInt64 + 5, math.MinInt64, 0, tally.ErrUserSigExpired},
		{1700000000, -1, 1700000000, tally.ErrUserSigExpired},
	} {
		sig := Sign(1, key, "u", c.expire, unix(c.time))
		wantCode(t, verify(sig, 1, "u", key, unix(c.now)), c.want)
	}
}

func TestIdentifierMismatchInfoIsShort(t *testing.T) {
	long := strings.Repeat("é", 1000)
	sig := Sign(1, "k", long, 100, unix(1))
	e := wantCode(t, verify(sig, 1, long+"x", "k", unix(1)), tally.ErrUserSigIdentifier)
	if len(e.Info) > 300 {
		t.Errorf("info is %d bytes: %s", len(e.Info), e.Info)
	}
	if !strings.Contains(e.Info, "éé") || strings.Contains(e.Info, "\\x") {
		t.Errorf("info does not quote the identifier cleanly: %s", e.Info)
	}
}

func TestSigVerifyAfterDecode(t *testing.T) {
	f := loadFixtures(t)[0]
	s, err := Decode(f.Sig)
	wantCode(t, err, tally.OK)
	wantCode(t, s.Verify(f.SDKAppID, f.Identifier, f.Key, unix(f.Time+1)), tally.OK)
	// The decoded sig must not alias the pooled buffers: decoding another
	// sig must leave it intact.
	other := Sign(7, "k", strings.Repeat("z", len(f.Identifier)), 1, unix(2))
	if _, err := Decode(other); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Verify(f.SDKAppID, f.Identifier, f.Key, unix(f.Time+1)), tally.OK)
	if !bytes.Equal([]byte(s.Identifier), []byte(f.Identifier)) {
		t.Errorf("identifier changed to %q", s.Identifier)
	}
}

// TestConcurrentVerify runs Verify and Sign from many goroutines, so that
// go test -race checks the pooled decoders and writers.
func TestConcurrentVerify(t *testing.T) {
	fixtures := loadFixtures(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				f := fixtures[(g+i)%len(fixtures)]
				if err := verify(f.Sig, f.SDKAppID, f.Identifier, f.Key, unix(f.Time+1)); err != nil {
					t.Errorf("%s: %v", f.Name, err)
				}
				sig := Sign(f.SDKAppID, f.Key, f.Identifier, 10, unix(5))
				if err := verify(sig, f.SDKAppID, f.Identifier, f.Key, unix(6)); err != nil {
					t.Errorf("%s re-signed: %v", f.Name, err)
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkVerify(b *testing.B) {
	f := loadFixtures(b)[0]
	now := unix(f.Time + 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := verify(f.Sig, f.SDKAppID, f.Identifier, f.Key, now); err != nil {
			b.Fatal(err)
		}
	}
}

func TestExpiresAtAgreesWithVerify(t *testing.T) {
	const key = "secret"
	for _, tc := range []struct {
		name         string
		time, expire int64
	}{
		{"ordinary", 1_700_000_000, 86400},
		{"zero expire", 1_700_000_000, 0},
		{"negative expire", 1_700_000_000, -10},
		{"sum near MaxInt64", math.MaxInt64 - 100, 99},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Sig{SDKAppID: 1, Identifier: "a", Time: tc.time, Expire: tc.expire}
			s.mac = computeMAC(key, 1, "a", tc.time, tc.expire, nil)
			at := s.ExpiresAt()
			for _, now := range []int64{at - 1, at, at + 1} {
				if at == math.MinInt64 || at == math.MaxInt64 {
					continue // the true edge lies outside int64; Verify's own tests cover it
				}
				err := s.Verify(1, "a", key, time.Unix(now, 0))
				if valid := now <= at; valid != (err == nil) {
					t.Errorf("now %d, ExpiresAt %d: Verify says %v", now, at, err)
				}
			}
		})
	}
}
