package main

// The crash test of a cluster: three nodes on a PostgreSQL primary with a
// synchronous standby, the primary killed under load and the standby
// promoted, and nothing acknowledged or shown lost.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tallyserver/tally/internal/pgtest"
)

const (
	failoverNodes   = 3
	failoverReaders = 2 // per node
	// failoverRecovery bounds the time from the kill until every node
	// serves again; a cluster that takes longer fails the test.
	failoverRecovery = 30 * time.Second
	// failoverSettle is how long every node must have served again before
	// the load stops, so that a node that answers one call and fails
	// again is seen.
	failoverSettle = 500 * time.Millisecond
)

// TestClusterFailover kills the PostgreSQL primary, with SIGKILL to every
// one of its processes, while 32 writers increase three counters through
// three tally serve processes and readers on every node read them. Once
// every node's /healthz says the database is out of reach and every node
// has answered a write 10002, the standby is promoted; the nodes must find it by themselves, through the URL naming
// both servers, and serve again without a restart. Then every
// acknowledged increase must be in the final value, no value may exceed
// the requests sent, and no value shown to anyone, writer or reader, may
// exceed the final value or be followed, for one reader, by a smaller one.
//
// The promoted standby has no standby of its own, so the commits after the
// failover are on one server only; that is what a cluster of two is until
// a new standby is attached, and the test checks nothing that needs more.
func TestClusterFailover(t *testing.T) {
	needBinary(t)
	pg := pgtest.New(t, pgtest.Options{Standby: true})
	dir := t.TempDir()
	cfg := hammerConfig(t, dir)
	url := pg.FailoverURL("postgres")

	nodes := make([]*server, failoverNodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i] = startServer(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0",
				"--data", filepath.Join(dir, fmt.Sprintf("node%d", i)), "--store", url)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	newAPI(nodes[0].base, testAppID, testKey, testAdmin).mustOK(t, "create_group",
		map[string]any{"Type": "Public", "Name": "failover", "GroupId": hammerGroup})

	l := startFailoverLoad(nodes)
	defer l.stop()
	// The kill comes at a moment of the load chosen at random, so that
	// runs find the commits in flight at different stages.
	before := time.Duration(1000+rand.IntN(1001)) * time.Millisecond
	time.Sleep(before)

	killed := time.Now()
	l.killed.Store(&killed)
	if err := pg.KillPrimary(); err != nil {
		t.Fatal(err)
	}
	// A failover manager promotes once it has seen the primary gone; here
	// that is once every node's /healthz says so and every node has
	// answered a write 10002, its retries spent. Promoting sooner could
	// end the outage before a node shows it: a node pings the database at
	// most once a second, and a call retries for about half a second.
	l.waitFor(t, "every node's /healthz to answer 503, and a write 10002", killed.Add(10*time.Second), func(n *nodeLoad) bool {
		return !n.unhealthy.IsZero() && n.unknown > 0
	})
	promoting := time.Now()
	if err := pg.PromoteStandby(); err != nil {
		t.Fatal(err)
	}
	promoted := time.Now()
	l.promoted.Store(&promoted)
	l.waitFor(t, "every node to answer OK and /healthz 200 again", killed.Add(failoverRecovery), func(n *nodeLoad) bool {
		return !n.recovered.IsZero() && time.Since(n.recovered) >= failoverSettle && !n.healthyAgain.IsZero()
	})
	l.stop()
	for _, f := range l.failures() {
		t.Error(f)
	}
	if t.Failed() {
		return
	}

	// Every node reads the same final value of each key, within what the
	// clients know.
	sent, acked := l.sent.Load(), l.acked.Load()
	shown := l.maxShown()
	var final int64
	for i, n := range nodes {
		got := newAPI(n.base, testAppID, testKey, testAdmin).counters(t, hammerGroup)
		if len(got) != len(hammerKeys) {
			t.Fatalf("node %d reads %v, want the keys %v", i, got, hammerKeys)
		}
		for _, k := range hammerKeys {
			v := got[k]
			if i == 0 && k == hammerKeys[0] {
				final = v
			}
			switch {
			case v != final:
				t.Errorf("node %d reads %s = %d, but node 0 read %s = %d (a torn request, or nodes that disagree)", i, k, v, hammerKeys[0], final)
			case v < acked:
				t.Errorf("node %d reads %s = %d, below the %d increases acknowledged: acknowledged increases were lost", i, k, v, acked)
			case v > sent:
				t.Errorf("node %d reads %s = %d, above the %d requests sent", i, k, v, sent)
			case v < shown[k]:
				t.Errorf("node %d reads %s = %d, below the %d a client was shown: a value shown was taken back", i, k, v, shown[k])
			}
		}
	}
	for _, r := range l.readers {
		// Counters only increase, so one reader's values never go down;
		// a reader's that did was shown a value the failover took back,
		// even if the count has passed it again since.
		for j, v := range r.values {
			if v > final {
				t.Errorf("reader on node %d was shown %d, above the final %d", r.node, v, final)
				break
			}
			if j > 0 && v < r.values[j-1] {
				t.Errorf("reader on node %d was shown %d, then %d: a value shown was taken back", r.node, r.values[j-1], v)
				break
			}
		}
	}

	var reads, readFailures int64
	for _, r := range l.readers {
		reads += int64(len(r.values))
		readFailures += r.failed
	}
	t.Logf("killed the primary after %v of load; every node said so %v later; promoted in %v; every node served again %v after the kill",
		before, promoting.Sub(killed).Round(time.Millisecond), promoted.Sub(promoting).Round(time.Millisecond),
		l.lastRecovery().Sub(killed).Round(time.Millisecond))
	t.Logf("writes: sent %d, acked %d, answered 10002 %d; final value %d: %d of %d in doubt applied; %d reads, %d answered 10002; the largest value shown %d",
		sent, acked, l.unknown.Load(), final, final-acked, sent-acked, reads, readFailures, shown[hammerKeys[0]])
	for i, n := range l.nodes {
		t.Logf("node %d: %d OK, %d answered 10002; longest wait between OK answers %v; /healthz 503 %v after the kill, 200 %v after the promotion",
			i, n.ok, n.unknown, n.longestGap.Round(time.Millisecond),
			n.unhealthy.Sub(killed).Round(time.Millisecond), n.healthyAgain.Sub(promoted).Round(time.Millisecond))
	}
	for _, n := range nodes {
		noPassword(t, n.stdout.String(), n.stderr.String())
	}
}

