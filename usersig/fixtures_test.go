package usersig

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// fixture is one sig from Tencent's Node generator; see
// testdata/gen-fixtures.js.
type fixture struct {
	Name       string `json:"name"`
	SDKAppID   uint32 `json:"sdkappid"`
	Key        string `json:"key"`
	Identifier string `json:"identifier"`
	Expire     int64  `json:"expire"`
	Time       int64  `json:"time"`
	UserBuf    string `json:"userbuf"` // base64, as in the document
	Doc        string `json:"doc"`     // the decompressed document
	Sig        string `json:"sig"`
}

func loadFixtures(tb testing.TB) []fixture {
	tb.Helper()
	data, err := os.ReadFile("testdata/node-fixtures.json")
	if err != nil {
		tb.Fatal(err)
	}
	var file struct {
		Fixtures []fixture `json:"fixtures"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		tb.Fatal(err)
	}
	if len(file.Fixtures) == 0 {
		tb.Fatal("no fixtures")
	}
	return file.Fixtures
}

// encodeDoc compresses and encodes a document the way the generators do, at
// the given zlib level, so tests can build sigs with arbitrary contents.
func encodeDoc(tb testing.TB, doc []byte, level int) string {
	tb.Helper()
	var b bytes.Buffer
	var w *zlib.Writer
	if level == zlib.NoCompression { // the fuzzers' case: reuse Sign's writers
		w = zlibWriters.Get().(*zlib.Writer)
		defer zlibWriters.Put(w)
		w.Reset(&b)
	} else {
		var err error
		if w, err = zlib.NewWriterLevel(&b, level); err != nil {
			tb.Fatal(err)
		}
	}
	w.Write(doc)
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return sigEncoding.EncodeToString(b.Bytes())
}

// inflateSig returns the document inside sig.
func inflateSig(tb testing.TB, sig string) []byte {
	tb.Helper()
	doc, err := new(decoder).inflate(sig)
	if err != nil {
		tb.Fatalf("inflate: %v", err)
	}
	return doc
}

func unix(t int64) time.Time { return time.Unix(t, 0) }

// verify checks sig as a server does with the one a request carries: Decode
// it, then Verify it against the app.
func verify(sig string, sdkappid uint32, identifier, key string, now time.Time) error {
	s, err := Decode(sig)
	if err != nil {
		return err
	}
	return s.Verify(sdkappid, identifier, key, now)
}

// wantCode fails unless err is a *tally.Error with code want (OK meaning
// nil), and returns it for further checks.
func wantCode(tb testing.TB, err error, want tally.Code) *tally.Error {
	tb.Helper()
	if want == tally.OK {
		if err != nil {
			tb.Fatalf("got error %v, want none", err)
		}
		return nil
	}
	var e *tally.Error
	if !errors.As(err, &e) {
		tb.Fatalf("got %v (%T), want *tally.Error with code %d", err, err, want)
	}
	if e.Code != want {
		tb.Fatalf("got code %d (%s), want %d", e.Code, e.Info, want)
	}
	if e.Info == "" {
		tb.Fatalf("code %d has an empty Info", e.Code)
	}
	return e
}
