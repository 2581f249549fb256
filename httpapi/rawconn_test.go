package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
)

// newHardenedHarness is newHarness on a server cmd/tally runs, within lim:
// on net/http, the server of NewHTTPServer on a WrapListener; on fasthttp,
// the server of NewFastHTTPServer.
func newHardenedHarness(t testing.TB, f front, lim httpapi.Limits) *harness {
	t.Helper()
	return startFrontHarness(t, f, lim, nil)
}

// addr is the host:port the harness listens on.
func (h *harness) addr() string { return h.ln.Addr().String() }

// rawRequest is a request as it goes on the wire, with the query of a
// valid call by app's admin and the headers Go's client sends.
func rawRequest(host, method, cmd string, q url.Values, body string) []byte {
	return fmt.Appendf(nil, "%s %s?%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: %d\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n%s",
		method, commandPath(cmd), q.Encode(), host, len(body), body)
}

// rawAnswer is one answer read off a raw connection.
type rawAnswer struct {
	resp *http.Response
	body []byte
}

// exchange writes raw on a new connection, half-closes it so that the
// server sees the request end there, and reads every answer until the
// server closes the connection. methods names the method of each request
// raw holds, so that the answer to a HEAD is read without a body; a
// request beyond the list is taken to be a POST.
func exchange(addr string, raw []byte, methods ...string) ([]rawAnswer, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	wrote := make(chan struct{})
	go func() {
		// The server may answer and close before it has read everything,
		// as it does with an oversized head, so a failed write is not
		// a failure: what matters is what comes back.
		defer close(wrote)
		if _, err := c.Write(raw); err == nil {
			c.(*net.TCPConn).CloseWrite()
		}
	}()
	defer func() {
		c.Close()
		<-wrote
	}()

	br := bufio.NewReader(c)
	var answers []rawAnswer
	for {
		if _, err := br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) || isReset(err) {
				return answers, nil
			}
			return answers, fmt.Errorf("after %d answers: %v", len(answers), err)
		}
		method := http.MethodPost
		if len(answers) < len(methods) {
			method = methods[len(answers)]
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return answers, fmt.Errorf("answer %d is not HTTP: %v", len(answers), err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return answers, fmt.Errorf("answer %d: reading its body: %v", len(answers), err)
		}
		if resp.StatusCode == http.StatusContinue {
			continue // the interim answer to Expect: 100-continue
		}
		answers = append(answers, rawAnswer{resp, body})
	}
}

// requestMethods parses raw as the server does, with net/http's own
// parser, and returns the method of each request it holds, up to the first
// it cannot parse.
func requestMethods(raw []byte) []string {
	br := bufio.NewReader(bytes.NewReader(raw))
	var methods []string
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return methods
		}
		methods = append(methods, req.Method)
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return methods
		}
	}
}

// isReset reports a connection reset: the server closed a connection it
// had not read to the end, as net/http does after refusing a head that is
// too large.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// checkAnswer checks an answer read off the wire as checkEnvelope does, and
// that its Content-Length is the length of its body, and returns its
// envelope.
func checkAnswer(a rawAnswer) (map[string]any, error) {
	m, err := checkEnvelope(a.resp.StatusCode, a.resp.Header, a.body)
	if err != nil {
		return nil, err
	}
	if cl := a.resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(a.body)) {
		return nil, fmt.Errorf("Content-Length %q for a body of %d bytes", cl, len(a.body))
	}
	return m, nil
}

// snapshot is every group of the apps a hostile test attacks, with its
// counters, as the store holds them.
func (h *harness) snapshot(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	var b bytes.Buffer
	for _, app := range []uint32{appMain, appOther} {
		page, err := h.store.ListGroups(ctx, app, tally.GroupFilter{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "app %d: %d groups\n", app, page.Total)
		for _, id := range page.IDs {
			cs, err := h.store.Counters(ctx, app, id, nil)
			if err != nil && tally.ErrorCode(err) != tally.ErrNoPermission {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "  %q %v\n", id, cs)
		}
	}
	return b.String()
}
