package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

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
	// hits and misses are the phase's calls that the counter cache
	// answered and did not (tally_store_counter_cache_*).
	hits, misses float64
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
	admin, err := freeLoopbackAddr()
	if err != nil {
		return st, nil, err
	}
	args := []string{"--admin", admin}
	if o.budget != "" {
		args = append(args, "--memory-budget", o.budget)
	}
	srv, err := startTally(o.bin, config, o.data, serverLog, args...)
	if err != nil {
		return st, nil, err
	}
	defer srv.kill()
	st.banner = srv.banner
	sig := usersig.Sign(memAppID, memSecret, memAdmin, 86400, time.Now())
	get, increase := memGet(o), memIncrease(o)

	st.answer, err = memFirstAnswer(srv, func() error { return get.run(o, srv.addr, sig, 1, 1, o.groups()) })
	if err != nil {
		return st, nil, err
	}
	if st.proc, err = srv.usage(); err != nil {
		return st, nil, err
	}
	states := []memState{{name: "first answer", proc: st.proc}}
	if loads {
		ws := min(o.working, o.groups())
		phases := []struct {
			name   string
			n      int
			groups int
			call   memCall
		}{
			{fmt.Sprintf("%s reads", memCount(o.reads)), o.reads, o.groups(), get},
			{fmt.Sprintf("%s writes", memCount(o.writes)), o.writes, o.groups(), increase},
			// Every group of the working set read once, in turn, then
			// read and written at random: the second phase shows whether
			// a working set of that size fits the budget.
			{fmt.Sprintf("%s groups read once", memCount(ws)), ws, -ws, get},
			{fmt.Sprintf("%s reads, %s writes on them", memCount(o.reads), memCount(o.writes)), o.reads, ws, get},
		}
		for i, ph := range phases {
			if ph.n == 0 {
				continue
			}
			fmt.Fprintf(stderr, "%s from %d connections...\n", ph.name, o.conns)
			h0, m0, err := cacheCounts(admin)
			if err != nil {
				return st, nil, err
			}
			start := time.Now()
			if err := ph.call.run(o, srv.addr, sig, ph.n, o.conns, ph.groups); err != nil {
				return st, nil, fmt.Errorf("%s: %w", ph.name, err)
			}
			calls := ph.n
			if i == len(phases)-1 && o.writes > 0 {
				if err := increase.run(o, srv.addr, sig, o.writes, o.conns, ph.groups); err != nil {
					return st, nil, fmt.Errorf("%s: %w", ph.name, err)
				}
				calls += o.writes
			}
			s := memState{name: ph.name, calls: calls, took: time.Since(start)}
			h1, m1, err := cacheCounts(admin)
			if err != nil {
				return st, nil, err
			}
			s.hits, s.misses = h1-h0, m1-m0
			if s.proc, err = srv.usage(); err != nil {
				return st, nil, err
			}
			states = append(states, s)
		}
	}
	st.stop, err = srv.stop()
	return st, states, err
}

// memFirstAnswer calls get until it succeeds and returns the time from
// exec to that answer.
func memFirstAnswer(s *proc, get func() error) (time.Duration, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		err := get()
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

// memCall is one kind of call of the loads, each of which is on a random
// group g.
type memCall struct {
	command string
	body    func(b []byte, g int) []byte  // appends the request's body
	check   func(g int, ans []byte) error // checks an OK answer; may be nil
}

// memGet reads every counter of a group and checks that it has them all.
func memGet(o *memOptions) memCall {
	return memCall{
		command: "get_group_counter",
		body:    func(b []byte, g int) []byte { return fmt.Appendf(b, `{"GroupId":%q}`, memGroupID(g)) },
		check: func(g int, ans []byte) error {
			if n := len(counterValues(ans)); n != o.keysIn(g) {
				return fmt.Errorf("group %s has %d counters, not %d", memGroupID(g), n, o.keysIn(g))
			}
			return nil
		},
	}
}

// memIncrease adds 1 to one of a group's counters.
func memIncrease(o *memOptions) memCall {
	return memCall{
		command: "update_group_counter",
		body: func(b []byte, g int) []byte {
			return fmt.Appendf(b, `{"GroupId":%q,"Mode":"Increase","GroupCounter":[{"Key":%q,"Value":1}]}`,
				memGroupID(g), memKeys[rand.IntN(o.keysIn(g))])
		},
	}
}

// run makes the call n times, as the app's admin, from conns connections
// to the server at addr, on groups drawn at random from the first groups,
// or, when groups is negative, on the first -groups in turn.
func (c memCall) run(o *memOptions, addr, sig string, n, conns, groups int) error {
	// The groups are drawn ahead, so that the body and the check of a call
	// agree on its group.
	gs := make([]int, n)
	for i := range gs {
		if groups < 0 {
			gs[i] = i % -groups
		} else {
			gs[i] = rand.IntN(groups)
		}
	}
	return runEach(addr, apiTarget(memAppID, memAdmin, sig, c.command), min(conns, n), n,
		func(b []byte, i int) []byte { return c.body(b, gs[i]) },
		func(i int, ans []byte) error {
			if c.check == nil {
				return nil
			}
			return c.check(gs[i], ans)
		})
}

// freeLoopbackAddr returns a loopback address with a port free now, for a
// listener of the server's.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// cacheCounts reads the counter cache's hits and misses from the server's
// metrics on its admin listener.
func cacheCounts(admin string) (hits, misses float64, err error) {
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		switch name {
		case "tally_store_counter_cache_hits_total":
			hits, err = strconv.ParseFloat(value, 64)
		case "tally_store_counter_cache_misses_total":
			misses, err = strconv.ParseFloat(value, 64)
		}
		if err != nil {
			return 0, 0, err
		}
	}
	return hits, misses, nil
}
