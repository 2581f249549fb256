package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The load the durability tests put on a server: writers goroutines, each
// with its own keep-alive connection, send update_group_counter requests
// that increase every key of hammerKeys by 1 in one request.
const (
	hammerWriters = 32
	hammerGroup   = "crash"
)

var hammerKeys = []string{"a", "b", "c"}

// hammerResult is what the clients of one hammer run know.
type hammerResult struct {
	// sent counts the attempts at sending a request: an attempt counts from
	// the moment it has a connection, before any byte is written, so that
	// sent bounds the number of requests the server can have applied.
	sent int64
	// acked counts the OK answers read in full.
	acked int64
	// maxSeen is the largest value an OK answer showed.
	maxSeen int64
	elapsed time.Duration
}

// hammer increases the counters of hammerGroup from many clients for
// about d, then calls stop, which must end the server, and returns when
// every client has stopped. The value of every key is base when it starts.
// Failures other than those stop causes fail the test.
func hammer(t *testing.T, s *server, base int64, d time.Duration, stop func()) hammerResult {
	t.Helper()
	return hammerWatched(t, s, base, d, func(c *hammerCounts) {
		c.stopping.Store(true) // before stop, so that every error it causes is expected
		stop()
	})
}

// hammerCounts are the counts of a hammer run as it goes, for a stop that
// needs them: see hammerResult.
type hammerCounts struct {
	sent, acked, maxSeen atomic.Int64
	// stopping is set by a stop that ends the server: the clients' errors
	// are expected from then on.
	stopping atomic.Bool
}

// hammerWatched is hammer with a stop that sees the counts as they are
// while the clients run; it need not end the server, for the clients stop
// once it returns, and unless it sets stopping, every error fails the test.
func hammerWatched(t *testing.T, s *server, base int64, d time.Duration, stop func(*hammerCounts)) hammerResult {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: hammerWriters, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := newAPI(s.base, testAppID, testKey, testAdmin)
	c.hc = &http.Client{Transport: tr, Timeout: 20 * time.Second}

	items := make([]counter, len(hammerKeys))
	for i, k := range hammerKeys {
		items[i] = counter{k, 1}
	}
	body, _ := json.Marshal(map[string]any{"GroupId": hammerGroup, "Mode": "Increase", "GroupCounter": items})

	var (
		counts               hammerCounts
		sent, acked, maxSeen = &counts.sent, &counts.acked, &counts.maxSeen
		stopping             = &counts.stopping
		done                 atomic.Bool
		mu                   sync.Mutex
		unexpected           []string
		wg                   sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(unexpected) < 10 {
			unexpected = append(unexpected, fmt.Sprintf(format, args...))
		}
	}
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { sent.Add(1) }}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	start := time.Now()
	for w := 0; w < hammerWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				r, err := c.call(ctx, "update_group_counter", body)
				if err != nil {
					// Once the server is being stopped, a failed request is
					// one that was perhaps sent and never acknowledged.
					if !stopping.Load() {
						fail("before the stop: %v", err)
					}
					return
				}
				if r.ActionStatus != "OK" || r.ErrorCode != 0 {
					fail("answer %s %d %s", r.ActionStatus, r.ErrorCode, r.ErrorInfo)
					return
				}
				if err := checkAnswer(r, base); err != nil {
					fail("%v", err)
					return
				}
				acked.Add(1)
				v := r.GroupCounter[0].Value
				for m := maxSeen.Load(); v > m && !maxSeen.CompareAndSwap(m, v); m = maxSeen.Load() {
				}
			}
		}()
	}
	time.Sleep(d)
	stop(&counts)
	done.Store(true)
	wg.Wait()
	res := hammerResult{sent: sent.Load(), acked: acked.Load(), maxSeen: maxSeen.Load(), elapsed: time.Since(start)}
	for _, u := range unexpected {
		t.Error(u)
	}
	return res
}

// checkAnswer checks one OK answer to a hammer request: every key, in
// request order, with one value above base, which no torn request could
// give.
func checkAnswer(r apiResp, base int64) error {
	if len(r.GroupCounter) != len(hammerKeys) {
		return fmt.Errorf("answer has %d counters, want %d: %+v", len(r.GroupCounter), len(hammerKeys), r.GroupCounter)
	}
	v := r.GroupCounter[0].Value
	for i, kv := range r.GroupCounter {
		if kv.Key != hammerKeys[i] || kv.Value != v {
			return fmt.Errorf("answer %+v: keys out of order or unequal", r.GroupCounter)
		}
	}
	if v <= base {
		return fmt.Errorf("answer shows %d after an increase from %d", v, base)
	}
	return nil
}

// readHammered returns the common value of the hammer keys in a server just
// started, failing the test if they differ (a torn request) or if there are
// other keys.
func readHammered(t *testing.T, s *server) int64 {
	t.Helper()
	got := newAPI(s.base, testAppID, testKey, testAdmin).counters(t, hammerGroup)
	if len(got) == 0 {
		return 0
	}
	v := got[hammerKeys[0]]
	for _, k := range hammerKeys {
		if n, ok := got[k]; !ok || n != v {
			t.Fatalf("counters after restart are %v: not all of %v equal (a torn request?)", got, hammerKeys)
		}
	}
	if len(got) != len(hammerKeys) {
		t.Fatalf("counters after restart are %v; want only %v", got, hammerKeys)
	}
	return v
}

// bounds are what the clients know of a value after a stop: every
// acknowledged request and every value shown is durable (low), and no
// request was applied that was not sent (high).
type bounds struct{ low, high int64 }

