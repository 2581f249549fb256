package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// recorder is a net.Conn that keeps what is written to it and reads from
// a fixed input.
type recorder struct {
	net.Conn
	in  io.Reader
	out bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) { return r.out.Write(p) }
func (r *recorder) Read(p []byte) (int, error)  { return r.in.Read(p) }

// The refusals net/http writes, exactly as Go 1.26 formats them.
const (
	plainHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	refused400   = "HTTP/1.1 400 Bad Request" + plainHeaders + "400 Bad Request"
	refused431   = "HTTP/1.1 431 Request Header Fields Too Large" + plainHeaders + "431 Request Header Fields Too Large"
	refused501   = "HTTP/1.1 501 Not Implemented" + plainHeaders + "Unsupported transfer encoding"
	refusedHost  = "HTTP/1.1 400 Bad Request: missing required Host header" + plainHeaders + "400 Bad Request: missing required Host header"
	refused505   = "HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version" + plainHeaders + "505 HTTP Version Not Supported: unsupported protocol version"
	refused417   = "HTTP/1.0 417 Expectation Failed\r\nConnection: close\r\nContent-Length: 0\r\nDate: Mon, 01 Jan 2026 00:00:00 GMT\r\n\r\n"
)

// TestRefusalRecognised writes net/http's refusals, and things that only
// look like them, through a conn: the refusals, and only they, must come
// out as HTTP 200 answers with an ErrBadHTTPRequest envelope that closes
// the connection.
func TestRefusalRecognised(t *testing.T) {
	for _, c := range []struct {
		name    string
		head    string // what the connection read before the write
		write   string
		replace bool
		info    string
	}{
		{"400", "GARBAGE\r\n\r\n", refused400, true, `the request line is malformed; want METHOD /path HTTP/1.1, not "GARBAGE"`},
		{"400 with a reason", "POST / HTTP/1.1\r\n\r\n", refusedHost, true, "the Host header is missing"},
		{"431", strings.Repeat("x", 100), refused431, true, "the URL and headers are over 64 KiB"},
		{"501", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: br\r\n\r\n", refused501, true, `Transfer-Encoding "br" is not supported`},
		{"505", "POST / HTTP/3.0\r\nHost: x\r\n\r\n", refused505, true, `"HTTP/3.0" is not supported`},
		{"417 to HTTP/1.0", "POST / HTTP/1.0\r\nExpect: x\r\n\r\n", refused417, true, `Expect "x" is not supported`},
		{"400 with nothing read", "", refused400, true, "the request ends before its headers do"},
		{"400 after a head that parses", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", refused400, true, "the request is not valid HTTP/1.1"},
		{"an unknown 4xx", "", "HTTP/1.1 418 I'm a teapot\r\n\r\n", true, "418 I'm a teapot"},

		{"the handler's answer", "", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", false, ""},
		{"a piece of a body that starts like a refusal", "", `HTTP/1.1 400 Bad Request","Type":"Public"}`, false, ""},
		{"a piece of a body with a line break", "", "HTTP/1.1 400 Bad Request\r\nok\n", false, ""},
		{"too short", "", "HTTP/1.1 400", false, ""},
		{"not a status line", "", "HTTP/1.1 4xx Bad Request\r\n\r\n", false, ""},
		{"not HTTP/1", "", "HTTP/2.0 400 Bad Request\r\n\r\n", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{in: strings.NewReader(c.head)}
			conn := &conn{Conn: rec, lim: &Limits{MaxHeaderBytes: DefaultMaxHeaderBytes}}
			io.Copy(io.Discard, conn) // what net/http read before it answered
			n, err := conn.Write([]byte(c.write))
			if err != nil || n != len(c.write) {
				t.Fatalf("Write returned %d, %v; want %d, nil", n, err, len(c.write))
			}
			if !c.replace {
				if rec.out.String() != c.write {
					t.Fatalf("wrote %q, want it unchanged", rec.out.Bytes())
				}
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(&rec.out), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !resp.Close || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
				resp.ContentLength != int64(len(body)) || resp.Proto != c.write[:8] {
				t.Fatalf("answer %s %d, Close %v, Content-Type %q, Content-Length %d for %d bytes",
					resp.Proto, resp.StatusCode, resp.Close, resp.Header.Get("Content-Type"), resp.ContentLength, len(body))
			}
			if rec.out.Len() != 0 {
				t.Fatalf("%q after the answer", rec.out.Bytes())
			}
			var m struct {
				ActionStatus string
				ErrorCode    int
				ErrorInfo    string
			}
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if m.ActionStatus != "FAIL" || m.ErrorCode != 60002 || !strings.Contains(m.ErrorInfo, c.info) {
				t.Fatalf("envelope %+v, want 60002 saying %q", m, c.info)
			}
		})
	}
}

// BenchmarkConn measures what the connection adds on the hot path: a
// copy of a request's first bytes on read, a byte test on write.
func BenchmarkConn(b *testing.B) {
	req := []byte("POST /v4/group_open_http_svc/update_group_counter?sdkappid=1400000001&identifier=admin&usersig=" +
		strings.Repeat("x", 200) + "&random=1&contenttype=json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + strings.Repeat(" ", 100))
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 120\r\n\r\n" + strings.Repeat(" ", 120))
	for _, wrapped := range []bool{false, true} {
		name := "bare"
		if wrapped {
			name = "wrapped"
		}
		b.Run(name, func(b *testing.B) {
			in := bytes.NewReader(req)
			rec := &recorder{in: in}
			var c net.Conn = rec
			if wrapped {
				c = &conn{Conn: rec, lim: &Limits{MaxHeaderBytes: DefaultMaxHeaderBytes}}
			}
			buf := make([]byte, 4096)
			b.ReportAllocs()
			for b.Loop() {
				in.Reset(req)
				c.Read(buf)
				c.Write(resp)
				rec.out.Reset()
				trackRequestStart(c, http.StateIdle)
			}
		})
	}
}
