package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tallyserver/tally"
	tallyclient "github.com/tallyserver/tally/client"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/usersig"
)

// fanWatcher is the user the subscribers watch as: not an admin, which an
// AVChatRoom does not need, so that the streams are let in as an
// audience's would be.
const fanWatcher = "fan"

// fanout measures one node with many open streams: the hot group's update
// rate with none and with them, alternated; the delay from each writer's
// OK to each hot subscriber's message; and the server's RSS per stream.
func fanout(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fanout", stderr)
	nSubs := fs.Int("subscribers", 10_000, "open SSE streams, each watching one group")
	nGroups := fs.Int("groups", 1_000, "AVChatRoom groups the streams watch, the hot one among them")
	hotShare := fs.Float64("hot", 0.1, "share of the streams that watch the hot group; the rest are spread over the others")
	duration := fs.Duration("duration", 5*time.Second, "length of each write run")
	rounds := fs.Int("rounds", 2, "pairs of runs, without and with the streams, alternated so that drift hits both alike")
	writers := fs.Int("writers", 16, "connections that update the hot group, one call in flight on each")
	tallyBin := fs.String("tally", "", "tally binary (default: build it from this module)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	nHot := int(*hotShare * float64(*nSubs))
	switch {
	case *nSubs < 1 || *nGroups < 1 || *writers < 1 || *rounds < 1:
		return errors.New("-subscribers, -groups, -writers and -rounds must be at least 1")
	case nHot < 1 || nHot > *nSubs || *nGroups == 1 && nHot < *nSubs:
		return errors.New("-hot must give the hot group at least one stream, and leave the rest groups of their own")
	}
	if err := checkFileLimit(*nSubs + *writers + 64); err != nil {
		return err
	}

	dir, cfg, err := workDir("tallybench-fanout-", tallyBin)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := startTally(*tallyBin, cfg, filepath.Join(dir, "data"), nil)
	if err != nil {
		return err
	}
	defer srv.stop()

	fmt.Fprintf(stdout, "creating %d AVChatRoom groups...\n", *nGroups)
	groupID := func(i int) string {
		if i == 0 {
			return "hot"
		}
		return "g" + strconv.Itoa(i)
	}
	if err := createRooms(srv.addr, 16, *nGroups, groupID); err != nil {
		return fmt.Errorf("creating groups: %w", err)
	}
	now := time.Now()
	target := apiTarget(benchApp, benchAdmin, usersig.Sign(benchApp, benchKey, benchAdmin, 86400, now), "update_group_counter")
	watchSig := usersig.Sign(benchApp, benchKey, fanWatcher, 86400, now)
	// The first nHot streams watch the hot group, the others the other
	// groups in turn.
	streamTarget := func(i int) string {
		g := 0
		if i >= nHot {
			g = 1 + (i-nHot)%(*nGroups-1)
		}
		return fmt.Sprintf("%s?sdkappid=%d&identifier=%s&usersig=%s&GroupId=%s", httpapi.StreamPath, benchApp, fanWatcher, watchSig, groupID(g))
	}
	isHot := func(i int) bool { return i < nHot }

	fmt.Fprintf(stdout, "%d writers on the hot group, %d rounds of %s without and with %d streams (%d on the hot group, the rest over %d groups)\n",
		*writers, *rounds, *duration, *nSubs, nHot, *nGroups-1)
	var (
		alone, crowd         fanCase
		delays               delayStats
		firstRSS             [3]int64 // before opening, once open, after the writes: of the first round
		opened               []time.Duration
		totalOKs             int64
		rssBefore, rssOpened int64
	)
	for r := range *rounds {
		mark := alone.start(srv)
		rate, hist, oks, err := hotWrites(srv.addr, target, *writers, *duration)
		if err != nil {
			return fmt.Errorf("writes without streams: %w", err)
		}
		alone.add(srv, mark, rate, hist, len(oks))
		totalOKs += int64(len(oks))
		fmt.Fprintf(stdout, "  round %d  no streams        %8.0f updates/s\n", r+1, rate)

		if rssBefore, err = rss(srv); err != nil {
			return err
		}
		t0 := time.Now()
		subs, err := openSubscribers(srv.addr, *nSubs, 64, streamTarget, isHot)
		if err != nil {
			return fmt.Errorf("opening streams: %w", err)
		}
		opened = append(opened, time.Since(t0))
		if rssOpened, err = rss(srv); err != nil {
			closeSubscribers(subs)
			return err
		}
		mark = crowd.start(srv)
		rate, hist, oks, err = hotWrites(srv.addr, target, *writers, *duration)
		crowd.add(srv, mark, rate, hist, len(oks))
		if err == nil && len(oks) > 0 {
			err = waitForValue(subs, oks[len(oks)-1].value, 30*time.Second)
		}
		rssWritten, rerr := rss(srv)
		closeSubscribers(subs)
		if err = errors.Join(err, rerr); err != nil {
			return fmt.Errorf("writes with streams: %w", err)
		}
		totalOKs += int64(len(oks))
		delays.add(oks, subs)
		if r == 0 {
			firstRSS = [3]int64{rssBefore, rssOpened, rssWritten}
		}
		fmt.Fprintf(stdout, "  round %d  %d streams %8.0f updates/s  (opened in %s; server RSS %s → %s → %s after the writes)\n",
			r+1, *nSubs, rate, opened[r].Round(time.Millisecond), mib(rssBefore), mib(rssOpened), mib(rssWritten))
		// The server ends the streams as it notices the closed sockets;
		// the next run without streams starts once it has had time to.
		time.Sleep(time.Second)
	}

	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "| case | updates/s | × no streams | write p50 | write p99 | CPU/update: tally | bench |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|")
	for _, c := range []struct {
		name string
		c    *fanCase
	}{{"no streams", &alone}, {fmt.Sprintf("%d streams, %d on the hot group", *nSubs, nHot), &crowd}} {
		fmt.Fprintf(stdout, "| %s | %s | %.2f | %s | %s | %s | %s |\n", c.name, thousands(median(c.c.rates)),
			median(c.c.rates)/median(alone.rates), ms(c.c.hist.quantile(0.5)), ms(c.c.hist.quantile(0.99)),
			micros(c.c.perUpdate(c.c.cpu)), micros(c.c.perUpdate(c.c.benchCPU)))
	}
	fmt.Fprintln(stdout)
	h := &delays.hist
	fmt.Fprintf(stdout, "delay from the writer's OK to the hot subscriber's message: p50 %s, p99 %s, p99.9 %s over %s (subscriber, value) pairs\n",
		ms(h.quantile(0.5)), ms(h.quantile(0.99)), ms(h.quantile(0.999)), thousands(float64(delays.pairs)))
	fmt.Fprintf(stdout, "  %s messages carried them (%.1f values each: the rest were skipped for later states); %s came before the OK; %d never came\n",
		thousands(float64(delays.messages)), float64(delays.pairs)/max(1, float64(delays.messages)), thousands(float64(delays.early)), delays.missed)
	fmt.Fprintf(stdout, "memory: server RSS %s before the first %d streams, %s once open, %s after the writes: %s per stream (%s after the writes)\n",
		mib(firstRSS[0]), *nSubs, mib(firstRSS[1]), mib(firstRSS[2]),
		kib((firstRSS[1]-firstRSS[0])/int64(*nSubs)), kib((firstRSS[2]-firstRSS[0])/int64(*nSubs)))
	fmt.Fprintf(stdout, "streams opened in %s per round (median), from 64 at a time\n", medianDuration(opened).Round(time.Millisecond))
	if delays.missed > 0 {
		return fmt.Errorf("%d (subscriber, value) pairs never arrived", delays.missed)
	}
	return checkHot(stdout, srv.addr, totalOKs)
}