// failoverLoad is the load of TestClusterFailover, and what its clients
// saw.
type failoverLoad struct {
	nodes   []*nodeLoad
	readers []*reader

	sent, acked, unknown atomic.Int64
	// killed is when the primary was killed, nil before: until then a
	// 10002 or a /healthz 503 is a failure. promoted is when the standby
	// was promoted, nil before: an OK answer after it is a node serving
	// again.
	killed, promoted atomic.Pointer[time.Time]

	done     atomic.Bool
	wg       sync.WaitGroup
	stopOnce sync.Once

	mu    sync.Mutex
	shown map[string]int64 // the largest value of each key an answer showed
	errs  []string         // what went wrong in the clients, the first ten
}

// nodeLoad is what the clients of one node saw. Its fields are the load's
// to write, under the load's mu, until the load has stopped.
type nodeLoad struct {
	*server
	hc *http.Client

	ok, unknown int64 // writes answered OK and 10002
	lastOK      time.Time
	// longestGap is the longest time between two OK answers to writes:
	// the outage as this node's clients saw it.
	longestGap time.Duration
	// recovered is the first OK answer after the promotion.
	recovered time.Time
	// unhealthy is the first /healthz 503, healthyAgain the first 200
	// after it.
	unhealthy, healthyAgain time.Time
}

// reader is a client that reads the counters in a loop.
type reader struct {
	node   int
	values []int64 // every value shown, in order
	failed int64   // calls answered 10002
}

