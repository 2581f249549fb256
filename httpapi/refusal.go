package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tallyserver/tally"
)

// A refusal is an answer net/http writes by itself, without a handler:
//
//	HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request
//
// net/http (as of Go 1.26) writes each with one Fprintf to the connection,
// so each arrives in one Write, and all of them close the connection. The
// same holds for the 417 it answers to an Expect other than 100-continue,
// which it flushes in one Write before it closes.
//
// A write is a refusal when it starts with an HTTP/1.x status line of 4xx
// or 5xx and holds the blank line that ends a head, and no handler is
// answering the connection's request. The handler's answers cannot be
// mistaken for one: the connection knows when a handler answers
// (listener.go), which /healthz's 503 needs; and the API's status is
// always 200, and the later writes of a long answer are pieces of its
// body, compact JSON whose strings escape control characters, so they
// never hold a CR.

// maxInfo bounds an ErrorInfo built from what a client sent, which may be
// a 64 KiB request line.
const maxInfo = 200

// replaceRefusal returns the answer that replaces p when p is one of
// net/http's refusals.
func (c *conn) replaceRefusal(p []byte) ([]byte, bool) {
	status, reason, ok := parseRefusal(p)
	if !ok {
		return nil, false
	}
	info := explainRefusal(status, reason, c.head, len(c.head) >= c.headCap(), c.readErr, *c.lim)
	return refusalAnswer(p[:len("HTTP/1.1")], info, c.ahead.refusedHEAD(c.head)), true
}

// parseRefusal reads the status line of a refusal: p must start with
// "HTTP/1.x NNN " and hold a whole head.
func parseRefusal(p []byte) (status int, reason string, ok bool) {
	if len(p) < len("HTTP/1.1 400 ") || string(p[:7]) != "HTTP/1." || p[8] != ' ' || p[12] != ' ' {
		return 0, "", false
	}
	for _, d := range p[9:12] {
		if d < '0' || d > '9' {
			return 0, "", false
		}
		status = status*10 + int(d-'0')
	}
	if status < 400 || status > 599 || !bytes.Contains(p, []byte("\r\n\r\n")) {
		return 0, "", false
	}
	line := p[13:bytes.Index(p, []byte("\r\n"))]
	return status, string(line), true
}

// refusalAnswer is the HTTP 200 answer, with an ErrBadHTTPRequest envelope,
// that replaces a refusal; to a HEAD (head) it is the answer's head alone,
// as HTTP asks, where net/http's own refusal has a body. It keeps the
// connection's fate: net/http closes the connection after every refusal,
// so the answer says so.
func refusalAnswer(proto []byte, info string, head bool) []byte {
	var a answer
	a.fail(&tally.Error{Code: tally.ErrBadHTTPRequest, Info: info})
	body := a.end()
	b := make([]byte, 0, 192+len(body))
	b = append(b, proto...)
	b = append(b, " 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nConnection: close\r\nDate: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\n\r\n"...)
	if head {
		return b
	}
	return append(b, body...)
}

// explainRefusal says what was wrong with the request that net/http
// refused with status and reason. head is what the connection read of the
// request, truncated when full is set; readErr is how the last read ended.
// Where net/http's reason is only "Bad Request", head is parsed again with
// http.ReadRequest, which is net/http's own parser and so fails the same
// way, with an error that names the fault.
func explainRefusal(status int, reason string, head []byte, full bool, readErr error, lim Limits) string {
	var info string
	var ne net.Error
	switch {
	case status == http.StatusBadRequest && errors.As(readErr, &ne) && ne.Timeout():
		// net/http takes the part of a line it had when time ran out
		// for the whole line, and then finds it malformed. The head's
		// deadline is ReadHeaderTimeout alone, whatever ReadTimeout is.
		info = fmt.Sprintf("the request line and headers did not arrive within %v", lim.ReadHeaderTimeout)
	case status == http.StatusBadRequest && errors.Is(readErr, io.EOF) && !bytes.Contains(head, []byte("\r\n\r\n")):
		info = "the request ends before its headers do"
	case status == http.StatusRequestHeaderFieldsTooLarge:
		info = fmt.Sprintf("the URL and headers are over %s", size(lim.MaxHeaderBytes))
	case status == http.StatusBadRequest && strings.HasPrefix(reason, "Bad Request: "):
		info = explainBadRequest(strings.TrimPrefix(reason, "Bad Request: "))
	case status == http.StatusBadRequest, status == http.StatusNotImplemented,
		status == http.StatusHTTPVersionNotSupported, status == http.StatusExpectationFailed:
		info = explainHead(status, head, full)
	default:
		info = fmt.Sprintf("the request was refused before it could be read: %d %s", status, reason)
	}
	if len(info) > maxInfo {
		info = info[:maxInfo-3] + "..."
	}
	return info
}

