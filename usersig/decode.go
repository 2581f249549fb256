package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tallyserver/tally"
)

// Bounds on hostile input. A real UserSig is a few hundred bytes (Tencent
// limits identifiers to 32 bytes), so these leave ample room while keeping
// the work per request small and fixed.
const (
	// MaxSigLen is the longest UserSig Decode accepts, checked before any
	// decoding.
	MaxSigLen = 4096
	// MaxDocLen is the largest decompressed document Decode accepts; it
	// stops zlib bombs, which would otherwise inflate a 4 KiB sig to
	// megabytes.
	MaxDocLen = 4096
)

// Sig is a decoded UserSig whose MAC has not been checked yet. It exists so
// that callers can read the claimed fields (to look up the app's key, say)
// before verifying; nothing in it is trustworthy until Verify returns nil.
// A Sig is only meaningful as returned by Decode.
type Sig struct {
	SDKAppID   uint32
	Identifier string
	Time       int64 // TLS.time: when the sig was issued, in Unix seconds
	Expire     int64 // TLS.expire: how many seconds after Time it is valid
	// UserBuf is TLS.userbuf decoded; nil when the field is absent, which
	// the MAC tells apart from an empty one.
	UserBuf []byte
	mac     [sha256.Size]byte
}

// decoder holds the buffers and zlib state for one Decode. They are pooled
// because a new zlib reader allocates its window and tables, many times
// the size of a sig (see BENCHMARKS.md), which would otherwise be paid on
// every request.
type decoder struct {
	src [MaxSigLen]byte
	raw [MaxSigLen / 4 * 3]byte
	doc [MaxDocLen + 1]byte // one spare byte detects an oversized document
	br  bytes.Reader
	zr  io.ReadCloser
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

// Decode parses a UserSig without verifying it. Every failure is a
// *tally.Error with code ErrUserSigMalformed.
//
// Decoding is strict where strictness costs no interoperability: the
// document must be one JSON object with TLS.ver "2.0" and each field of the
// JSON type the generators write (integers as JSON integers, never floats
// or strings). Field names are matched exactly, unlike encoding/json's
// struct decoding, which would also accept "tls.SIG". Unknown fields are
// ignored, as Tencent's Go verifier does.
func Decode(sig string) (*Sig, error) {
	if sig == "" {
		return nil, malformed("the UserSig is empty")
	}
	if len(sig) > MaxSigLen {
		return nil, malformed("the UserSig is %d bytes long; at most %d are accepted", len(sig), MaxSigLen)
	}
	// The base64 decoder silently skips line breaks; a sig has none.
	if strings.ContainsAny(sig, "\r\n") {
		return nil, malformed("the UserSig contains a line break")
	}
	d := decoders.Get().(*decoder)
	defer decoders.Put(d)
	doc, err := d.inflate(sig)
	if err != nil {
		return nil, err
	}
	return parse(doc)
}

// inflate undoes the base64 variant and zlib, returning the JSON document in
// d.doc.
func (d *decoder) inflate(sig string) ([]byte, error) {
	n := copy(d.src[:], sig)
	n, err := sigEncoding.Decode(d.raw[:], d.src[:n])
	if err != nil {
		return nil, malformed("the UserSig is not valid base64 (with '*', '-', '_' for '+', '/', '='): %v", err)
	}
	d.br.Reset(d.raw[:n])
	if d.zr == nil {
		zr, err := zlib.NewReader(&d.br)
		if err != nil {
			return nil, malformed("the UserSig is not zlib data: %v", err)
		}
		d.zr = zr
	} else if err := d.zr.(zlib.Resetter).Reset(&d.br, nil); err != nil {
		return nil, malformed("the UserSig is not zlib data: %v", err)
	}
	// Read to io.EOF, not just until the document looks complete: the zlib
	// reader checks the Adler-32 checksum only there, and reports a
	// truncated stream as an error rather than as a short read. The buffer
	// has one byte more than MaxDocLen, so filling it proves the document
	// too large, whether or not io.EOF came with the last byte.
	n = 0
	for n <= MaxDocLen {
		m, err := d.zr.Read(d.doc[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, malformed("the UserSig's zlib data is corrupt: %v", err)
		}
	}
	if n > MaxDocLen {
		return nil, malformed("the UserSig inflates to more than %d bytes", MaxDocLen)
	}
	if d.br.Len() != 0 {
		return nil, malformed("the UserSig has %d bytes after its zlib data", d.br.Len())
	}
	return d.doc[:n], nil
}

// parse reads the fields of a sig document. It decodes into a map rather
// than a struct so that names match exactly, and into json.RawMessage so
// that each value's JSON type can be checked, which a Go type alone would
// not do (a string field, for one, silently accepts null).
func parse(doc []byte) (*Sig, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, malformed("the UserSig document is not JSON: %v", err)
	}
	if m == nil { // the document was null
		return nil, malformed("the UserSig document is not a JSON object")
	}
	ver, err := stringField(m, "TLS.ver")
	if err != nil {
		return nil, err
	}
	if ver != "2.0" {
		return nil, malformed("the UserSig has TLS.ver %q; only \"2.0\" is supported", ver)
	}
	s := new(Sig)
	if s.Identifier, err = stringField(m, "TLS.identifier"); err != nil {
		return nil, err
	}
	raw, err := field(m, "TLS.sdkappid")
	if err != nil {
		return nil, err
	}
	appid, err := strconv.ParseUint(string(raw), 10, 32)
	if err != nil {
		return nil, malformed("the UserSig's TLS.sdkappid is not an integer from 0 to 4294967295")
	}
	s.SDKAppID = uint32(appid)
	if s.Time, err = intField(m, "TLS.time"); err != nil {
		return nil, err
	}
	if s.Expire, err = intField(m, "TLS.expire"); err != nil {
		return nil, err
	}
	mac, err := stringField(m, "TLS.sig")
	if err != nil {
		return nil, err
	}
	// 44 is the padded base64 length of 32 bytes; checking it first keeps
	// the decode below within s.mac.
	if len(mac) != 44 || strings.ContainsAny(mac, "\r\n") {
		return nil, malformed("the UserSig's TLS.sig is not 32 bytes in standard base64")
	}
	var buf [33]byte
	if n, err := stdStrict.Decode(buf[:], []byte(mac)); err != nil || n != len(s.mac) {
		return nil, malformed("the UserSig's TLS.sig is not 32 bytes in standard base64")
	}
	copy(s.mac[:], buf[:])
	if _, ok := m["TLS.userbuf"]; ok {
		ub, err := stringField(m, "TLS.userbuf")
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(ub, "\r\n") {
			return nil, malformed("the UserSig's TLS.userbuf is not standard base64")
		}
		if s.UserBuf, err = stdStrict.DecodeString(ub); err != nil {
			return nil, malformed("the UserSig's TLS.userbuf is not standard base64: %v", err)
		}
		if s.UserBuf == nil {
			s.UserBuf = []byte{}
		}
	}
	return s, nil
}

func field(m map[string]json.RawMessage, name string) (json.RawMessage, error) {
	raw, ok := m[name]
	if !ok {
		return nil, malformed("the UserSig lacks %s", name)
	}
	return raw, nil
}

func stringField(m map[string]json.RawMessage, name string) (string, error) {
	raw, err := field(m, name)
	if err != nil {
		return "", err
	}
	if len(raw) < 2 || raw[0] != '"' {
		return "", malformed("the UserSig's %s is not a JSON string", name)
	}
	// The document as a whole is valid JSON, so a string value without
	// escapes is exactly the bytes between its quotes, unless they are not
	// UTF-8, which encoding/json would replace. That covers every real
	// sig and saves a second pass through encoding/json.
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", malformed("the UserSig's %s is not a JSON string", name)
	}
	return s, nil
}

// intField reads a JSON integer. strconv is stricter than json.Number here:
// it rejects fractions and exponents, and json.Unmarshal has already
// rejected everything that is not a JSON value, such as a leading '+'.
func intField(m map[string]json.RawMessage, name string) (int64, error) {
	raw, err := field(m, name)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, malformed("the UserSig's %s is not a JSON integer that fits in 64 bits", name)
	}
	return v, nil
}

func malformed(format string, args ...any) error {
	return tally.Errorf(tally.ErrUserSigMalformed, format, args...)
}
