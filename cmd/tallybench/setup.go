package main

import (
	"context"
	"net/http"
	"time"

	"github.com/tallyserver/tally"
	tallyclient "github.com/tallyserver/tally/client"
)

// The calls that set a run up and check it afterwards go through the Go
// client: they are not what a run measures, and the client's types say
// what each sends. The loads themselves keep the raw client of client.go,
// which allocates nothing per call and leaves the machine's two cores to
// the server.

// setupCallTimeout fails a setup call whose server stops answering, rather
// than hang the run.
const setupCallTimeout = 30 * time.Second

// benchClient returns a client of the bench app's admin on the server at
// addr, for up to conns calls at once, and a func that closes its idle
// connections, so that none is left open on the server through the
// measured runs.
func benchClient(addr string, conns int) (*tallyclient.Client, func(), error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}, Timeout: setupCallTimeout}
	c, err := tallyclient.New("http://"+addr, benchApp, benchAdmin, tallyclient.WithSecretKey(benchKey), tallyclient.WithHTTPClient(hc))
	if err != nil {
		return nil, nil, err
	}
	return c, hc.CloseIdleConnections, nil
}

// createGroups creates n Public groups, group i with id(i), from conns
// goroutines.
func createGroups(addr string, conns, n int, id func(i int) string) error {
	c, closeIdle, err := benchClient(addr, conns)
	if err != nil {
		return err
	}
	defer closeIdle()
	return parallel(n, conns, func(_, i int) error {
		_, err := c.CreateGroup(context.Background(), tallyclient.CreateGroupRequest{Type: tally.GroupPublic, Name: "bench", GroupID: id(i)})
		return err
	})
}
