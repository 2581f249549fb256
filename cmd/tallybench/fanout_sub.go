package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// monoStart is the origin of the times the writers and the subscribers
// record, so that both are read from one monotonic clock and subtract.
var monoStart = time.Now()

func mono() time.Duration { return time.Since(monoStart) }

// A subscriber is one open SSE stream, read by a goroutine of its own
// straight from the socket, so that ten thousand of them cost the load
// generator little more than their buffers and stacks.
type subscriber struct {
	conn net.Conn
	hot  bool // watches the hot group, and so records what it gets
	// values and at are the hot counter's values that the stream brought,
	// in order, and when each arrived.
	values []int64
	at     []time.Duration
	// last is the last value seen, which the end of a run waits on.
	last atomic.Int64
	err  error
	done chan struct{} // closed when the reading goroutine has returned
}

// openSubscribers opens n streams, stream i watching group(i) (hot for
// those that watch the hot group), at most opening at a time, and returns
// once every stream has brought its first message, so that the server
// holds all of them when it does.
func openSubscribers(addr string, n, opening int, target func(i int) string, hot func(i int) bool) ([]*subscriber, error) {
	subs := make([]*subscriber, n)
	var ready sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, opening)
	for i := range subs {
		s := &subscriber{hot: hot(i), done: make(chan struct{})}
		s.last.Store(-1)
		subs[i] = s
		ready.Add(1)
		sem <- struct{}{}
		go func() {
			defer close(s.done)
			signal := func(err error) {
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("subscriber %d: %w", i, err)
					}
					mu.Unlock()
				}
				<-sem
				ready.Done()
			}
			s.err = s.run(addr, target(i), signal)
		}()
	}
	ready.Wait()
	if firstErr != nil {
		closeSubscribers(subs)
		return nil, firstErr
	}
	return subs, nil
}

// closeSubscribers closes every stream and waits for its reader to stop.
func closeSubscribers(subs []*subscriber) {
	for _, s := range subs {
		if s != nil && s.conn != nil {
			s.conn.Close()
		}
	}
	for _, s := range subs {
		if s != nil {
			<-s.done
		}
	}
}

// run opens the stream and reads it until the connection is closed.
// opened is called once: with nil when the first message has come, or
// with the error that kept it from coming.
func (s *subscriber) run(addr, target string, opened func(error)) error {
	once := func(err error) error {
		if opened != nil {
			opened(err)
			opened = nil
		}
		return err
	}
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return once(err)
	}
	s.conn = c
	// A server that lets a stream in but never answers fails the run
	// rather than hangs it; the deadline is lifted once the stream is open.
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: tally\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		return once(err)
	}
	br := bufio.NewReaderSize(c, 1024)
	body, err := sseHead(br)
	if err != nil {
		return once(err)
	}
	for {
		line, err := body.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				err = nil // Closed by closeSubscribers: the end of a run.
			}
			return once(err)
		}
		data, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok {
			continue // A heartbeat, or the blank line that ends a message.
		}
		if s.hot {
			if v, ok := messageValue(data); ok {
				s.values = append(s.values, v)
				s.at = append(s.at, mono())
				s.last.Store(v)
			}
		}
		if opened != nil {
			c.SetDeadline(time.Time{})
			once(nil)
		}
	}
}

// sseHead reads the answer's head and returns a reader of the event
// stream in its body; net/http sends it chunked to an HTTP/1.1 client.
func sseHead(br *bufio.Reader) (*bufio.Reader, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return nil, fmt.Errorf("%w: %q", errNot200, bytes.TrimSpace(line))
	}
	var stream, chunked bool
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Type")):
			stream = bytes.HasPrefix(value, []byte("text/event-stream"))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		}
	}
	if !stream {
		// A refusal is an envelope, which says why.
		env, _ := br.Peek(br.Buffered())
		return nil, fmt.Errorf("no event stream but: %s", env)
	}
	if !chunked {
		return br, nil
	}
	return bufio.NewReaderSize(httputil.NewChunkedReader(br), 512), nil
}

// messageValue is the value of the one counter a hot message carries;
// false for a message with none, such as the first of a group never
// written.
func messageValue(msg []byte) (int64, bool) {
	const tag = `"Value":`
	i := bytes.Index(msg, []byte(tag))
	if i < 0 {
		return 0, false
	}
	msg = msg[i+len(tag):]
	j := bytes.IndexAny(msg, ",}")
	if j < 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(msg[:j]), 10, 64)
	return v, err == nil
}
