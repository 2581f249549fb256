package main

// tallybench memory answers the memory half of the issue "Prove it": the RSS
// of a real tally serve process per stored counter, at ten million counters
// by default, and the time it takes to restart on them. It fills the store in
// process, through tally.Store, because filling it over HTTP would take far
// longer and measure nothing this command reports; it then starts the real
// binary on it, as a user would, and reads the kernel's view of the process.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/datadir"
	"github.com/tallyserver/tally/internal/tallybin"
)

// The app the benchmark fills and calls. Its rate limits are off so that the
// loads measure the store, not the limiter.
const (
	memAppID  = 1400000000
	memSecret = "tallybench-memory-secret"
	memAdmin  = "administrator"
)

// memOptions are the flags of tallybench memory.
type memOptions struct {
	counters, keys int
	data           string
	keep           bool
	bin            string
	writers        int
	restarts       int
	reads, writes  int
	conns          int
	verbose        bool
	budget         string
	working        int
}

// groups returns how many groups hold the counters: all have o.keys of them
// but the last, which has the rest.
func (o *memOptions) groups() int { return (o.counters + o.keys - 1) / o.keys }

// keysIn returns how many counters group g holds.
func (o *memOptions) keysIn(g int) int { return min(o.keys, o.counters-g*o.keys) }

// memGroupID names group g; the loads find groups by number.
func memGroupID(g int) string { return fmt.Sprintf("bench%08d", g) }

// memKeys are the counter keys; a group with n counters has the first n.
var memKeys = func() []string {
	keys := make([]string, tally.MaxCountersPerGroup)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%02d", i)
	}
	return keys
}()

func memory(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("memory", stderr)
	var o memOptions
	fs.IntVar(&o.counters, "counters", 10_000_000, "counters to store")
	fs.IntVar(&o.keys, "keys", 20, "counters per group, 1 to 20")
	fs.StringVar(&o.data, "data", "", "data directory (default a temporary one); a store an earlier run filled with the same -counters and -keys is reused")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary data directory, to reuse it with -data")
	fs.StringVar(&o.bin, "tally", "", "tally binary (default: build github.com/tallyserver/tally/cmd/tally)")
	fs.IntVar(&o.writers, "writers", 64, "goroutines that fill the store, sharing fsyncs")
	fs.IntVar(&o.restarts, "restarts", 3, "times to start the server on the store")
	fs.IntVar(&o.reads, "reads", 200_000, "get_group_counter calls of the read load, on random groups")
	fs.IntVar(&o.writes, "writes", 50_000, "update_group_counter Increase calls of the write load, on random groups")
	fs.IntVar(&o.conns, "conns", 32, "keep-alive connections of the loads")
	fs.BoolVar(&o.verbose, "v", false, "pass the server's stderr through, e.g. with GODEBUG=gctrace=1")
	fs.StringVar(&o.budget, "budget", "", "the server's --memory-budget (default its own)")
	fs.IntVar(&o.working, "working", 100_000, "groups of the working-set loads, which should fit the budget")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.counters < 1:
		return errors.New("-counters must be at least 1")
	case o.keys < 1 || o.keys > tally.MaxCountersPerGroup:
		return fmt.Errorf("-keys must be 1 to %d", tally.MaxCountersPerGroup)
	case o.writers < 1 || o.restarts < 1 || o.conns < 1 || o.reads < 0 || o.writes < 0:
		return errors.New("-writers, -restarts and -conns must be at least 1, -reads and -writes at least 0")
	}

	tmp, err := os.MkdirTemp("", "tallybench-memory-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.data == "" {
		if o.data, err = os.MkdirTemp("", "tallybench-memory-data-"); err != nil {
			return err
		}
		if o.keep {
			defer fmt.Fprintf(stdout, "data kept in %s\n", o.data)
		} else {
			defer os.RemoveAll(o.data)
		}
	}
	if o.bin == "" {
		fmt.Fprintln(stderr, "building tally...")
		if o.bin, err = tallybin.Build(tmp); err != nil {
			return err
		}
	}

	fill, err := memFillOnce(&o, stderr)
	if err != nil {
		return err
	}
	disk, err := memDiskUsage(filepath.Join(o.data, datadir.StoreDir))
	if err != nil {
		return err
	}
	config := filepath.Join(o.data, "tallybench.yaml")
	if err := os.WriteFile(config, []byte(memConfigFile()), 0o600); err != nil {
		return err
	}

	// The first start carries the loads, so that the later ones restart on
	// a store that has served traffic, with a WAL to replay.
	var starts []memStart
	var states []memState
	for i := range o.restarts {
		fmt.Fprintf(stderr, "start %d of %d...\n", i+1, o.restarts)
		st, s, err := memRun(&o, config, i == 0, stderr)
		if err != nil {
			return err
		}
		if i == 0 {
			states = s
		}
		starts = append(starts, st)
	}

	after, err := memDiskUsage(filepath.Join(o.data, datadir.StoreDir))
	if err != nil {
		return err
	}
	memReport(stdout, &o, fill, [2]memDisk{disk, after}, starts, states)
	return nil
}

