package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/tallyserver/tally/internal/tallybin"
	"github.com/tallyserver/tally/usersig"
)

const (
	benchApp   = 1400000001
	benchKey   = "tallybench-secret-key-0123456789abcdef"
	benchAdmin = "administrator"
)

func load(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("load", stderr)
	duration := fs.Duration("duration", 5*time.Second, "length of each run")
	rounds := fs.Int("rounds", 3, "runs of each scenario, alternated so that drift hits all alike")
	conns := fs.Int("conns", 64, "concurrent keep-alive connections")
	groups := fs.Int("groups", 100_000, "groups the spread scenario writes to")
	big := fs.Int("big", 1_000_000, "groups the second spread scenario writes to (0: skip it); they are created before the timed rounds")
	tallyBin := fs.String("tally", "", "tally binary (default: build it from this module)")
	admin := fs.String("admin", "", "start tally with --admin ADDR, to profile it while it runs")
	tmpfs := fs.String("tmpfs", "/dev/shm", "also run the hot key on a second tally whose data is in this tmpfs directory, where fsync costs nothing (empty: skip)")
	fast := fs.Bool("fasthttp", true, "also run the hot key (on disk and on -tmpfs) and the get on tally servers with --http-front fasthttp")
	only := fs.String("only", "", "run only the scenarios whose names match this regexp (the ceiling always runs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	filter, err := onlyFilter(*only)
	if err != nil {
		return err
	}

	dir, cfg, err := workDir("tallybench-load-", tallyBin)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
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
	// The same scenarios on the fasthttp front, each on a server of its
	// own, so that the two fronts are measured side by side.
	var fastSrv, fastMemSrv *proc
	if *fast {
		if filter == nil || filter.MatchString(fastHotName) || filter.MatchString(fastGetName) {
			if fastSrv, err = startTally(*tallyBin, cfg, filepath.Join(dir, "data-fasthttp"), nil, "--http-front", "fasthttp"); err != nil {
				return err
			}
			defer fastSrv.stop()
		}
		if *tmpfs != "" && (filter == nil || filter.MatchString(fastTmpfsHotName)) {
			memDir, err := os.MkdirTemp(*tmpfs, "tallybench-data-")
			if err != nil {
				return fmt.Errorf("-tmpfs: %w", err)
			}
			defer os.RemoveAll(memDir)
			if fastMemSrv, err = startTally(*tallyBin, cfg, memDir, nil, "--http-front", "fasthttp"); err != nil {
				return err
			}
			defer fastMemSrv.stop()
		}
	}
	ceiling, err := startCeiling(false)
	if err != nil {
		return err
	}
	defer ceiling.stop()
	fastCeiling, err := startCeiling(true)
	if err != nil {
		return err
	}
	defer fastCeiling.stop()

	sig := usersig.Sign(benchApp, benchKey, benchAdmin, 86400, time.Now())
	target := func(command string) string { return apiTarget(benchApp, benchAdmin, sig, command) }

	fmt.Fprintf(stdout, "creating %d groups...\n", *groups+2)
	err = createGroups(srv.addr, *conns, *groups+2, func(i int) string {
		switch i {
		case *groups:
			return "hot"
		case *groups + 1:
			return "multi"
		}
		return "s" + strconv.Itoa(i)
	})
	if err != nil {
		return fmt.Errorf("creating groups: %w", err)
	}
	bigName := fmt.Sprintf("update, spread over %d groups", *big)
	if *big > 0 && (filter == nil || filter.MatchString(bigName)) {
		fmt.Fprintf(stdout, "creating %d more groups...\n", *big)
		if err := createGroups(srv.addr, *conns, *big, func(i int) string { return "b" + strconv.Itoa(i) }); err != nil {
			return fmt.Errorf("creating groups: %w", err)
		}
	}
	for _, p := range []*proc{memSrv, fastSrv, fastMemSrv} {
		if p == nil {
			continue
		}
		if err := createGroups(p.addr, 1, 1, func(int) string { return "hot" }); err != nil {
			return fmt.Errorf("creating the hot group on a second server: %w", err)
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
		{name: "ceiling: no-op handler", noop: true, procs: on(ceiling), command: "update_group_counter",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }},
		{name: fastCeilingName, noop: true, procs: on(fastCeiling), command: "update_group_counter",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }},
		{name: "update, one hot key", procs: on(srv), command: "update_group_counter", moves: "hot",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }},
		{name: tmpfsHotName, procs: on(memSrv), command: "update_group_counter", moves: "hot",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }},
		{name: fmt.Sprintf("update, spread over %d groups", n), procs: on(srv), command: "update_group_counter", moves: "spread",
			body: func(b []byte, rng *rand.Rand) []byte {
				b = append(b, `{"GroupId":"s`...)
				b = strconv.AppendInt(b, int64(rng.IntN(n)), 10)
				return append(b, `","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`...)
			}},
		{name: bigName, procs: on(srv), command: "update_group_counter", moves: "big", groups: *big,
			body: func(b []byte, rng *rand.Rand) []byte {
				b = append(b, `{"GroupId":"b`...)
				b = strconv.AppendInt(b, int64(rng.IntN(max(*big, 1))), 10)
				return append(b, `","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`...)
			}},
		{name: "update, 20 keys of one group", procs: on(srv), command: "update_group_counter", moves: "multi",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, multiBody...) }},
		{name: "get, one hot key", procs: on(srv), command: "get_group_counter",
			body: func(b []byte, _ *rand.Rand) []byte {
				return append(b, `{"GroupId":"hot","GroupCounterKeys":["likes"]}`...)
			}},
		{name: fastHotName, procs: on(fastSrv), command: "update_group_counter", moves: "hot",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }},
		{name: fastTmpfsHotName, procs: on(fastMemSrv), command: "update_group_counter", moves: "hot",
			body: func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }},
		{name: fastGetName, procs: on(fastSrv), command: "get_group_counter",
			body: func(b []byte, _ *rand.Rand) []byte {
				return append(b, `{"GroupId":"hot","GroupCounterKeys":["likes"]}`...)
			}},
	}
	// The tmpfs run has no server when it is skipped.
	scenarios = slices.DeleteFunc(scenarios, func(sc *scenario) bool {
		return len(sc.procs) == 0 || !sc.noop && filter != nil && !filter.MatchString(sc.name) || sc.moves == "big" && *big == 0
	})

	alternate(stdout, scenarios, *rounds, *conns, *duration, target, nil)

	report(stdout, scenarios)
	for _, p := range []struct {
		srv   *proc
		where string
	}{{srv, ""}, {memSrv, "tmpfs: "}, {fastSrv, "fasthttp: "}, {fastMemSrv, "fasthttp, tmpfs: "}} {
		if p.srv == nil {
			continue
		}
		its := slices.DeleteFunc(slices.Clone(scenarios), func(sc *scenario) bool { return sc.procs[0] != p.srv })
		if err := verify(stdout, p.where, p.srv.addr, *conns, n, its); err != nil {
			return err
		}
	}
	return nil
}