// startFailoverLoad starts, on every node, its share of hammerWriters
// writers (writer w on node w mod len(nodes)), failoverReaders readers and
// a watcher of /healthz.
func startFailoverLoad(nodes []*server) *failoverLoad {
	l := &failoverLoad{shown: map[string]int64{}}
	items := make([]counter, len(hammerKeys))
	for i, k := range hammerKeys {
		items[i] = counter{k, 1}
	}
	incr, _ := json.Marshal(map[string]any{"GroupId": hammerGroup, "Mode": "Increase", "GroupCounter": items})
	read, _ := json.Marshal(map[string]any{"GroupId": hammerGroup})

	for _, s := range nodes {
		tr := &http.Transport{MaxIdleConnsPerHost: hammerWriters + failoverReaders, DisableCompression: true}
		l.nodes = append(l.nodes, &nodeLoad{server: s, hc: &http.Client{Transport: tr, Timeout: 15 * time.Second}})
	}
	// An attempt counts as sent from the moment it has a connection, as in
	// hammer, so that sent bounds what the nodes can have applied.
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { l.sent.Add(1) }}
	writeCtx := httptrace.WithClientTrace(context.Background(), trace)
	for w := range hammerWriters {
		l.run(func() { l.write(writeCtx, w%len(nodes), incr) })
	}
	for i := range nodes {
		for range failoverReaders {
			r := &reader{node: i}
			l.readers = append(l.readers, r)
			l.run(func() { l.read(r, read) })
		}
		l.run(func() { l.watchHealth(i) })
	}
	return l
}

func (l *failoverLoad) run(f func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

// stop stops every client and waits for them.
func (l *failoverLoad) stop() {
	l.stopOnce.Do(func() {
		l.done.Store(true)
		l.wg.Wait()
		for _, n := range l.nodes {
			n.hc.CloseIdleConnections()
		}
	})
}

func (l *failoverLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
}

func (l *failoverLoad) failures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errs
}

func (l *failoverLoad) client(i int) *api {
	c := newAPI(l.nodes[i].base, testAppID, testKey, testAdmin)
	c.hc = l.nodes[i].hc
	return c
}

// write increases the counters through node i until the load stops. Every
// call must be answered, OK or 10002: the nodes stay up, so an error or a
// timeout is a node that hangs or fails.
func (l *failoverLoad) write(ctx context.Context, i int, body []byte) {
	c, n := l.client(i), l.nodes[i]
	for !l.done.Load() {
		began := time.Now()
		r, err := c.call(ctx, "update_group_counter", body)
		now := time.Now()
		switch {
		case err != nil:
			l.fail("write on node %d: %v", i, err)
			return
		case r.ErrorCode == 10002 && l.killed.Load() == nil:
			l.fail("write on node %d answered 10002 before the kill: %s", i, r.ErrorInfo)
			return
		case r.ErrorCode == 10002:
			l.unknown.Add(1)
			l.mu.Lock()
			n.unknown++
			l.mu.Unlock()
			l.failIfBack(i, began, "write", r.ErrorInfo)
			continue
		case r.ActionStatus != "OK" || r.ErrorCode != 0:
			l.fail("write on node %d: answer %s %d %s", i, r.ActionStatus, r.ErrorCode, r.ErrorInfo)
			return
		}
		if err := checkAnswer(r, 0); err != nil {
			l.fail("write on node %d: %v", i, err)
			return
		}
		l.acked.Add(1)
		l.mu.Lock()
		n.ok++
		if !n.lastOK.IsZero() {
			n.longestGap = max(n.longestGap, now.Sub(n.lastOK))
		}
		n.lastOK = now
		if p := l.promoted.Load(); p != nil && n.recovered.IsZero() && now.After(*p) {
			n.recovered = now
		}
		l.showLocked(r.GroupCounter)
		l.mu.Unlock()
	}
}

