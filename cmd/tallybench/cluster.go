package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/usersig"
)

// cluster measures Tally as many nodes run it: tally serve processes on
// one PostgreSQL database, whose primary has a synchronous standby, so
// that every commit waits for the standby as in production. It alternates
// the hot key and updates spread over many groups, on one node and on
// several sharing the load, and the hot key on one node with folding off,
// all against the no-op ceiling, and then checks every counter against
// the OK answers as load does.
func cluster(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cluster", stderr)
	duration := fs.Duration("duration", 5*time.Second, "length of each run")
	rounds := fs.Int("rounds", 3, "runs of each scenario, alternated so that drift hits all alike")
	conns := fs.Int("conns", 64, "concurrent keep-alive connections, spread round-robin over the nodes of a scenario")
	groups := fs.Int("groups", 10_000, "groups the spread scenarios write to (PostgreSQL is slower to fill than the embedded store)")
	nodes := fs.Int("nodes", 3, "nodes that the many-node scenarios spread their connections over")
	pool := fs.Int("pool", 16, "each node's pool_max_conns (0: pgx's default, the larger of 4 and the CPU count, which bounds one node's spread updates at 4 in flight)")
	tallyBin := fs.String("tally", "", "tally binary (default: build it from this module)")
	only := fs.String("only", "", "run only the scenarios whose names match this regexp (the ceiling always runs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *nodes < 2 {
		return errors.New("-nodes must be 2 or more: one node is measured anyway")
	}
	filter, err := onlyFilter(*only)
	if err != nil {
		return err
	}

	dir, cfg, err := workDir("tallybench-cluster-", tallyBin)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintln(stdout, "starting PostgreSQL: a primary and a synchronous standby...")
	pg, err := pgtest.Start(pgtest.Options{Standby: true})
	if err != nil {
		return err
	}
	defer pg.Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE tally"); err != nil {
		return err
	}
	url := pg.URL("tally")
	if *pool > 0 {
		url += "&pool_max_conns=" + strconv.Itoa(*pool)
	}

	// The nodes share the database; the one-node scenarios use the first.
	// The node without folding is a process of its own, as only its URL
	// can turn folding off.
	var all []*proc
	for i := range *nodes {
		p, err := startTally(*tallyBin, cfg, filepath.Join(dir, fmt.Sprintf("node%d", i+1)), nil, "--store", url)
		if err != nil {
			return err
		}
		defer p.stop()
		all = append(all, p)
	}
	noFold, err := startTally(*tallyBin, cfg, filepath.Join(dir, "nofold"), nil, "--store", url+"&tally_fold=off")
	if err != nil {
		return err
	}
	defer noFold.stop()
	ceiling, err := startCeiling(false)
	if err != nil {
		return err
	}
	defer ceiling.stop()

	// What else runs on the machine shows in every row's other CPU; how
	// busy it is with nothing of the benchmark's running says how much of
	// that is the benchmark's own.
	busy0, total0, err := machineCPU()
	if err == nil {
		time.Sleep(time.Second)
		busy1, total1, _ := machineCPU()
		fmt.Fprintf(stdout, "the machine at rest, servers idle: %.0f%% busy over 1s\n", 100*float64(busy1-busy0)/float64(max(total1-total0, 1)))
	}
	timings, err := probeCommits(ctx, conn, 200)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "a commit at rest, one connection, %d one-row updates each, median (mean):", timings[0].commits)
	for _, t := range timings {
		fmt.Fprintf(stdout, " synchronous_commit=%s %s (%s);", t.level, ms(t.p50), ms(t.mean))
	}
	fmt.Fprintln(stdout)

	sig := usersig.Sign(benchApp, benchKey, benchAdmin, 86400, time.Now())
	target := func(command string) string { return apiTarget(benchApp, benchAdmin, sig, command) }
	fmt.Fprintf(stdout, "creating %d groups...\n", *groups+1)
	t0 := time.Now()
	err = createGroups(all[0].addr, *conns, *groups+1, func(i int) string {
		if i == *groups {
			return "hot"
		}
		return "s" + strconv.Itoa(i)
	})
	if err != nil {
		return fmt.Errorf("creating groups: %w", err)
	}
	fmt.Fprintf(stdout, "created in %.1fs\n", time.Since(t0).Seconds())

	hotBody := []byte(`{"GroupId":"hot","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`)
	hot := func(b []byte, _ *rand.Rand) []byte { return append(b, hotBody...) }
	n := *groups
	spread := func(b []byte, rng *rand.Rand) []byte {
		b = append(b, `{"GroupId":"s`...)
		b = strconv.AppendInt(b, int64(rng.IntN(n)), 10)
		return append(b, `","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`...)
	}
	many := fmt.Sprintf("%d nodes", *nodes)
	const update = "update_group_counter"
	var (
		ceilingSc = &scenario{name: "ceiling: no-op handler", noop: true, procs: on(ceiling), command: update, body: hot}
		hot1      = &scenario{name: "update, one hot key, 1 node", procs: all[:1], command: update, moves: "hot", body: hot}
		hotN      = &scenario{name: "update, one hot key, " + many, procs: all, command: update, moves: "hot", body: hot}
		spread1   = &scenario{name: fmt.Sprintf("update, spread over %d groups, 1 node", n), procs: all[:1], command: update, moves: "spread", body: spread}
		spreadN   = &scenario{name: fmt.Sprintf("update, spread over %d groups, %s", n, many), procs: all, command: update, moves: "spread", body: spread}
		hotNoFold = &scenario{name: "update, one hot key, 1 node, no folding", procs: on(noFold), command: update, moves: "hot", body: hot}
	)
	scenarios := slices.DeleteFunc([]*scenario{ceilingSc, hot1, hotN, spread1, spreadN, hotNoFold}, func(sc *scenario) bool {
		return !sc.noop && filter != nil && !filter.MatchString(sc.name)
	})

	meter := &dbMeter{conn: conn}
	alternate(stdout, scenarios, *rounds, *conns, *duration, target, meter.measure)
	if meter.err != nil {
		return meter.err
	}

	clusterReport(stdout, scenarios, hot1, timings)
	ratio := func(what string, a, b *scenario) {
		if slices.Contains(scenarios, a) && slices.Contains(scenarios, b) {
			fmt.Fprintf(stdout, "%s: %.2f\n", what, median(a.rates)/median(b.rates))
		}
	}
	ratio("folding: hot key on 1 node, folded ÷ one transaction per call", hot1, hotNoFold)
	ratio("hot key, "+many+" ÷ 1 node", hotN, hot1)
	ratio("spread, "+many+" ÷ 1 node", spreadN, spread1)
	ratio("hot ÷ spread, 1 node", hot1, spread1)
	return verify(stdout, "", all[0].addr, *conns, n, scenarios)
}

