package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// client is one keep-alive HTTP/1.1 connection that sends one request at a
// time, as a Tencent SDK does. It is written against the socket rather than
// with net/http so that the load generator spends as little of the
// machine's two cores as it can, and so that it allocates nothing per call.
type client struct {
	conn net.Conn
	r    *bufio.Reader
	req  []byte // the request being built
	body []byte // the last answer's body
}

func dial(addr string) (*client, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{conn: c, r: bufio.NewReaderSize(c, 16<<10)}, nil
}

func (c *client) Close() error { return c.conn.Close() }

// post sends a POST of body to target (path and query) and returns the
// answer's body, which is valid until the next call.
func (c *client) post(target string, body []byte) ([]byte, error) {
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, target...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: tally\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if _, err := c.conn.Write(c.req); err != nil {
		return nil, err
	}
	return c.readResponse()
}

var errNot200 = errors.New("answer is not HTTP 200")

// readResponse reads one answer, which Tally always sends with a
// Content-Length.
func (c *client) readResponse() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return nil, fmt.Errorf("%w: %q", errNot200, bytes.TrimSpace(line))
	}
	n := -1
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if len(line) <= 2 {
			break
		}
		const cl = "content-length:"
		if len(line) > len(cl) && bytes.EqualFold(line[:len(cl)], []byte(cl)) {
			n, err = strconv.Atoi(string(bytes.TrimSpace(line[len(cl):])))
			if err != nil {
				return nil, fmt.Errorf("bad Content-Length %q", line)
			}
		}
	}
	if n < 0 {
		return nil, errors.New("answer has no Content-Length")
	}
	if cap(c.body) < n {
		c.body = make([]byte, n)
	}
	c.body = c.body[:n]
	_, err = io.ReadFull(c.r, c.body)
	return c.body, err
}

// apiTarget is the path and query of a REST command called as admin of
// app with the UserSig sig. The sig needs no escaping: it is base64 with
// '*', '-' and '_' for '+', '/' and '=', made to stand in a URL.
func apiTarget(app int, admin, sig, command string) string {
	return fmt.Sprintf("/v4/group_open_http_svc/%s?sdkappid=%d&identifier=%s&usersig=%s&random=%d&contenttype=json",
		command, app, admin, sig, rand.Uint32())
}

// isOK tells an OK answer by its first bytes, which Tally always writes in
// this order, so that no call need decode its answer to count it.
var okPrefix = []byte(`{"ActionStatus":"OK","ErrorCode":0,`)

func isOK(ans []byte) bool { return bytes.HasPrefix(ans, okPrefix) }

// runEach makes calls 0..n-1 once each from conns connections, and hands
// every answer to check, if given. Every answer must be OK.
func runEach(addr, target string, conns, n int, body func(b []byte, i int) []byte, check func(i int, ans []byte) error) error {
	type worker struct {
		c *client
		b []byte // the body being built
	}
	ws := make([]worker, conns)
	for w := range ws {
		c, err := dial(addr)
		if err != nil {
			return err
		}
		defer c.Close()
		ws[w].c = c
	}
	return parallel(n, conns, func(w, i int) error {
		wk := &ws[w]
		// A server that stops answering fails the call rather than hanging
		// the run. runFor, where speed matters, sets no deadline.
		wk.c.conn.SetDeadline(time.Now().Add(30 * time.Second))
		wk.b = body(wk.b[:0], i)
		ans, err := wk.c.post(target, wk.b)
		if err == nil && !isOK(ans) {
			err = fmt.Errorf("call %d: %s", i, ans)
		}
		if err == nil && check != nil {
			err = check(i, ans)
		}
		return err
	})
}

// counterValues pulls the values out of a GroupCounter answer in order.
func counterValues(ans []byte) []int64 {
	var vs []int64
	const tag = `"Value":`
	for {
		i := bytes.Index(ans, []byte(tag))
		if i < 0 {
			return vs
		}
		ans = ans[i+len(tag):]
		j := bytes.IndexAny(ans, ",}")
		v, _ := strconv.ParseInt(string(ans[:j]), 10, 64)
		vs = append(vs, v)
	}
}

// histogram counts latencies in 10 µs buckets up to 100 ms, which is fine
// enough for a p99 of a few milliseconds, and in 1 ms buckets from there
// to 10 s, for calls that queue behind one another, such as a hot group's
// updates when each is a transaction of its own; small enough to keep one
// per connection.
type histogram struct {
	fine   [10000]uint32 // [0, 100 ms) by 10 µs
	coarse [9901]uint32  // [100 ms, 10 s) by 1 ms, and 10 s or more
	n      int64
}

const (
	bucket       = 10 * time.Microsecond
	coarseBucket = time.Millisecond
	fineRange    = 10000 * bucket
)

func (h *histogram) add(d time.Duration) {
	h.n++
	if d < fineRange {
		h.fine[d/bucket]++
		return
	}
	h.coarse[min(int((d-fineRange)/coarseBucket), len(h.coarse)-1)]++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.fine {
		h.fine[i] += c
	}
	for i, c := range o.coarse {
		h.coarse[i] += c
	}
	h.n += o.n
}

// quantile returns the upper edge of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	want := int64(q * float64(h.n))
	var seen int64
	for i, c := range h.fine {
		seen += int64(c)
		if seen > want {
			return time.Duration(i+1) * bucket
		}
	}
	for i, c := range h.coarse {
		seen += int64(c)
		if seen > want {
			return fineRange + time.Duration(i+1)*coarseBucket
		}
	}
	return fineRange + time.Duration(len(h.coarse))*coarseBucket
}
