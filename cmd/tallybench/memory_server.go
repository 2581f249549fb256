package main

import (
	"fmt"
	"io"
	"math/rand/v2"
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
	sig := usersig.Sign(memAppID, memSecret, memAdmin, 86400, time.Now())
	get, increase := memGet(o), memIncrease(o)

	st.answer, err = memFirstAnswer(srv, func() error { return get.run(o, srv.addr, sig, 1, 1) })
	if err != nil {
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
			call memCall
		}{
			{fmt.Sprintf("%s reads", memCount(o.reads)), o.reads, get},
			{fmt.Sprintf("%s writes", memCount(o.writes)), o.writes, increase},
		}
		for _, ph := range phases {
			if ph.n == 0 {
				continue
			}
			fmt.Fprintf(stderr, "%s from %d connections...\n", ph.name, o.conns)
			start := time.Now()
			if err := ph.call.run(o, srv.addr, sig, ph.n, o.conns); err != nil {
				return st, nil, fmt.Errorf("%s: %w", ph.name, err)
			}
			s := memState{name: ph.name, calls: ph.n, took: time.Since(start)}
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
// to the server at addr.
func (c memCall) run(o *memOptions, addr, sig string, n, conns int) error {
	// The groups are drawn ahead, so that the body and the check of a call
	// agree on its group.
	gs := make([]int, n)
	for i := range gs {
		gs[i] = rand.IntN(o.groups())
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
