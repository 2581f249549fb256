package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
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

// histogram counts latencies in 10 µs buckets up to 100 ms, which is fine
// enough for a p99 of a few milliseconds and small enough to keep one per
// connection.
type histogram struct {
	counts [10001]uint32
	n      int64
}

const bucket = 10 * time.Microsecond

func (h *histogram) add(d time.Duration) {
	i := int(d / bucket)
	if i >= len(h.counts) {
		i = len(h.counts) - 1
	}
	h.counts[i]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the upper edge of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	want := int64(q * float64(h.n))
	var seen int64
	for i, c := range h.counts {
		seen += int64(c)
		if seen > want {
			return time.Duration(i+1) * bucket
		}
	}
	return time.Duration(len(h.counts)) * bucket
}
