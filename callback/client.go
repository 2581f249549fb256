package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tallyserver/tally"
)

// Timeout bounds one attempt, from dialling to the answer's last byte:
// Tencent counts a handler that has not answered within 2 s as failed.
const Timeout = 2 * time.Second

// maxAnswer bounds what is read of a handler's answer. The envelope is
// some tens of bytes; a handler that sends more is not one of Tencent's,
// and must not make Tally hold its output.
const maxAnswer = 64 << 10

// maxRedirects bounds the redirects followed within the handler's host.
const maxRedirects = 3

// Client posts callbacks. It has an http.Client of its own, so that its
// timeouts and redirect rules are its own and a slow handler holds no
// connection the rest of the server needs. It sends what each callback
// needs and nothing else: never the app's secret key, which only signs
// UserSigs.
type Client struct {
	http *http.Client
	// UserAgent names Tally to the handler, for its logs.
	UserAgent string
	// Now is the clock of RequestTime; tests fix it.
	Now func() time.Time
}

// NewClient returns a client whose User-Agent names Tally's version.
func NewClient(version string) *Client {
	dialer := &net.Dialer{Timeout: Timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   Timeout,
		ResponseHeaderTimeout: Timeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Client{
		http: &http.Client{
			Transport:     transport,
			Timeout:       Timeout,
			CheckRedirect: sameHostRedirect,
		},
		UserAgent: "Tally/" + version + " (third-party callback)",
		Now:       time.Now,
	}
}

// sameHostRedirect follows a redirect only within the host the app
// configured. A callback URL that redirects elsewhere would hand the
// event, and the Sign of the app's token, to a host the app never named;
// the redirect itself is then the answer, a failed attempt.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects || req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return http.ErrUseLastResponse
	}
	return nil
}

// CloseIdle closes the client's idle connections, at shutdown.
func (c *Client) CloseIdle() { c.http.CloseIdleConnections() }

// Answer is a handler's answer, as Tencent defines it.
type Answer struct {
	ActionStatus string
	ErrorCode    int64
	ErrorInfo    string
}

// AttemptError is a failed attempt: the handler could not be reached,
// took too long, or did not answer HTTP 200 with an envelope.
type AttemptError struct {
	Command string
	Err     error
}

func (e *AttemptError) Error() string { return e.Command + " callback: " + e.Err.Error() }
func (e *AttemptError) Unwrap() error { return e.Err }

// post sends body to the app's callback URL as command, from a REST call
// made by clientIP, and returns the handler's answer. Any error is an
// *AttemptError.
func (c *Client) post(ctx context.Context, app *tally.App, command, clientIP string, body []byte) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	fail := func(err error) (Answer, error) { return Answer{}, &AttemptError{Command: command, Err: err} }
	u := requestURL(app.Callback.URL, app.SDKAppID, command, clientIP, app.Callback.Token, c.Now())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		// The error would quote the URL, whose Sign is good for a while
		// and which may hold a password; the log gets neither.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fail(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fail(fmt.Errorf("reading the answer: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("HTTP status %d", resp.StatusCode))
	}
	if len(data) > maxAnswer {
		return fail(fmt.Errorf("the answer is over %d bytes", maxAnswer))
	}
	a, err := parseAnswer(data)
	if err != nil {
		return fail(err)
	}
	return a, nil
}

// parseAnswer reads a handler's envelope. Its field names must match
// exactly: encoding/json would take "errorcode" for ErrorCode, and a body
// that only looks like an envelope is not one of Tencent's. ActionStatus
// and ErrorCode are required, ErrorCode a whole number; ErrorInfo may be
// left out.
func parseAnswer(data []byte) (Answer, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return Answer{}, errors.New("the answer is not a JSON object")
	}
	var a Answer
	status, ok := fields["ActionStatus"]
	if !ok || json.Unmarshal(status, &a.ActionStatus) != nil {
		return Answer{}, errors.New("the answer has no ActionStatus string")
	}
	code, ok := fields["ErrorCode"]
	if !ok {
		return Answer{}, errors.New("the answer has no ErrorCode")
	}
	n, err := strconv.ParseInt(string(code), 10, 64)
	if err != nil {
		return Answer{}, fmt.Errorf("the answer's ErrorCode %s is not a whole number", code)
	}
	a.ErrorCode = n
	if info, ok := fields["ErrorInfo"]; ok && string(info) != "null" {
		if json.Unmarshal(info, &a.ErrorInfo) != nil {
			return Answer{}, errors.New("the answer's ErrorInfo is not a string")
		}
	}
	return a, nil
}

// Send posts an after-event to its app's callback URL, with its EventId,
// and reports whether the handler accepted it: HTTP 200 with ActionStatus
// OK and ErrorCode 0. Anything else is an *AttemptError.
func (c *Client) Send(ctx context.Context, app *tally.App, ev *tally.Event) error {
	a, err := c.post(ctx, app, ev.Kind.Command(), ev.ClientIP, WithEventID(ev.Body, ev.ID))
	if err != nil {
		return err
	}
	if a.ActionStatus != "OK" || a.ErrorCode != 0 {
		return &AttemptError{Command: ev.Kind.Command(),
			Err: fmt.Errorf("the handler answered ActionStatus %q, ErrorCode %d, ErrorInfo %q", a.ActionStatus, a.ErrorCode, a.ErrorInfo)}
	}
	return nil
}

// eventTimeField is how every after-event's body ends its fields.
var eventTimeField = []byte(`,"EventTime":`)

// WithEventID returns an after-event's body with "EventId":"<id>" added
// just before EventTime, its last field: Tencent's fields keep their
// order, and a handler that keeps the ids it has seen can drop a second
// delivery of one. The id is a string because a JSON number past 2^53
// loses digits in JavaScript.
func WithEventID(body []byte, id uint64) []byte {
	at := bytes.LastIndex(body, eventTimeField)
	if at < 0 {
		// Every after-event ends with EventTime; this is only for a
		// body made otherwise.
		at = bytes.LastIndexByte(body, '}')
		if at < 0 {
			return body
		}
	}
	out := make([]byte, 0, len(body)+40)
	out = append(out, body[:at]...)
	if len(out) > 0 && out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	out = append(out, `"EventId":"`...)
	out = strconv.AppendUint(out, id, 10)
	out = append(out, '"')
	return append(out, body[at:]...)
}