// explainBadRequest rewords the reasons net/http gives after a 400 when it
// gives one.
func explainBadRequest(text string) string {
	switch text {
	case "missing required Host header":
		return "the Host header is missing; HTTP/1.1 requires one"
	case "malformed Host header":
		return "the Host header is malformed"
	case "invalid header name":
		return "a header name is not a valid token"
	case "invalid header value":
		return "a header value holds a control character"
	}
	return "the request is not valid HTTP/1.1: " + text
}

// explainHead parses the head again to find what net/http found wrong.
func explainHead(status int, head []byte, full bool) string {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err == nil {
		switch status {
		case http.StatusHTTPVersionNotSupported:
			return fmt.Sprintf("%s is not supported; use HTTP/1.1", quote(req.Proto))
		case http.StatusExpectationFailed:
			return fmt.Sprintf("Expect %s is not supported; only 100-continue is", quote(req.Header.Get("Expect")))
		}
		// The head kept does not fail as the one net/http read did: a
		// pipelining client's request began in a read that belonged to
		// the request before, and was dropped with it.
		return "the request is not valid HTTP/1.1"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Sprintf("the URL %s is malformed: %v", quote(ue.URL), ue.Err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		if full {
			return "the request line and headers are too long to read"
		}
		// The client did not end its input (explainRefusal checks
		// that first), so what was kept is not all net/http saw.
		return "the request is not valid HTTP/1.1"
	}
	msg := err.Error()
	for _, e := range headErrors {
		if rest, ok := strings.CutPrefix(msg, e.prefix); ok {
			return e.info(rest)
		}
	}
	return "the request is not valid HTTP/1.1: " + msg
}

// headErrors words net/http's parse errors, which lead with a fixed text
// and end with the offending value, already quoted. Texts that a future Go
// changes fall through to the error itself.
var headErrors = []struct {
	prefix string
	info   func(rest string) string
}{
	{"malformed HTTP request ", func(r string) string {
		return "the request line is malformed; want METHOD /path HTTP/1.1, not " + r
	}},
	{"invalid method ", func(r string) string { return "the method " + r + " is not a valid token" }},
	{"malformed HTTP version ", func(r string) string { return "the HTTP version " + r + " is malformed" }},
	{"malformed MIME header initial line: ", func(r string) string {
		return "the first header line " + r + " starts with a space"
	}},
	{"malformed MIME header line: ", func(r string) string { return "the header line " + r + " is malformed" }},
	{"malformed MIME header: missing colon: ", func(r string) string { return "the header line " + r + " has no colon" }},
	{"bad Content-Length ", func(r string) string { return "Content-Length " + r + " is not a number of bytes" }},
	{"invalid empty Content-Length ", func(string) string { return "Content-Length is empty" }},
	{"http: message cannot contain multiple Content-Length headers; got ", func(r string) string {
		return "Content-Length is given more than once, as " + r
	}},
	{"too many Host headers", func(string) string { return "the Host header is given more than once" }},
	{"unsupported transfer encoding: ", func(r string) string {
		return "Transfer-Encoding " + r + " is not supported; send a Content-Length or Transfer-Encoding chunked"
	}},
	{"too many transfer encodings: ", func(r string) string {
		return "Transfer-Encoding is given more than once, as " + r + "; send it once, as chunked"
	}},
	{"bad trailer key ", func(r string) string { return "the Trailer header names " + r + ", which cannot be a trailer" }},
}

// quote quotes a value a client sent, cut short so that an ErrorInfo
// stays readable.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:61]) + "..."
	}
	return strconv.Quote(s)
}

// size formats a byte count the way the limits are documented.
func size(n int) string {
	if n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
