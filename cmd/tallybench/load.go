package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tallyserver/tally/internal/tallybin"
	"github.com/tallyserver/tally/usersig"
)

const (
	benchApp   = 1400000001
	benchKey   = "tallybench-secret-key-0123456789abcdef"
	benchAdmin = "administrator"
)

// A scenario is one kind of call, made over and over by every connection.
type scenario struct {
	name string
	noop bool // sent to the no-op ceiling rather than to Tally
	// srv is the process the scenario's calls go to.
	srv     *proc
	command string // the REST command
	// moves names the counters the scenario increases, which verify checks
	// against its OK answers: "hot", "spread" or "multi"; empty for one
	// that writes nothing Tally keeps.
	moves string
	// body appends one request body to b; rng picks the group where the
	// scenario spreads its calls.
	body func(b []byte, rng *rand.Rand) []byte
	// oks counts the OK answers, which the counters are checked against.
	oks atomic.Int64
	// rates holds the requests per second of each round.
	rates []float64
	hist  histogram
	// cpu is the server's CPU time over all rounds, and calls the calls it
	// answered in them: what one call costs the server, a figure that the
	// load on the rest of the machine disturbs far less than the rate.
	cpu   time.Duration
	calls int64
	fails int64
	err   error
}

func load(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("load", stderr)
	duration := fs.Duration("duration", 5*time.Second, "length of each run")
	rounds := fs.Int("rounds", 3, "runs of each scenario, alternated so that drift hits all alike")
	conns := fs.Int("conns", 64, "concurrent keep-alive connections")
	groups := fs.Int("groups", 100_000, "groups the spread scenario writes to")
	tallyBin := fs.String("tally", "", "tally binary (default: build it from this module)")
	admin := fs.String("admin", "", "start tally with --admin ADDR, to profile it while it runs")
	tmpfs := fs.String("tmpfs", "/dev/shm", "also run the hot key on a second tally whose data is in this tmpfs directory, where fsync costs nothing (empty: skip)")
	only := fs.String("only", "", "run only the scenarios whose names match this regexp (the ceiling always runs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var filter *regexp.Regexp
	if *only != "" {
		var err error
		if filter, err = regexp.Compile(*only); err != nil {
			return fmt.Errorf("-only: %w", err)
		}
	}

	dir, err := os.MkdirTemp("", "tallybench-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *tallyBin == "" {
		if *tallyBin, err = tallybin.Build(dir); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	// The default config but for the rate limit, which is Tencent's 200
	// calls a second unless the file lifts it: escaping that cap is what
	// the load is for.
	cfg := filepath.Join(dir, "tally.yaml")
	err = os.WriteFile(cfg, fmt.Appendf(nil, "apps:\n  - sdkappid: %d\n    secret_key: %q\n    admins: [%q]\n    rate_limit_per_api: 0\n",
		benchApp, benchKey, benchAdmin), 0o600)
	if err != nil {
		return err
	}
	var adminArgs []string
	if *admin != "" {
		adminArgs = []string{"--admin", *admin}
	}
	srv, err := startTally(*tallyBin, cfg, filepath.Join(dir, "data"), nil, adminArgs...)
	if err != nil {
		return err
	}
	defer srv.stop()
	// The same server with its data on tmpfs, where fsync returns at once,
	// shows how much of the gap to the ceiling is the disk's.
	var memSrv *proc
	if *tmpfs != "" && (filter == nil || filter.MatchString(tmpfsHotName)) {
		memDir, err := os.MkdirTemp(*tmpfs, "tallybench-data-")
		if err != nil {
			return fmt.Errorf("-tmpfs: %w", err)
		}
		defer os.RemoveAll(memDir)
		if memSrv, err = startTally(*tallyBin, cfg, memDir, nil); err != nil {
			return err
		}
		defer memSrv.stop()
	}
	ceiling, err := startProc(self, []string{"noop"}, regexp.MustCompile(`noop serving http://(\S+)`), nil)
	if err != nil {
		return err
	}
	defer ceiling.stop()

	sig := usersig.Sign(benchApp, benchKey, benchAdmin, 86400, time.Now())
	target := func(command string) string { return apiTarget(benchApp, benchAdmin, sig, command) }

	fmt.Fprintf(stdout, "creating %d groups...\n", *groups+2)
	create := func(id string) []byte { return fmt.Appendf(nil, `{"Type":"Public","Name":"bench","GroupId":%q}`, id) }
	err = runEach(srv.addr, target("create_group"), *conns, *groups+2, func(b []byte, i int) []byte {
		switch i {
		case *groups:
			return create("hot")
		case *groups + 1:
			return create("multi")
		}
		return create("s" + strconv.Itoa(i))
	}, nil)
	if err != nil {
		return fmt.Errorf("creating groups: %w", err)
	}
	if memSrv != nil {
		if err := runEach(memSrv.addr, target("create_group"), 1, 1, func(b []byte, _ int) []byte { return create("hot") }, nil); err != nil {
			return fmt.Errorf("creating the hot group on tmpfs: %w", err)
		}
	}

	hotBody := []byte(`{"GroupId":"hot","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`)
	var multiBody []byte
	multiBody = append(multiBody, `{"GroupId":"multi","Mode":"Increase","GroupCounter":[`...)
	for i := range 20 {
		if i > 0 {
			multiBody = append(multiBody, ',')
		}
		multiBody = fmt.Appendf(multiBody, `{"Key":"k%02d","Value":1}`, i)
	}
	multiBody = append(multiBody, "]}"...)
	n := *groups
	scenarios := []*scenario{
		{name: "ceiling: no-op handler", noop: true, srv: ceiling, command: "update_group_counter",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }},
		{name: "update, one hot key", srv: srv, command: "update_group_counter", moves: "hot",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }},
		{name: tmpfsHotName, srv: memSrv, command: "update_group_counter", moves: "hot",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }},
		{name: fmt.Sprintf("update, spread over %d groups", n), srv: srv, command: "update_group_counter", moves: "spread",
			body: func(b []byte, rng *rand.Rand) []byte {
				b = append(b, `{"GroupId":"s`...)
				b = strconv.AppendInt(b, int64(rng.IntN(n)), 10)
				return append(b, `","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`...)
			}},
		{name: "update, 20 keys of one group", srv: srv, command: "update_group_counter", moves: "multi",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, multiBody...) }},
		{name: "get, one hot key", srv: srv, command: "get_group_counter",
			body: func(b []byte, _ *rand.Rand) []byte {
				return append(b, `{"GroupId":"hot","GroupCounterKeys":["likes"]}`...)
			}},
	}
	// The tmpfs run has no server when it is skipped.
	scenarios = slices.DeleteFunc(scenarios, func(sc *scenario) bool {
		return sc.srv == nil || !sc.noop && filter != nil && !filter.MatchString(sc.name)
	})

	fmt.Fprintf(stdout, "%d connections, %d rounds of %s per scenario, alternating\n", *conns, *rounds, *duration)
	for r := range *rounds {
		for _, sc := range scenarios {
			p := sc.srv
			cpu0, calls0 := p.cpuTime(), sc.hist.n
			rate := runFor(p.addr, target(sc.command), *conns, *duration, sc)
			sc.cpu += p.cpuTime() - cpu0
			sc.calls += sc.hist.n - calls0
			sc.rates = append(sc.rates, rate)
			fmt.Fprintf(stdout, "  round %d  %-36s %8.0f req/s\n", r+1, sc.name, rate)
		}
	}

	report(stdout, scenarios)
	for _, p := range []struct {
		srv   *proc
		where string
	}{{srv, ""}, {memSrv, "tmpfs: "}} {
		if p.srv == nil {
			continue
		}
		on := slices.DeleteFunc(slices.Clone(scenarios), func(sc *scenario) bool { return sc.srv != p.srv })
		if err := verify(stdout, p.where, p.srv.addr, target("get_group_counter"), *conns, n, on); err != nil {
			return err
		}
	}
	return nil
}

