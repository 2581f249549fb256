package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tallyserver/tally"
)

// Client calls one server as one identifier of one app. It is safe for
// use by many goroutines at once.
type Client struct {
	base string // scheme, host and any path prefix, without a final slash
	// query is the start of every call's query, up to "usersig=".
	query string
	hc    *http.Client
	// userSig returns the UserSig of the next call.
	userSig func() string
}

// defaultHTTPClient is the http.Client of every Client not given one. Its
// transport keeps more idle connections per host than net/http's default
// of 2, which would make a caller with a few goroutines open and close a
// connection on most of its calls.
var defaultHTTPClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t}
}()

// New returns a client that calls the server at baseURL (such as
// "http://127.0.0.1:8080", or "https://console.tim.qq.com" for Tencent's
// own) as identifier, an admin of app sdkappid. It needs WithSecretKey or
// WithUserSig, not both.
func New(baseURL string, sdkappid uint32, identifier string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("tally: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("tally: base URL %q must be http:// or https:// and a host, with no query", baseURL)
	}
	if identifier == "" {
		return nil, errors.New("tally: an identifier is required")
	}
	cfg := config{lifetime: DefaultSigLifetime, hc: defaultHTTPClient, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	c := &Client{
		base: strings.TrimSuffix(u.String(), "/"),
		query: "?sdkappid=" + strconv.FormatUint(uint64(sdkappid), 10) +
			"&identifier=" + url.QueryEscape(identifier) + "&usersig=",
		hc: cfg.hc,
	}
	switch {
	case cfg.keySet == cfg.sigSet:
		return nil, errors.New("tally: give WithSecretKey or WithUserSig, and only one")
	case cfg.sigSet:
		if cfg.lifetimeSet {
			return nil, errors.New("tally: WithSigLifetime is for the sigs of WithSecretKey; WithUserSig's sig has its own")
		}
		sig := cfg.sig
		c.userSig = func() string { return sig }
	default:
		if cfg.lifetime < time.Second {
			return nil, fmt.Errorf("tally: sig lifetime %v is under a second", cfg.lifetime)
		}
		s := &signer{sdkappid: sdkappid, key: cfg.key, identifier: identifier, lifetime: cfg.lifetime, now: cfg.now}
		c.userSig = s.userSig
	}
	return c, nil
}

// servicePath is where the commands of groups, members and counters live.
const servicePath = "/v4/group_open_http_svc/"

// url returns the URL of a call of command, with a fresh random.
func (c *Client) url(command string) string {
	var b strings.Builder
	b.WriteString(c.base)
	b.WriteString(servicePath)
	b.WriteString(command)
	b.WriteString(c.query)
	b.WriteString(url.QueryEscape(c.userSig()))
	b.WriteString("&random=")
	b.WriteString(strconv.FormatUint(uint64(rand.Uint32()), 10))
	b.WriteString("&contenttype=json")
	return b.String()
}

// call posts req, as JSON, to command and decodes the answer's fields into
// ans, which may be nil for a command that answers only the envelope.
func (c *Client) call(ctx context.Context, command string, req, ans any) error {
	body, err := encode(req)
	if err != nil {
		return fmt.Errorf("tally: %s: encoding the request: %w", command, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(command), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("tally: %s: %w", command, redact(err))
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return redact(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("tally: %s: reading the answer: %w", command, err)
	}
	return decode(command, resp, b, ans)
}

// encode marshals a request as Tencent's examples write it: no HTML
// escaping of <, > and &, which a group's Name may hold, and no newline.
func encode(req any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// redact takes the query out of the URL that net/http's errors quote,
// because it holds the UserSig, which a log line of the error must not.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if i := strings.IndexByte(ue.URL, '?'); i >= 0 {
			ue.URL = ue.URL[:i]
		}
	}
	return err
}

// envelope is what every answer starts with. The pointers tell a field
// that is absent from one that is zero.
type envelope struct {
	ActionStatus string      `json:"ActionStatus"`
	ErrorCode    *tally.Code `json:"ErrorCode"`
	ErrorInfo    string      `json:"ErrorInfo"`
}

// decode reads an answer: a FAIL becomes an *Error, anything that is not
// an envelope a *ResponseError, and an OK answer's fields go into ans.
func decode(command string, resp *http.Response, body []byte, ans any) error {
	if resp.StatusCode != http.StatusOK {
		return responseError(command, resp.StatusCode, body, nil)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return responseError(command, resp.StatusCode, body, err)
	}
	switch {
	case env.ErrorCode == nil:
		return responseError(command, resp.StatusCode, body, errors.New("no ErrorCode"))
	case env.ActionStatus == "FAIL" && *env.ErrorCode != tally.OK:
		return &Error{Command: command, Code: *env.ErrorCode, Info: env.ErrorInfo, RequestID: resp.Header.Get("X-Request-Id")}
	case env.ActionStatus != "OK" || *env.ErrorCode != tally.OK:
		return responseError(command, resp.StatusCode, body,
			fmt.Errorf("ActionStatus %q with ErrorCode %d", env.ActionStatus, int(*env.ErrorCode)))
	}
	if ans == nil {
		return nil
	}
	if err := json.Unmarshal(body, ans); err != nil {
		return responseError(command, resp.StatusCode, body, err)
	}
	return nil
}