// onlyFilter compiles the -only flag's regexp; nil lets every scenario run.
func onlyFilter(only string) (*regexp.Regexp, error) {
	if only == "" {
		return nil, nil
	}
	re, err := regexp.Compile(only)
	if err != nil {
		return nil, fmt.Errorf("-only: %w", err)
	}
	return re, nil
}

// writeConfig writes the servers' config into dir and returns its path:
// the default config but for the rate limit, which is Tencent's 200 calls
// a second unless the file lifts it; escaping that cap is what the load
// is for.
// workDir makes the temporary directory of a run, whose name starts with
// prefix, builds the tally binary in it unless *tallyBin names one, and
// writes the config of the bench app there. The caller removes dir.
func workDir(prefix string, tallyBin *string) (dir, cfg string, err error) {
	if dir, err = os.MkdirTemp("", prefix); err != nil {
		return "", "", err
	}
	if *tallyBin == "" {
		if *tallyBin, err = tallybin.Build(dir); err != nil {
			os.RemoveAll(dir)
			return "", "", err
		}
	}
	if cfg, err = writeConfig(dir); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	return dir, cfg, nil
}

func writeConfig(dir string) (string, error) {
	cfg := filepath.Join(dir, "tally.yaml")
	err := os.WriteFile(cfg, fmt.Appendf(nil, "apps:\n  - sdkappid: %d\n    secret_key: %q\n    admins: [%q]\n    rate_limit_per_api: 0\n",
		benchApp, benchKey, benchAdmin), 0o600)
	return cfg, err
}

// startCeiling starts the no-op handler, in a process of its own as
// Tally is, by running this binary's noop command.
func startCeiling(fast bool) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"noop"}
	if fast {
		args = append(args, "-fasthttp")
	}
	return startProc(self, args, regexp.MustCompile(`noop serving http://(\S+)`), nil)
}

// fastCeilingName names the second ceiling, the no-op on fasthttp.
const fastCeilingName = "ceiling: no-op on fasthttp"

const tmpfsHotName = "update, one hot key, data on tmpfs"

// The scenarios on tally's fasthttp front.
const (
	fastHotName      = "fasthttp front: update, one hot key"
	fastTmpfsHotName = "fasthttp front: update, one hot key, data on tmpfs"
	fastGetName      = "fasthttp front: get, one hot key"
)

func report(w io.Writer, scenarios []*scenario) {
	ceiling, fast := scenarios[0], scenarios[1]
	printTable(w, scenarios, []column{
		rateColumn, rateRatio("×ceiling", ceiling), rateRatio("×fasthttp", fast), p50Column, p99Column, p999Column, cpuColumn,
		{"×ceiling", func(sc *scenario) string {
			return fmt.Sprintf("%.2f", float64(sc.cpuPerCall())/float64(ceiling.cpuPerCall()))
		}},
		answersCol, notOKCol,
	})
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