const tmpfsHotName = "update, one hot key, data on tmpfs"

// runFor drives the server from conns connections for d and returns the
// rate of answers. Each connection waits for its last answer before it
// stops, so every call sent is counted, which is what lets the counters be
// checked against the OK answers afterwards.
func runFor(addr, target string, conns int, d time.Duration, sc *scenario) float64 {
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
			c, err := dial(addr)
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

func report(w io.Writer, scenarios []*scenario) {
	ceiling := median(scenarios[0].rates)
	ceilingCPU := scenarios[0].cpuPerCall()
	fmt.Fprintf(w, "\n%-36s %8s %9s %8s %8s %8s %10s %9s %9s %6s\n",
		"scenario", "req/s", "×ceiling", "p50", "p99", "p99.9", "CPU/call", "×ceiling", "answers", "not OK")
	for _, sc := range scenarios {
		m := median(sc.rates)
		cpu := sc.cpuPerCall()
		fmt.Fprintf(w, "%-36s %8.0f %9.2f %8s %8s %8s %8.1fµs %9.2f %9d %6d\n", sc.name, m, m/ceiling,
			ms(sc.hist.quantile(0.50)), ms(sc.hist.quantile(0.99)), ms(sc.hist.quantile(0.999)),
			float64(cpu)/float64(time.Microsecond), float64(cpu)/float64(ceilingCPU), sc.hist.n, sc.fails)
		if sc.err != nil {
			fmt.Fprintf(w, "    first failure: %v\n", sc.err)
		}
	}
	var hot, spread *scenario
	for _, sc := range scenarios {
		switch sc.moves {
		case "hot":
			if hot == nil { // The one on disk, like spread; not the tmpfs run.
				hot = sc
			}
		case "spread":
			spread = sc
		}
	}
	if hot != nil && spread != nil {
		fmt.Fprintf(w, "hot ÷ spread: %.2f\n", median(hot.rates)/median(spread.rates))
	}
	fmt.Fprintln(w, "req/s is the median of the rounds; ratios are of medians; latency is over every call of every round;")
	fmt.Fprintln(w, "CPU/call is the server process's user+system CPU time over all rounds divided by the calls it answered.")
}

func (sc *scenario) cpuPerCall() time.Duration {
	if sc.calls == 0 {
		return 0
	}
	return sc.cpu / time.Duration(sc.calls)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// verify reads the counters back from the server at addr, which where
// names in the report: each must equal the OK answers of the
// calls that moved it, and the 20 keys of one group, moved together by
// every call, must all be equal.
func verify(w io.Writer, where, addr, target string, conns, groups int, scenarios []*scenario) error {
	want := map[string]int64{}
	for _, sc := range scenarios {
		if sc.fails > 0 {
			return fmt.Errorf("%s: %d calls were not answered OK (first: %v)", sc.name, sc.fails, sc.err)
		}
		if sc.moves != "" {
			want[sc.moves] = sc.oks.Load()
		}
	}
	var failed bool
	check := func(what string, got, want int64) {
		mark := "ok"
		if got != want {
			mark, failed = "MISMATCH", true
		}
		fmt.Fprintf(w, "check %-40s counter %d, OK answers %d: %s\n", where+what, got, want, mark)
	}
	values := func(group string) ([]int64, error) {
		var vs []int64
		err := runEach(addr, target, 1, 1, func(b []byte, _ int) []byte {
			return fmt.Appendf(b, `{"GroupId":%q}`, group)
		}, func(_ int, ans []byte) error {
			vs = counterValues(ans)
			return nil
		})
		return vs, err
	}
	if n, ok := want["hot"]; ok {
		vs, err := values("hot")
		if err != nil {
			return err
		}
		check("hot key", sum(vs), n)
	}
	if n, ok := want["multi"]; ok {
		vs, err := values("multi")
		if err != nil {
			return err
		}
		if len(vs) != 20 && n > 0 {
			return fmt.Errorf("group multi has %d counters, not 20", len(vs))
		}
		lo, hi := slices.Min(vs), slices.Max(vs)
		if lo != hi {
			fmt.Fprintf(w, "check 20 keys: TORN, values range from %d to %d\n", lo, hi)
			failed = true
		}
		check("20 keys, each", hi, n)
	}
	if n, ok := want["spread"]; ok {
		var total atomic.Int64
		err := runEach(addr, target, conns, groups, func(b []byte, i int) []byte {
			return fmt.Appendf(b, `{"GroupId":"s%d"}`, i)
		}, func(_ int, ans []byte) error {
			total.Add(sum(counterValues(ans)))
			return nil
		})
		if err != nil {
			return err
		}
		check(fmt.Sprintf("spread: sum over %d groups", groups), total.Load(), n)
	}
	if failed {
		return errors.New("a counter does not match the OK answers")
	}
	return nil
}

func sum(vs []int64) int64 {
	var t int64
	for _, v := range vs {
		t += v
	}
	return t
}
