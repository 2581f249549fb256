package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tallyserver/tally/usersig"
)

// callbacks measures what after-event callbacks cost the API: the same
// updates on three servers, one with no callback URL, one whose handler
// accepts every event at once, and one whose handler takes -sleep to
// answer each, as a handler that hangs does. The first shows the cost of
// recording the events and delivering them, the second that a slow
// handler costs the API nothing more (issue 14); the run then waits for
// the accepting handler to have every event of every OK answer.
func callbacks(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("callbacks", stderr)
	duration := fs.Duration("duration", 5*time.Second, "length of each run")
	rounds := fs.Int("rounds", 3, "runs of each scenario, alternated")
	conns := fs.Int("conns", 64, "concurrent keep-alive connections")
	groups := fs.Int("groups", 10_000, "groups the spread scenarios write to")
	sleep := fs.Duration("sleep", 10*time.Second, "how long the slow handler takes to answer")
	tallyBin := fs.String("tally", "", "tally binary (default: build it from this module)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, _, err := workDir("tallybench-callbacks-", tallyBin)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	accept := newReceiver(0)
	defer accept.close()
	slow := newReceiver(*sleep)
	defer slow.close()

	var servers [3]*proc
	for i, url := range []string{"", accept.url, slow.url} {
		cfg := filepath.Join(dir, fmt.Sprintf("tally-%d.yaml", i))
		text := fmt.Sprintf("apps:\n  - sdkappid: %d\n    secret_key: %q\n    admins: [%q]\n    rate_limit_per_api: 0\n",
			benchApp, benchKey, benchAdmin)
		if url != "" {
			text += fmt.Sprintf("    callback_url: %q\n    callback_token: bench-token\n", url)
		}
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			return err
		}
		if servers[i], err = startTally(*tallyBin, cfg, filepath.Join(dir, fmt.Sprint("data-", i)), nil); err != nil {
			return err
		}
		defer servers[i].stop()
		fmt.Fprintf(stdout, "creating %d groups on server %d...\n", *groups+1, i)
		err = createGroups(servers[i].addr, *conns, *groups+1, func(i int) string {
			if i == *groups {
				return "hot"
			}
			return "s" + strconv.Itoa(i)
		})
		if err != nil {
			return fmt.Errorf("creating groups: %w", err)
		}
	}
	// Each create_group made an event; the counts below are of updates.
	accept.waitFor(int64(*groups+1), time.Minute)
	accept.reset()

	hot := func(b []byte, _ *rand.Rand) []byte {
		return append(b, `{"GroupId":"hot","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`...)
	}
	n := *groups
	spread := func(b []byte, rng *rand.Rand) []byte {
		b = append(b, `{"GroupId":"s`...)
		b = strconv.AppendInt(b, int64(rng.IntN(n)), 10)
		return append(b, `","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`...)
	}
	var scenarios []*scenario
	for _, s := range []struct {
		name string
		srv  *proc
	}{{"no callbacks", servers[0]}, {"callbacks accepted", servers[1]}, {fmt.Sprintf("callbacks to a handler that sleeps %v", *sleep), servers[2]}} {
		scenarios = append(scenarios,
			&scenario{name: "hot key, " + s.name, procs: on(s.srv), command: "update_group_counter", moves: "hot", body: hot},
			&scenario{name: fmt.Sprintf("spread over %d, %s", n, s.name), procs: on(s.srv), command: "update_group_counter", moves: "spread", body: spread})
	}
	sig := usersig.Sign(benchApp, benchKey, benchAdmin, 86400, time.Now())
	target := func(command string) string { return apiTarget(benchApp, benchAdmin, sig, command) }
	alternate(stdout, scenarios, *rounds, *conns, *duration, target, nil)

	hotBase, spreadBase := scenarios[0], scenarios[1]
	printTable(stdout, scenarios, []column{
		rateColumn,
		{"× none", func(sc *scenario) string {
			base := hotBase
			if sc.moves == "spread" {
				base = spreadBase
			}
			return fmt.Sprintf("%.2f", median(sc.rates)/median(base.rates))
		}},
		p50Column, p99Column, p999Column, cpuColumn, answersCol, notOKCol,
	})

	var want int64
	for _, sc := range scenarios[2:4] {
		want += sc.oks.Load()
	}
	start := time.Now()
	got := accept.waitFor(want, 5*time.Minute)
	fmt.Fprintf(stdout, "accepting handler: %d of %d events of OK updates, all there %v after the last round (%d attempts, %d duplicates)\n",
		got, want, time.Since(start).Round(time.Millisecond), accept.attempts(), accept.duplicates())
	fmt.Fprintf(stdout, "sleeping handler: %d attempts begun, none answered within the run\n", slow.attempts())
	for i, srv := range servers {
		if err := verify(stdout, fmt.Sprintf("server %d: ", i), srv.addr, *conns, n, scenarios[2*i:2*i+2]); err != nil {
			return err
		}
	}
	if got < want {
		return fmt.Errorf("the accepting handler got %d events of %d OK updates", got, want)
	}
	return nil
}

// receiver is a callback handler on loopback that counts the distinct
// events it is sent, by EventId, answering each after sleep.
type receiver struct {
	url   string
	srv   *http.Server
	sleep time.Duration

	mu    sync.Mutex
	seen  map[string]bool
	tries int64
	dups  int64
}

func newReceiver(sleep time.Duration) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/callback", sleep: sleep, seen: map[string]bool{}}
	r.srv = &http.Server{Handler: r}
	go r.srv.Serve(ln)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var ev struct {
		EventId string
	}
	body, _ := io.ReadAll(req.Body)
	json.Unmarshal(body, &ev)
	r.mu.Lock()
	r.tries++
	if r.seen[ev.EventId] {
		r.dups++
	}
	r.mu.Unlock()
	if r.sleep > 0 {
		select {
		case <-time.After(r.sleep):
		case <-req.Context().Done():
			return
		}
	}
	r.mu.Lock()
	r.seen[ev.EventId] = true
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
}

// waitFor waits until the receiver has n distinct events, or d passes,
// and returns how many it has.
func (r *receiver) waitFor(n int64, d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for {
		r.mu.Lock()
		got := int64(len(r.seen))
		r.mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *receiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen, r.tries, r.dups = map[string]bool{}, 0, 0
}

func (r *receiver) attempts() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tries
}

func (r *receiver) duplicates() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dups
}

func (r *receiver) close() { r.srv.Close() }
