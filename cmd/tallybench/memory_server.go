package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/usersig"
)

// memStart is one start of the server on the filled store.
type memStart struct {
	banner, answer time.Duration // from exec
	proc           procUsage     // right after the first answer
	stop           time.Duration // from SIGTERM to exit
}

// memState is the server process after one phase of the loaded start.
type memState struct {
	name  string
	calls int
	took  time.Duration
	proc  procUsage
}

// memRun starts the server, times its first answer and stops it; with
// loads, it runs the read and then the write load in between and reports
// the process after each.
func memRun(o *memOptions, config string, loads bool, stderr io.Writer) (memStart, []memState, error) {
	var st memStart
	var serverLog io.Writer
	if o.verbose {
		serverLog = stderr
	}
	srv, err := startTally(o.bin, config, o.data, serverLog)
	if err != nil {
		return st, nil, err
	}
	defer srv.kill()
	st.banner = srv.banner
	api := newMemAPI("http://"+srv.addr, o.conns)
	defer api.hc.CloseIdleConnections()

	if st.answer, err = memFirstAnswer(srv, api, o); err != nil {
		return st, nil, err
	}
	if st.proc, err = srv.usage(); err != nil {
		return st, nil, err
	}
	states := []memState{{name: "first answer", proc: st.proc}}
	if loads {
		phases := []struct {
			name string
			n    int
			call func(g int) error
		}{
			{fmt.Sprintf("%s reads", memCount(o.reads)), o.reads, func(g int) error { return api.get(o, g) }},
			{fmt.Sprintf("%s writes", memCount(o.writes)), o.writes, func(g int) error { return api.increase(o, g) }},
		}
		for _, ph := range phases {
			if ph.n == 0 {
				continue
			}
			fmt.Fprintf(stderr, "%s from %d connections...\n", ph.name, o.conns)
			start := time.Now()
			err := parallel(ph.n, o.conns, func(_, _ int) error { return ph.call(rand.IntN(o.groups())) })
			if err != nil {
				return st, nil, fmt.Errorf("%s: %w", ph.name, err)
			}
			s := memState{name: ph.name, calls: ph.n, took: time.Since(start)}
			if s.proc, err = srv.usage(); err != nil {
				return st, nil, err
			}
			states = append(states, s)
		}
	}
	api.hc.CloseIdleConnections()
	st.stop, err = srv.stop()
	return st, states, err
}

// memFirstAnswer calls get_group_counter until it answers OK and returns
// the time from exec to that answer.
func memFirstAnswer(s *proc, api *memAPI, o *memOptions) (time.Duration, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		err := api.get(o, rand.IntN(o.groups()))
		if err == nil {
			return time.Since(s.start), nil
		}
		select {
		case <-s.exited:
			return 0, s.failure("exited before answering")
		default:
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no answer within a minute of the banner; the last call: %w", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// memAPI calls the server as the app's admin over keep-alive connections.
type memAPI struct {
	hc   *http.Client
	base string
	sig  string
}

func newMemAPI(base string, conns int) *memAPI {
	return &memAPI{
		hc: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxConnsPerHost:     conns,
				MaxIdleConnsPerHost: conns,
				DisableCompression:  true,
			},
		},
		base: base,
		sig:  usersig.Sign(memAppID, memSecret, memAdmin, 86400, time.Now()),
	}
}

// memAnswer is the part of an answer the benchmark reads.
type memAnswer struct {
	ErrorCode    int
	ErrorInfo    string
	GroupCounter []tally.Counter
}

// call posts body to command and returns the answer, or an error unless it
// is OK.
func (a *memAPI) call(command string, body []byte) (memAnswer, error) {
	var ans memAnswer
	u := fmt.Sprintf("%s/v4/group_open_http_svc/%s?sdkappid=%d&identifier=%s&usersig=%s&random=%d&contenttype=json",
		a.base, command, memAppID, memAdmin, url.QueryEscape(a.sig), rand.Uint32())
	resp, err := a.hc.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		return ans, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return ans, err
	}
	if resp.StatusCode != http.StatusOK {
		return ans, fmt.Errorf("%s: HTTP %s", command, resp.Status)
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return ans, fmt.Errorf("%s: %w in %q", command, err, data)
	}
	if ans.ErrorCode != 0 {
		return ans, fmt.Errorf("%s %s: error %d: %s", command, body, ans.ErrorCode, ans.ErrorInfo)
	}
	return ans, nil
}

// get reads every counter of group g and checks that it has them all.
func (a *memAPI) get(o *memOptions, g int) error {
	ans, err := a.call("get_group_counter", fmt.Appendf(nil, `{"GroupId":%q}`, memGroupID(g)))
	if err != nil {
		return err
	}
	if len(ans.GroupCounter) != o.keysIn(g) {
		return fmt.Errorf("group %s has %d counters, not %d", memGroupID(g), len(ans.GroupCounter), o.keysIn(g))
	}
	return nil
}

// increase adds 1 to one of group g's counters.
func (a *memAPI) increase(o *memOptions, g int) error {
	body := fmt.Appendf(nil, `{"GroupId":%q,"Mode":"Increase","GroupCounter":[{"Key":%q,"Value":1}]}`,
		memGroupID(g), memKeys[rand.IntN(o.keysIn(g))])
	_, err := a.call("update_group_counter", body)
	return err
}
