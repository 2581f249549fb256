package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tallyserver/tally"
)

// streamPath is the live counter stream's endpoint.
const streamPath = "/stream/group_counter"

// Message is one message of the live counter stream: a group's state when
// the stream starts (and whenever the stream catches a slow reader up),
// then each change. Set the keys of GroupCounter and remove those of
// Deleted; a message with Destroyed is the group's last.
type Message struct {
	GroupID      string          `json:"GroupId"`
	Seq          uint64          `json:"Seq"`
	GroupCounter []tally.Counter `json:"GroupCounter"`
	Deleted      []string        `json:"Deleted"`
	Destroyed    bool            `json:"Destroyed"`
}

// Stream is an open live counter stream. Next returns its messages in
// order; Close ends it. A Stream is for one goroutine.
type Stream struct {
	body io.ReadCloser
	r    *bufio.Reader
}

// Watch opens the live counter stream of 1 to 100 groups, as Server-Sent
// Events. The client's identifier need not be an admin: a member may
// watch its groups, anyone an AVChatRoom. A refusal (the UserSig, a
// missing group, a group the identifier may not watch) is an *Error, as
// for the other calls. The stream lasts until ctx ends, Close is called,
// the server ends it, or every group in it is destroyed. It is never
// reopened behind the caller's back: a new Watch starts with each group's
// state, which is all a client that lost its stream needs.
func (c *Client) Watch(ctx context.Context, groups ...string) (*Stream, error) {
	const command = "stream_group_counter"
	var b strings.Builder
	b.WriteString(c.base)
	b.WriteString(streamPath)
	b.WriteString(c.query)
	b.WriteString(url.QueryEscape(c.userSig()))
	for _, g := range groups {
		b.WriteString("&GroupId=")
		b.WriteString(url.QueryEscape(g))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("tally: %s: %w", command, redact(err))
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, redact(err)
	}
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return &Stream{body: resp.Body, r: bufio.NewReader(resp.Body)}, nil
	}
	// A refusal is the usual envelope.
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("tally: %s: reading the answer: %w", command, err)
	}
	if err := decode(command, resp, body, nil); err != nil {
		return nil, err
	}
	return nil, responseError(command, resp.StatusCode, body, fmt.Errorf("an OK envelope where a stream was expected"))
}

// Next returns the stream's next message, waiting for it. It returns
// io.EOF once the server has ended the stream, and the context's error
// once Watch's context is done.
func (s *Stream) Next() (Message, error) {
	var data []byte
	for {
		line, err := s.r.ReadBytes('\n')
		if err != nil {
			if err == io.EOF && len(data) == 0 {
				return Message{}, io.EOF
			}
			return Message{}, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			// A blank line ends an event; one without data, or a
			// heartbeat's comment, says nothing.
			if len(data) == 0 {
				continue
			}
			var m Message
			if err := json.Unmarshal(data, &m); err != nil {
				return Message{}, fmt.Errorf("tally: stream_group_counter: a message is not JSON: %w: %q", err, data)
			}
			return m, nil
		case line[0] == ':':
			// A comment: the server's heartbeat, or its goodbye.
		case bytes.HasPrefix(line, []byte("data:")):
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(line[len("data:"):], []byte(" "))...)
		}
	}
}

// Close ends the stream.
func (s *Stream) Close() error { return s.body.Close() }
