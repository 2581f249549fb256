package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"sync"
	"time"
)

// sigEncoding is the base64 variant of the outer UserSig: standard base64
// with '+' -> '*', '/' -> '-' and '=' -> '_', as every official generator
// writes it. Strict rejects non-zero trailing bits, so each byte string has
// exactly one accepted spelling.
var sigEncoding = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-").
	WithPadding('_').Strict()

// stdStrict decodes TLS.sig and TLS.userbuf. Strict matters for TLS.userbuf:
// the MAC covers its base64 text, which computeMAC rebuilds by encoding the
// decoded bytes, so only the canonical spelling may be accepted.
var stdStrict = base64.StdEncoding.Strict()

// Sign returns a UserSig for identifier in app sdkappid, issued at now and
// valid for expire seconds, signed with the app's secret key. The key is
// used as text, exactly as the console shows it, not hex-decoded.
//
// The result is what Tencent's official Go generator writes (same document,
// zlib at level 0), so it is accepted wherever theirs is. An identifier must
// be valid UTF-8: JSON cannot carry other bytes, so a sig for an invalid one
// never verifies, with any implementation.
func Sign(sdkappid uint32, key, identifier string, expire int64, now time.Time) string {
	return SignWithUserBuf(sdkappid, key, identifier, expire, nil, now)
}

// SignWithUserBuf is Sign with a TLS.userbuf, the opaque payload that TRTC's
// PrivateMapKey carries; it is covered by the MAC. A nil userbuf leaves the
// field out, as the official generators do, while an empty non-nil one is
// written as "".
func SignWithUserBuf(sdkappid uint32, key, identifier string, expire int64, userbuf []byte, now time.Time) string {
	t := now.Unix()
	mac := computeMAC(key, sdkappid, identifier, t, expire, userbuf)

	// The document is assembled by hand, in the Go generator's field order,
	// rather than by reflection over a struct: it is short and fixed.
	id, _ := json.Marshal(identifier) // a string always marshals
	doc := make([]byte, 0, 160+len(id)+base64.StdEncoding.EncodedLen(len(userbuf)))
	doc = append(doc, `{"TLS.ver":"2.0","TLS.identifier":`...)
	doc = append(doc, id...)
	doc = append(doc, `,"TLS.sdkappid":`...)
	doc = strconv.AppendUint(doc, uint64(sdkappid), 10)
	doc = append(doc, `,"TLS.expire":`...)
	doc = strconv.AppendInt(doc, expire, 10)
	doc = append(doc, `,"TLS.time":`...)
	doc = strconv.AppendInt(doc, t, 10)
	if userbuf != nil {
		doc = append(doc, `,"TLS.userbuf":"`...)
		doc = base64.StdEncoding.AppendEncode(doc, userbuf)
		doc = append(doc, '"')
	}
	doc = append(doc, `,"TLS.sig":"`...)
	doc = base64.StdEncoding.AppendEncode(doc, mac[:])
	doc = append(doc, `"}`...)

	var z bytes.Buffer
	w := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(w)
	w.Reset(&z)
	w.Write(doc) // writes to a bytes.Buffer do not fail
	w.Close()
	return sigEncoding.EncodeToString(z.Bytes())
}

// zlibWriters pools zlib writers, because a new one allocates its whole
// compressor, even at level 0, and that is far more than the sig it writes
// (see BENCHMARKS.md). Level 0 is what the Go generator writes: these
// documents are too short for compression to pay for its CPU time.
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.NoCompression) // the level is valid
	return w
}}

// computeMAC returns the HMAC-SHA256 that TLS.sig carries. Its input is the
// fields as text, one "TLS.name:value\n" line each, in the order every
// generator uses; the TLS.userbuf line is there only when a userbuf is.
func computeMAC(key string, sdkappid uint32, identifier string, t, expire int64, userbuf []byte) [sha256.Size]byte {
	var stack [256]byte
	b := stack[:0]
	b = append(b, "TLS.identifier:"...)
	b = append(b, identifier...)
	b = append(b, "\nTLS.sdkappid:"...)
	b = strconv.AppendUint(b, uint64(sdkappid), 10)
	b = append(b, "\nTLS.time:"...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, "\nTLS.expire:"...)
	b = strconv.AppendInt(b, expire, 10)
	b = append(b, '\n')
	if userbuf != nil {
		b = append(b, "TLS.userbuf:"...)
		b = base64.StdEncoding.AppendEncode(b, userbuf)
		b = append(b, '\n')
	}
	h := hmac.New(sha256.New, []byte(key))
	h.Write(b)
	var mac [sha256.Size]byte
	h.Sum(mac[:0])
	return mac
}
