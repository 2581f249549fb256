package usersig

import (
	"bytes"
	"compress/zlib"
	"testing"
)

// The benchmarks of this file measure what the pools of zlib writers
// (zlibWriters) and readers (decoders) save each Sign and Decode: the
// setup of a fresh one against the reuse of a pooled one. Their figures
// are in BENCHMARKS.md.

var zlibDoc = []byte(`{"TLS.ver":"2.0","TLS.identifier":"administrator","TLS.sdkappid":1400000001,"TLS.time":1700000000,"TLS.expire":86400,"TLS.sig":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`)

func BenchmarkZlibWriterNew(b *testing.B) {
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		w, _ := zlib.NewWriterLevel(&buf, zlib.NoCompression)
		w.Write(zlibDoc)
		w.Close()
	}
}

func BenchmarkZlibWriterReset(b *testing.B) {
	b.ReportAllocs()
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.NoCompression)
	for b.Loop() {
		buf.Reset()
		w.Reset(&buf)
		w.Write(zlibDoc)
		w.Close()
	}
}

func BenchmarkZlibReaderNew(b *testing.B) {
	z := zlibBytes(b, zlibDoc, zlib.NoCompression)
	b.ReportAllocs()
	for b.Loop() {
		r, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

func BenchmarkZlibReaderReset(b *testing.B) {
	z := zlibBytes(b, zlibDoc, zlib.NoCompression)
	br := bytes.NewReader(z)
	r, err := zlib.NewReader(br)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(z)
		if err := r.(zlib.Resetter).Reset(br, nil); err != nil {
			b.Fatal(err)
		}
	}
}