// read reads the counters through r's node until the load stops.
func (l *failoverLoad) read(r *reader, body []byte) {
	c := l.client(r.node)
	for !l.done.Load() {
		began := time.Now()
		a, err := c.call(context.Background(), "get_group_counter", body)
		switch {
		case err != nil:
			l.fail("read on node %d: %v", r.node, err)
			return
		case a.ErrorCode == 10002 && l.killed.Load() == nil:
			l.fail("read on node %d answered 10002 before the kill: %s", r.node, a.ErrorInfo)
			return
		case a.ErrorCode == 10002:
			r.failed++
			l.failIfBack(r.node, began, "read", a.ErrorInfo)
			continue
		case a.ActionStatus != "OK" || a.ErrorCode != 0:
			l.fail("read on node %d: answer %s %d %s", r.node, a.ActionStatus, a.ErrorCode, a.ErrorInfo)
			return
		}
		// Before the first increase the group has no counters; after it,
		// every key has the value of every other, or a request was torn.
		var v int64
		if len(a.GroupCounter) > 0 {
			if err := checkAnswer(a, 0); err != nil {
				l.fail("read on node %d: %v", r.node, err)
				return
			}
			v = a.GroupCounter[0].Value
		}
		r.values = append(r.values, v)
		l.mu.Lock()
		l.showLocked(a.GroupCounter)
		l.mu.Unlock()
	}
}

// failIfBack fails a call to node i that began at began and was answered
// 10002 if the node had served again by then: once a node has reached the
// promoted standby, its pool's connections to the dead primary are gone or
// are retried past, so a call it begins later has no cause to fail. (A
// call begun before may have spent its retries while the outage lasted.)
func (l *failoverLoad) failIfBack(i int, began time.Time, what, info string) {
	l.mu.Lock()
	back := l.nodes[i].recovered
	l.mu.Unlock()
	if !back.IsZero() && began.After(back) {
		l.fail("%s on node %d began %v after the node served again, and was answered 10002: %s",
			what, i, began.Sub(back).Round(time.Millisecond), info)
	}
}

// showLocked records the values an answer showed.
func (l *failoverLoad) showLocked(cs []counter) {
	for _, kv := range cs {
		l.shown[kv.Key] = max(l.shown[kv.Key], kv.Value)
	}
}

func (l *failoverLoad) maxShown() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.shown
}

// watchHealth polls node i's /healthz until the load stops, noting the
// first 503 and the first 200 after it.
func (l *failoverLoad) watchHealth(i int) {
	n := l.nodes[i]
	hc := &http.Client{Timeout: 10 * time.Second}
	for !l.done.Load() {
		resp, err := hc.Get(n.base + "/healthz")
		if err != nil {
			l.fail("/healthz of node %d: %v", i, err)
			return
		}
		resp.Body.Close()
		now := time.Now()
		l.mu.Lock()
		switch {
		case resp.StatusCode == http.StatusServiceUnavailable && l.killed.Load() == nil:
			l.fail("/healthz of node %d answered 503 before the kill", i)
		case resp.StatusCode == http.StatusServiceUnavailable && n.unhealthy.IsZero():
			n.unhealthy = now
		case resp.StatusCode == http.StatusOK && !n.unhealthy.IsZero() && n.healthyAgain.IsZero():
			n.healthyAgain = now
		case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable:
			l.fail("/healthz of node %d: %s", i, resp.Status)
		}
		l.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor waits until ok holds for every node, and fails the test if it
// does not by deadline or if a client has failed.
func (l *failoverLoad) waitFor(t *testing.T, what string, deadline time.Time, ok func(*nodeLoad) bool) {
	t.Helper()
	for {
		l.mu.Lock()
		all := true
		for _, n := range l.nodes {
			all = all && ok(n)
		}
		failed := len(l.errs) > 0
		l.mu.Unlock()
		if failed {
			l.stop()
			t.Fatalf("waiting for %s: %s", what, strings.Join(l.failures(), "\n"))
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			l.stop()
			t.Fatalf("waiting for %s: not so by the deadline\n%s", what, l.report())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lastRecovery is when the last node to serve again after the promotion
// answered OK.
func (l *failoverLoad) lastRecovery() time.Time {
	var last time.Time
	for _, n := range l.nodes {
		if n.recovered.After(last) {
			last = n.recovered
		}
	}
	return last
}

// report says what each node's clients saw, for a failure message.
func (l *failoverLoad) report() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for i, n := range l.nodes {
		fmt.Fprintf(&b, "node %d: %d OK, %d answered 10002, last OK %s, recovered %s, /healthz 503 %s, 200 again %s\n",
			i, n.ok, n.unknown, stamp(n.lastOK), stamp(n.recovered), stamp(n.unhealthy), stamp(n.healthyAgain))
	}
	return b.String()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format("15:04:05.000")
}
