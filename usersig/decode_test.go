package usersig

import (
	"bytes"
	"compress/zlib"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
)

// validFields are the fields of a genuine document, in order, as raw JSON.
var validFields = [][2]string{
	{"TLS.ver", `"2.0"`},
	{"TLS.identifier", `"xiaojun"`},
	{"TLS.sdkappid", `1400000000`},
	{"TLS.time", `1700000000`},
	{"TLS.expire", `86400`},
	{"TLS.sig", `"Ypv3labGoUxYOfimZIFanO8pqU4O0HgvQRQQnTJdilY="`},
}

// docWith returns a document from validFields with name set to value, or
// left out when value is "".
func docWith(name, value string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, f := range validFields {
		v := f[1]
		if f[0] == name {
			v = value
		}
		if v == "" {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + f[0] + `":` + v)
	}
	if strings.HasPrefix(name, "+") { // an extra field
		b.WriteString(`,"` + name[1:] + `":` + value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func zlibBytes(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestDecodeValidBase(t *testing.T) {
	// The table below relies on docWith's unchanged document decoding.
	if _, err := Decode(encodeDoc(t, docWith("", ""), 6)); err != nil {
		t.Fatal(err)
	}
	// Unknown fields are ignored, as Tencent does.
	if _, err := Decode(encodeDoc(t, docWith("+TLS.extra", `[1,{"a":null}]`), 6)); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := zlibBytes(t, docWith("", ""), 6)
	enc := sigEncoding.EncodeToString
	goodSig := enc(good)

	badChecksum := bytes.Clone(good)
	badChecksum[len(badChecksum)-1] ^= 1
	var dict bytes.Buffer
	dw, _ := zlib.NewWriterLevelDict(&dict, 6, []byte("TLS."))
	dw.Write(docWith("", ""))
	dw.Close()

	// A zlib bomb: a valid document padded with a megabyte of JSON
	// whitespace compresses to about a kilobyte, well under MaxSigLen.
	bomb := enc(zlibBytes(t, append(docWith("", ""), bytes.Repeat([]byte(" "), 1<<20)...), 9))
	if len(bomb) > MaxSigLen {
		t.Fatalf("bomb is %d bytes, too long to test the zlib bound", len(bomb))
	}
	// The largest document allowed, and one byte more.
	fill := func(n int) []byte {
		d := docWith("", "")
		return append(d, bytes.Repeat([]byte(" "), n-len(d))...)
	}
	atLimit := enc(zlibBytes(t, fill(MaxDocLen), 9))
	if _, err := Decode(atLimit); err != nil {
		t.Fatalf("document of exactly MaxDocLen: %v", err)
	}
	overLimit := enc(zlibBytes(t, fill(MaxDocLen+1), 9))

	cases := []struct {
		name string
		sig  string
	}{
		{"empty", ""},
		{"not base64", "!!!!"},
		{"standard alphabet", strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(loadFixtures(t)[0].Sig)},
		{"padding stripped", strings.TrimRight(goodSig+"A", "_")},
		{"line break", goodSig[:8] + "\n" + goodSig[8:]},
		{"non-canonical base64", enc([]byte{0x78})[:1] + "B__"},
		{"oversized", strings.Repeat("A", MaxSigLen+4)},
		{"oversized valid prefix", goodSig + strings.Repeat("A", MaxSigLen)},
		{"not zlib", enc([]byte("hello, world"))},
		{"zlib header only", enc(good[:2])},
		{"truncated zlib", enc(good[:len(good)-4])},
		{"truncated deflate", enc(good[:len(good)/2])},
		{"bad checksum", enc(badChecksum)},
		{"trailing data", enc(append(bytes.Clone(good), 0))},
		{"preset dictionary", enc(dict.Bytes())},
		{"zlib bomb", bomb},
		{"document over MaxDocLen", overLimit},
		{"not JSON", enc(zlibBytes(t, []byte("TLS.ver=2.0"), 6))},
		{"JSON null", enc(zlibBytes(t, []byte("null"), 6))},
		{"JSON array", enc(zlibBytes(t, []byte(`[{"TLS.ver":"2.0"}]`), 6))},
		{"JSON string", enc(zlibBytes(t, []byte(`"2.0"`), 6))},
		{"empty object", enc(zlibBytes(t, []byte(`{}`), 6))},
		{"two objects", enc(zlibBytes(t, append(docWith("", ""), docWith("", "")...), 6))},
		{"trailing comma", enc(zlibBytes(t, bytes.Replace(docWith("", ""), []byte("}"), []byte(",}"), 1), 6))},
	}
	for _, f := range validFields {
		cases = append(cases, struct{ name, sig string }{"missing " + f[0], enc(zlibBytes(t, docWith(f[0], ""), 6))})
	}
	for _, c := range []struct{ field, value string }{
		{"TLS.ver", `"1.0"`},
		{"TLS.ver", `"2"`},
		{"TLS.ver", `2.0`},
		{"TLS.ver", `null`},
		{"TLS.identifier", `1`},
		{"TLS.identifier", `null`},
		{"TLS.identifier", `["xiaojun"]`},
		{"TLS.sdkappid", `"1400000000"`},
		{"TLS.sdkappid", `1400000000.0`},
		{"TLS.sdkappid", `1.4e9`},
		{"TLS.sdkappid", `-1`},
		{"TLS.sdkappid", `4294967296`},
		{"TLS.sdkappid", `null`},
		{"TLS.time", `1.5`},
		{"TLS.time", `"1700000000"`},
		{"TLS.time", `9223372036854775808`},
		{"TLS.time", `-9223372036854775809`},
		{"TLS.time", `true`},
		{"TLS.expire", `null`},
		{"TLS.expire", `86400.0`},
		{"TLS.expire", `{}`},
		{"TLS.sig", `1`},
		{"TLS.sig", `null`},
		{"TLS.sig", `""`},
		{"TLS.sig", `"Ypv3labGoUxYOfimZIFanO8pqU4O0HgvQRQQnTJdiQ=="`},        // 31 bytes
		{"TLS.sig", `"Ypv3labGoUxYOfimZIFanO8pqU4O0HgvQRQQnTJdilYA"`},        // 33 bytes
		{"TLS.sig", `"Ypv3labGoUxYOfimZIFanO8pqU4O0HgvQRQQnTJdilZ="`},        // non-zero trailing bits
		{"TLS.sig", `"Ypv3labGoUxYOfimZIFanO8pqU4O0HgvQRQQnTJdilY"`},         // unpadded
		{"TLS.sig", `"Ypv3labGoUxYOfimZIFanO8pqU4O0HgvQRQQnTJdil\nY="`},      // line break
		{"TLS.sig", `"Ypv3labGoUxYOfimZIFanO8pqU4O0HgvQRQQnTJdilY=Ypv3lab"`}, // too long
		{"TLS.sig", `"Ypv3labGoUxYOfimZIFanO8pqU4O0HgvQRQQnTJdi-_="`},        // URL alphabet
		{"+TLS.userbuf", `1`},
		{"+TLS.userbuf", `null`},
		{"+TLS.userbuf", `"AB"`},
		{"+TLS.userbuf", `"AB=="`}, // non-zero trailing bits
		{"+TLS.userbuf", `"AA\nAA"`},
		{"+TLS.userbuf", `"!!!!"`},
	} {
		cases = append(cases, struct{ name, sig string }{c.field + " " + c.value, enc(zlibBytes(t, docWith(c.field, c.value), 6))})
	}
	// Names are matched exactly, not case-insensitively.
	cases = append(cases, struct{ name, sig string }{"TLS.sig spelled tls.sig",
		enc(zlibBytes(t, bytes.Replace(docWith("", ""), []byte(`"TLS.sig"`), []byte(`"tls.sig"`), 1), 6))})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.sig)
			wantCode(t, err, tally.ErrUserSigMalformed)
		})
	}
}
