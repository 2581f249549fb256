package usersig

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
)

func TestSignRoundTrip(t *testing.T) {
	for i, c := range []struct {
		sdkappid   uint32
		key        string
		identifier string
		expire     int64
		userbuf    []byte
	}{
		{1400000000, "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e", "xiaojun", 86400, nil},
		{0, "", "", 0, nil},
		{4294967295, "密钥", "用户🦊<&>\"\\\t\u2028", 1, nil},
		{1, "k", "u", 60, []byte{}},
		{1, "k", "u", 60, []byte{0, 1, 2, 255}},
		{1, "k", strings.Repeat("x", 1000), 60, bytes.Repeat([]byte{7}, 500)},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			const at = 1700000000
			sig := SignWithUserBuf(c.sdkappid, c.key, c.identifier, c.expire, c.userbuf, unix(at))
			wantCode(t, verify(sig, c.sdkappid, c.identifier, c.key, unix(at+c.expire)), tally.OK)
			wantCode(t, verify(sig, c.sdkappid, c.identifier, c.key, unix(at+c.expire+1)), tally.ErrUserSigExpired)
			wantCode(t, verify(sig, c.sdkappid, c.identifier, c.key+"?", unix(at)), tally.ErrUserSigBadHMAC)
			s, err := Decode(sig)
			wantCode(t, err, tally.OK)
			if (s.UserBuf == nil) != (c.userbuf == nil) || !bytes.Equal(s.UserBuf, c.userbuf) {
				t.Errorf("userbuf %v (nil %v), want %v (nil %v)", s.UserBuf, s.UserBuf == nil, c.userbuf, c.userbuf == nil)
			}
			if c.userbuf == nil {
				if Sign(c.sdkappid, c.key, c.identifier, c.expire, unix(at)) != sig {
					t.Error("Sign differs from SignWithUserBuf with a nil userbuf")
				}
			}
		})
	}
}

// TestSignMatchesNode signs each fixture's fields at the fixture's time: the
// MAC must be the very one the Node generator computed, and the document
// must have the same fields with the same JSON types.
func TestSignMatchesNode(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			var userbuf []byte
			if f.UserBuf != "" {
				var err error
				if userbuf, err = base64.StdEncoding.DecodeString(f.UserBuf); err != nil {
					t.Fatal(err)
				}
			}
			sig := SignWithUserBuf(f.SDKAppID, f.Key, f.Identifier, f.Expire, userbuf, unix(f.Time))
			ours, theirs := docFields(t, inflateSig(t, sig)), docFields(t, []byte(f.Doc))
			if !reflect.DeepEqual(ours, theirs) {
				t.Errorf("document\n%v\nwant (Node)\n%v", ours, theirs)
			}
		})
	}
}

// docFields decodes a document to its fields, keeping numbers as written so
// that a number written as a string or a float would show.
func docFields(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%v in %s", err, doc)
	}
	return m
}

// TestSignDocument pins down the exact output: the Go generator's document
// (its field order; its trailing newline aside) at zlib level 0.
func TestSignDocument(t *testing.T) {
	sig := Sign(1400000000, "k", "a<b", 86400, unix(1700000000))
	raw, err := sigEncoding.DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != 0x78 || raw[1] != 0x01 {
		t.Errorf("zlib header % x, want 78 01 (level 0)", raw[:2])
	}
	mac := computeMAC("k", 1400000000, "a<b", 1700000000, 86400, nil)
	want := `{"TLS.ver":"2.0","TLS.identifier":"a\u003cb","TLS.sdkappid":1400000000,"TLS.expire":86400,"TLS.time":1700000000,"TLS.sig":"` +
		base64.StdEncoding.EncodeToString(mac[:]) + `"}`
	if got := string(inflateSig(t, sig)); got != want {
		t.Errorf("document\n%s\nwant\n%s", got, want)
	}
	if strings.ContainsAny(sig, "+/=") {
		t.Errorf("sig %q uses the standard base64 alphabet", sig)
	}
}

// TestAnyZlibLevel re-compresses genuine documents at every level: which
// one a generator picked must not matter.
func TestAnyZlibLevel(t *testing.T) {
	for _, f := range loadFixtures(t) {
		for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression, zlib.HuffmanOnly} {
			sig := encodeDoc(t, []byte(f.Doc), level)
			if err := verify(sig, f.SDKAppID, f.Identifier, f.Key, unix(f.Time+1)); err != nil {
				t.Errorf("%s at level %d: %v", f.Name, level, err)
			}
		}
	}
}

func BenchmarkSign(b *testing.B) {
	b.ReportAllocs()
	now := unix(1700000000)
	for b.Loop() {
		Sign(1400000000, "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e", "xiaojun", 86400, now)
	}
}