// fanCase is the write runs of one case, over the rounds.
type fanCase struct {
	rates   []float64
	hist    histogram
	updates int64
	// cpu is the server's CPU time over the runs, and benchCPU this
	// process's: its readers of the streams share the machine's two cores
	// with the server, so what they take is shown, not hidden.
	cpu, benchCPU time.Duration
}

// cpuMark is the CPU time of the server and of this process when a run
// starts.
type cpuMark struct{ srv, bench time.Duration }

func (c *fanCase) start(srv *proc) cpuMark {
	self, _ := readStat(os.Getpid()) // Zero where there is no /proc.
	return cpuMark{srv.cpuTime(), self.own}
}

func (c *fanCase) add(srv *proc, m cpuMark, rate float64, h *histogram, updates int) {
	end := c.start(srv)
	c.cpu += end.srv - m.srv
	c.benchCPU += end.bench - m.bench
	c.rates = append(c.rates, rate)
	c.hist.merge(h)
	c.updates += int64(updates)
}

func (c *fanCase) perUpdate(cpu time.Duration) time.Duration {
	if c.updates == 0 {
		return 0
	}
	return cpu / time.Duration(c.updates)
}

// createRooms creates n AVChatRooms, group i with id(i), from conns
// goroutines: an AVChatRoom's counters any user of the app may watch.
func createRooms(addr string, conns, n int, id func(i int) string) error {
	c, closeIdle, err := benchClient(addr, conns)
	if err != nil {
		return err
	}
	defer closeIdle()
	return parallel(n, conns, func(_, i int) error {
		_, err := c.CreateGroup(context.Background(), tallyclient.CreateGroupRequest{Type: tally.GroupAVChatRoom, Name: "bench", GroupID: id(i)})
		return err
	})
}

// checkHot checks the hot counter against the OK answers of every run.
func checkHot(w io.Writer, addr string, oks int64) error {
	c, closeIdle, err := benchClient(addr, 1)
	if err != nil {
		return err
	}
	defer closeIdle()
	ans, err := c.GetGroupCounter(context.Background(), tallyclient.GetGroupCounterRequest{GroupID: "hot"})
	if err != nil {
		return err
	}
	var got int64
	for _, kv := range ans.GroupCounter {
		got += kv.Value
	}
	mark := "ok"
	if got != oks {
		mark = "MISMATCH"
	}
	fmt.Fprintf(w, "check hot key: counter %d, OK answers %d: %s\n", got, oks, mark)
	if got != oks {
		return errors.New("the hot counter does not match its OK answers")
	}
	return nil
}

// checkFileLimit makes sure this process may hold need descriptors. Go
// raises the soft limit to the hard one at start, for this process and
// for tally serve, which is a Go program too; past the hard limit, only
// the machine's administrator can help.
func checkFileLimit(need int) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return nil // No way to tell; the dials will say.
	}
	if rl.Cur >= uint64(need) {
		return nil
	}
	if rl.Max < uint64(need) {
		return fmt.Errorf("the streams need %d open files and the hard limit is %d (ulimit -Hn)", need, rl.Max)
	}
	rl.Cur = uint64(need)
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
}

func rss(p *proc) (int64, error) {
	u, err := p.usage()
	return u.rss, err
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func kib(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10)) }

func medianDuration(ds []time.Duration) time.Duration {
	fs := make([]float64, len(ds))
	for i, d := range ds {
		fs[i] = float64(d)
	}
	return time.Duration(median(fs))
}

// thousands formats x, rounded, with commas between groups of three
// digits, as BENCHMARKS.md writes counts.
func thousands(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
