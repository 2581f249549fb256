package lincheck_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
	"github.com/tallyserver/tally/httpapi"
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
// listening on its own loopback port, and a client of it.
type node struct {
	index int
	api   *client.Client
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
		api, err := client.New("http://"+ln.Addr().String(), appID, admin, client.WithSecretKey(appKey),
			client.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = &node{index: i, api: api}
	}
	return nodes
}

// createGroup creates a Public group, which may hold counters, with id.
func (n *node) createGroup(t *testing.T, id string) {
	t.Helper()
	_, err := n.api.CreateGroup(context.Background(), client.CreateGroupRequest{Type: tally.GroupPublic, Name: "lincheck", GroupID: id})
	if err != nil {
		t.Fatalf("node %d: %v", n.index, err)
	}
}