func memConfigFile() string {
	return fmt.Sprintf(`apps:
  - sdkappid: %d
    secret_key: %q
    admins: [%q]
    edition: "ultimate"
    rate_limit_per_api: 0
    rate_limit_per_app: 0
`, memAppID, memSecret, memAdmin)
}

// memReport prints what was measured as a few small tables.
func memReport(w io.Writer, o *memOptions, fill memFill, disk [2]memDisk, starts []memStart, states []memState) {
	perCounter := func(b int64) string { return fmt.Sprintf("%.1f B", float64(b)/float64(o.counters)) }

	fmt.Fprintf(w, "\ntallybench memory: %s counters in %s groups of %d\n", memCount(o.counters), memCount(o.groups()), o.keys)
	if fill.reused {
		fmt.Fprintf(w, "fill:  reused the store in %s\n", o.data)
	} else {
		fmt.Fprintf(w, "fill:  %v with %d writers: %s counters/s (%s groups/s)\n", fill.took.Round(time.Second/10),
			o.writers, memCount(int(float64(o.counters)/fill.took.Seconds())), memCount(int(float64(o.groups())/fill.took.Seconds())))
	}
	// WAL files are listed apart: Pebble keeps some that it has flushed, to
	// recycle them, so their size says little about the counters.
	for i, when := range []string{"before the first start", "after the last stop"} {
		d := disk[i]
		fmt.Fprintf(w, "store %s: %s in %d tables, %s/counter; %s of WAL files\n",
			when, memMiB(d.tables), d.nTables, perCounter(d.tables), memMiB(d.wal))
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "start\texec→banner\texec→answer\tread at start\tVmRSS\tRSS/counter\tstop (SIGTERM)\t")
	for i, s := range starts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s, exit 0\t\n", i+1, memMs(s.banner), memMs(s.answer),
			memMiB(s.proc.rchar), memMiB(s.proc.rss), perCounter(s.proc.rss), memMs(s.stop))
	}
	tw.Flush()
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "start 1, after\tcalls/s\tcache hits\tVmRSS\tRssAnon\tVmHWM\tRSS/counter\t")
	for _, s := range states {
		rate, hits := "-", "-"
		if s.took > 0 {
			rate = memCount(int(float64(s.calls) / s.took.Seconds()))
		}
		if s.hits+s.misses > 0 {
			hits = fmt.Sprintf("%.1f%%", 100*s.hits/(s.hits+s.misses))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.name, rate, hits,
			memMiB(s.proc.rss), memMiB(s.proc.anon), memMiB(s.proc.hwm), perCounter(s.proc.rss))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nread at start: bytes the server read (rchar) from exec to its first answer.")
	fmt.Fprintln(w, "VmRSS counts the pages of the binary it has touched; RssAnon is the memory it allocated.")
	fmt.Fprintln(w, "cache hits: the phase's calls answered from the counter cache (tally_store_counter_cache_hits_total), without reading Pebble.")
}

func memMiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func memMs(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

// memCount writes n with thousands separators.
func memCount(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
