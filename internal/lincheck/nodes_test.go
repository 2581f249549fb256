package lincheck_test

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
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/usersig"
)

// The one app the nodes serve, without rate limits, so that no call of a
// history is refused for coming too fast.
const (
	appID  uint32 = 1400000001
	appKey        = "lincheck-secret-key"
	admin         = "admin"
)

var apps = []tally.App{{SDKAppID: appID, SecretKey: appKey, Admins: []string{admin}, Edition: tally.EditionUltimate}}

// node is one Tally node: an httpapi.Server on an http.Server of its own,
// listening on its own loopback port, and a client that talks to it.
type node struct {
	index  int
	base   string // http://127.0.0.1:port/v4/group_open_http_svc/
	query  string // the URL's query: the app, its admin and a UserSig
	client *http.Client
}

// startNodes serves each store on a node of its own, as the server does
// (NewHTTPServer on a WrapListener listener), and stops the nodes when the
// test ends. The stores must be closed after that: a cleanup registered
// before startNodes runs after the nodes stop.
func startNodes(t *testing.T, stores []tally.Store) []*node {
	t.Helper()
	for _, a := range apps {
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	q := url.Values{
		"sdkappid":    {fmt.Sprint(appID)},
		"identifier":  {admin},
		"usersig":     {usersig.Sign(appID, appKey, admin, 86400, time.Now())},
		"random":      {"12345678"},
		"contenttype": {"json"},
	}.Encode()
	nodes := make([]*node, len(stores))
	for i, store := range stores {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lim := httpapi.Limits{}
		hs := httpapi.NewHTTPServer(httpapi.NewServer(store, apps, nil), nil, lim)
		served := make(chan error, 1)
		go func() { served <- hs.Serve(httpapi.WrapListener(ln, lim)) }()
		tr := &http.Transport{MaxIdleConnsPerHost: 16}
		t.Cleanup(func() {
			tr.CloseIdleConnections()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := hs.Shutdown(ctx); err != nil {
				t.Errorf("node %d: stopping: %v", i, err)
			}
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("node %d: serving: %v", i, err)
			}
		})
		nodes[i] = &node{
			index:  i,
			base:   "http://" + ln.Addr().String() + "/v4/group_open_http_svc/",
			query:  q,
			client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		}
	}
	return nodes
}

// answer is the part of an answer that the checks read.
type answer struct {
	ActionStatus string
	ErrorCode    tally.Code
	ErrorInfo    string
	// GroupCounter decodes into int64 straight from the JSON number, so
	// values stay exact.
	GroupCounter []tally.Counter
}

// post sends one call of cmd with the JSON body and reads its answer
// whole. An error means no answer was read.
func (n *node) post(cmd string, body []byte) (answer, error) {
	resp, err := n.client.Post(n.base+cmd+"?"+n.query, "application/json", bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("node %d: %s: reading the answer: %w", n.index, cmd, err)
	}
	if resp.StatusCode != http.StatusOK {
		return answer{}, fmt.Errorf("node %d: %s: HTTP %d: %.200q", n.index, cmd, resp.StatusCode, b)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return answer{}, fmt.Errorf("node %d: %s: %w in %.200q", n.index, cmd, err, b)
	}
	return a, nil
}

// createGroup creates a Public group, which may hold counters, with id.
func (n *node) createGroup(t *testing.T, id string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"Type": "Public", "Name": "lincheck", "GroupId": id})
	a, err := n.post("create_group", body)
	if err != nil {
		t.Fatal(err)
	}
	if a.ErrorCode != tally.OK {
		t.Fatalf("create_group %s: %d %s", id, a.ErrorCode, a.ErrorInfo)
	}
}