func (b bounds) check(t *testing.T, what string, v int64) {
	t.Helper()
	if v < b.low || v > b.high {
		t.Fatalf("%s: value %d, want %d..%d (acknowledged or shown .. sent)", what, v, b.low, b.high)
	}
}

func boundsAfter(base int64, r hammerResult) bounds {
	return bounds{low: max(base+r.acked, r.maxSeen), high: base + r.sent}
}

func crashCycles(t *testing.T) int {
	s := os.Getenv("TALLY_CRASH_CYCLES")
	if s == "" {
		return 3
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("TALLY_CRASH_CYCLES=%q: want a whole number, 1 or more", s)
	}
	return n
}

func hammerConfig(t *testing.T, dir string) string {
	return writeFile(t, filepath.Join(dir, "tally.yaml"), testConfig(`edition: "ultimate"`, "rate_limit_per_api: 0", "rate_limit_per_app: 0"))
}

// TestKillNineKeepsAckedWrites kills the server with SIGKILL while 32
// clients increase three counters in one group, restarts it on the same
// data dir, and checks that every acknowledged increase survived, that
// nothing unsent appeared, and that no request was applied in part. It
// repeats this TALLY_CRASH_CYCLES times (default 3) on the same data, each
// cycle starting from the value the previous restart read.
func TestKillNineKeepsAckedWrites(t *testing.T) {
	needBinary(t)
	cycles := crashCycles(t)
	dir := t.TempDir()
	cfg := hammerConfig(t, dir)
	args := []string{"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data")}

	s := startServer(t, args...)
	newAPI(s.base, testAppID, testKey, testAdmin).mustOK(t, "create_group",
		map[string]any{"Type": "Public", "Name": "crash test", "GroupId": hammerGroup})

	var (
		base                  int64 // the value every key had when the current cycle began
		last                  *hammerResult
		delay                 time.Duration
		totalSent, totalAcked int64
	)
	for cycle := 1; ; cycle++ {
		if cycle > 1 {
			s = startServer(t, args...)
		}
		v := readHammered(t, s)
		if last != nil {
			b := boundsAfter(base, *last)
			b.check(t, fmt.Sprintf("restart after kill %d", cycle-1), v)
			t.Logf("kill %d after %v: sent %d, acked %d (%.0f/s), value %d in %d..%d: %d of %d in doubt applied",
				cycle-1, delay, last.sent, last.acked, float64(last.acked)/last.elapsed.Seconds(),
				v, b.low, b.high, v-base-last.acked, last.sent-last.acked)
		}
		base = v
		if cycle > cycles {
			break
		}
		delay = time.Duration(300+rand.IntN(1201)) * time.Millisecond
		r := hammer(t, s, base, delay, s.kill)
		if t.Failed() {
			return
		}
		if code := s.cmd.ProcessState.ExitCode(); code != -1 {
			t.Fatalf("cycle %d: the server exited with code %d before the kill", cycle, code)
		}
		last = &r
		totalSent += r.sent
		totalAcked += r.acked
	}
	t.Logf("%d kills: sent %d, acked %d, final value %d: %d of %d in doubt applied",
		cycles, totalSent, totalAcked, base, base-totalAcked, totalSent-totalAcked)
	if totalAcked == 0 {
		t.Error("no request was acknowledged: the test tested nothing")
	}
	if base < totalAcked || base > totalSent {
		t.Errorf("final value %d outside cumulative acked..sent %d..%d", base, totalAcked, totalSent)
	}
}

// TestGracefulStopKeepsValues sends SIGTERM to a server under load and
// checks that it exits 0 and that after a restart every acknowledged write
// is there, along with values set before.
func TestGracefulStopKeepsValues(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cfg := hammerConfig(t, dir)
	args := []string{"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data")}

	s := startServer(t, args...)
	c := newAPI(s.base, testAppID, testKey, testAdmin)
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "graceful", "GroupId": hammerGroup})
	c.mustOK(t, "create_group", map[string]any{"Type": "Private", "Name": "quiet", "GroupId": "quiet"})
	set := map[string]int64{"max": 1<<63 - 1, "min": -1 << 63, "zero": 0, "answer": 42}
	var items []counter
	for k, v := range set {
		items = append(items, counter{k, v})
	}
	c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "quiet", "GroupCounter": items})

	r := hammer(t, s, 0, 300*time.Millisecond, func() {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
		if code := s.wait(15 * time.Second); code != 0 {
			t.Errorf("after SIGTERM the server exited with code %d, want 0", code)
		}
	})
	if !strings.Contains(s.stderr.String(), "shutting down") {
		t.Errorf("stderr does not say it is shutting down:\n%s", s.stderr)
	}
	t.Logf("SIGTERM under load: sent %d, acked %d", r.sent, r.acked)

	s = startServer(t, args...)
	v := readHammered(t, s)
	boundsAfter(0, r).check(t, "after SIGTERM", v)
	if v != r.acked {
		// A graceful stop answers every request it has begun to handle and
		// closes only connections with no request under way, whose next
		// request, if one was on its way, is never applied. So unlike a
		// crash it leaves no request applied and unanswered.
		t.Errorf("value %d after a graceful stop, but %d requests were acknowledged", v, r.acked)
	}
	c = newAPI(s.base, testAppID, testKey, testAdmin)
	if got := c.counters(t, "quiet"); len(got) != len(set) {
		t.Errorf("group quiet holds %v after a restart, want %v", got, set)
	} else {
		for k, v := range set {
			if got[k] != v {
				t.Errorf("group quiet: %s = %d after a restart, want %d", k, got[k], v)
			}
		}
	}

	// A second graceful stop of an idle server is quick and clean.
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(5 * time.Second); code != 0 {
		t.Errorf("idle server: exit code %d after SIGTERM, want 0", code)
	}
}