// clusterReport prints the table of the cluster's scenarios: rates as
// ratios of the ceiling and of the hot key on one node (base), and where
// each call's work went: its share of a transaction, of the WAL and of the
// CPU of each kind of process, and how busy the machine was.
func clusterReport(w io.Writer, scenarios []*scenario, base *scenario, timings []commitTiming) {
	cols := []column{rateColumn, rateRatio("×ceiling", scenarios[0])}
	if slices.Contains(scenarios, base) {
		cols = append(cols, rateRatio("×hot 1 node", base))
	}
	perCall := func(sc *scenario, x float64) float64 { return x / float64(max(sc.calls, 1)) }
	written := func(sc *scenario) bool { return sc.db.txns > 0 && !sc.noop }
	cols = append(cols, p50Column, p99Column,
		column{"calls/txn", func(sc *scenario) string {
			if !written(sc) {
				return "-"
			}
			return fmt.Sprintf("%.1f", float64(sc.calls)/float64(sc.db.txns))
		}},
		column{"txn/s", func(sc *scenario) string {
			if !written(sc) {
				return "-"
			}
			return fmt.Sprintf("%.0f", float64(sc.db.txns)/sc.db.wall.Seconds())
		}},
		column{"WAL/call", func(sc *scenario) string {
			if !written(sc) {
				return "-"
			}
			return fmt.Sprintf("%.0fB", perCall(sc, float64(sc.db.wal)))
		}},
		column{"tally CPU/call", func(sc *scenario) string { return micros(sc.cpuPerCall()) }},
		column{"pg CPU/call", func(sc *scenario) string { return micros(time.Duration(perCall(sc, float64(sc.db.pgCPU)))) }},
		column{"bench CPU/call", func(sc *scenario) string { return micros(time.Duration(perCall(sc, float64(sc.db.benchCPU)))) }},
		column{"other CPU/call", func(sc *scenario) string {
			return micros(time.Duration(perCall(sc, float64(sc.db.busy-sc.cpu-sc.db.pgCPU-sc.db.benchCPU))))
		}},
		column{"busy", func(sc *scenario) string {
			return fmt.Sprintf("%.0f%%", 100*float64(sc.db.busy)/float64(max(sc.db.total, 1)))
		}},
		answersCol, notOKCol,
	)
	printTable(w, scenarios, cols)
	fmt.Fprintln(w, "req/s is the median of the rounds; ratios are of medians; latency is over every call of every round.")
	fmt.Fprintln(w, "txn/s counts the write transactions the database gave an id, over the runs' length; calls/txn is the calls answered per")
	fmt.Fprintln(w, "transaction (above 1, folded); WAL/call is the WAL written per call. CPU/call is user+system CPU over all rounds per")
	fmt.Fprintln(w, "call answered: tally of the scenario's nodes (the ceiling's: the no-op handler), pg of the primary's and the standby's")
	fmt.Fprintln(w, "processes, bench of this load generator, other the rest of the machine's busy CPU (softirq, where the kernel does")
	fmt.Fprintln(w, "loopback TCP outside any process's time, kernel threads, idle nodes, whatever else runs on the box; a few µs below")
	fmt.Fprintln(w, "zero is the two counts' rounding); busy is the share of the machine's CPU, all cores, that was not idle.")
	for _, sc := range scenarios {
		if !written(sc) || sc.moves != "hot" {
			continue
		}
		// The transactions of one group take its row lock in turn, so the
		// runs' length over their count is how long each took, from one
		// handover of the lock to the next.
		each := time.Duration(float64(sc.db.wall) / float64(sc.db.txns))
		fmt.Fprintf(w, "%s: a transaction of the hot group every %s", sc.name, ms(each))
		for _, t := range timings {
			if t.level == "on" {
				fmt.Fprintf(w, ", against a commit at rest of %s", ms(t.p50))
			}
		}
		fmt.Fprintln(w)
	}
}
