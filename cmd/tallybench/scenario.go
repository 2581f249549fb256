package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// A scenario is one kind of call, made over and over by every connection.
type scenario struct {
	name string
	noop bool // sent to the no-op ceiling rather than to Tally
	// procs are the processes the scenario's calls go to: its connections
	// are spread over them round-robin, as a load balancer in front of
	// many nodes would spread them.
	procs   []*proc
	command string // the REST command
	// moves names the counters the scenario increases, which verify checks
	// against its OK answers: "hot", "spread", "big" or "multi"; empty for
	// one that writes nothing Tally keeps.
	moves string
	// groups is how many groups a "big" scenario spreads its calls over.
	groups int
	// body appends one request body to b; rng picks the group where the
	// scenario spreads its calls.
	body func(b []byte, rng *rand.Rand) []byte
	// oks counts the OK answers, which the counters are checked against.
	oks atomic.Int64
	// rates holds the requests per second of each round.
	rates []float64
	hist  histogram
	// cpu is the servers' CPU time over all rounds, and calls the calls
	// they answered in them: what one call costs the servers, a figure
	// that the load on the rest of the machine disturbs far less than the
	// rate.
	cpu   time.Duration
	calls int64
	fails int64
	err   error
	// db is what the scenario cost outside its processes, which only
	// the cluster mode measures.
	db dbUse
}

// on returns p as the processes of a scenario, or none when p is nil, so
// that a scenario whose server was not started has no processes.
func on(p *proc) []*proc {
	if p == nil {
		return nil
	}
	return []*proc{p}
}

func (sc *scenario) addrs() []string {
	var as []string
	for _, p := range sc.procs {
		as = append(as, p.addr)
	}
	return as
}

// cpuTime is the CPU time that the scenario's processes have used.
func (sc *scenario) cpuTime() time.Duration {
	var t time.Duration
	for _, p := range sc.procs {
		t += p.cpuTime()
	}
	return t
}

func (sc *scenario) cpuPerCall() time.Duration {
	if sc.calls == 0 {
		return 0
	}
	return sc.cpu / time.Duration(sc.calls)
}

// alternate runs each scenario for d from conns connections, once per
// round and in turn, so that a drift of the machine's speed hits all of
// them alike, and prints the rate of each run. measure, if not nil, is
// called before each run, and the function it returns after it, to
// account for what the run cost outside the scenario's processes.
func alternate(w io.Writer, scenarios []*scenario, rounds, conns int, d time.Duration, target func(command string) string, measure func(*scenario) func()) {
	width := 0
	for _, sc := range scenarios {
		width = max(width, utf8.RuneCountInString(sc.name))
	}
	fmt.Fprintf(w, "%d connections, %d rounds of %s per scenario, alternating\n", conns, rounds, d)
	for r := range rounds {
		for _, sc := range scenarios {
			var done func()
			if measure != nil {
				done = measure(sc)
			}
			cpu0, calls0 := sc.cpuTime(), sc.hist.n
			rate := runFor(sc.addrs(), target(sc.command), conns, d, sc)
			sc.cpu += sc.cpuTime() - cpu0
			sc.calls += sc.hist.n - calls0
			if done != nil {
				done()
			}
			sc.rates = append(sc.rates, rate)
			fmt.Fprintf(w, "  round %d  %-*s %8.0f req/s\n", r+1, width, sc.name, rate)
		}
	}
}

// runFor drives the servers at addrs from conns connections, spread over
// them round-robin, for d and returns the rate of answers. Each
// connection waits for its last answer before it stops, so every call
// sent is counted, which is what lets the counters be checked against the
// OK answers afterwards.
func runFor(addrs []string, target string, conns int, d time.Duration, sc *scenario) float64 {
	var wg sync.WaitGroup
	var answers atomic.Int64
	var mu sync.Mutex
	start := time.Now()
	end := start.Add(d)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := new(histogram)
			var fails int64
			var firstErr error
			defer func() {
				mu.Lock()
				sc.hist.merge(h)
				sc.fails += fails
				if sc.err == nil {
					sc.err = firstErr
				}
				mu.Unlock()
			}()
			c, err := dial(addrs[i%len(addrs)])
			if err != nil {
				firstErr = err
				return
			}
			defer c.Close()
			rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			var body []byte
			for t0 := time.Now(); t0.Before(end); {
				body = sc.body(body[:0], rng)
				ans, err := c.post(target, body)
				if err != nil {
					fails++
					firstErr = err
					return
				}
				t1 := time.Now()
				h.add(t1.Sub(t0))
				t0 = t1
				answers.Add(1)
				if isOK(ans) {
					sc.oks.Add(1)
				} else {
					fails++
					if firstErr == nil {
						firstErr = fmt.Errorf("answer %s", ans)
					}
				}
			}
		}()
	}
	wg.Wait()
	return float64(answers.Load()) / time.Since(start).Seconds()
}
