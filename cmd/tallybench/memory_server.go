package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/usersig"
)

// memStart is one start of the server on the filled store.
type memStart struct {
	banner, answer time.Duration // from exec
	proc           memProc       // right after the first answer
	stop           time.Duration // from SIGTERM to exit
}

// memState is the server process after one phase of the loaded start.
type memState struct {
	name  string
	calls int
	took  time.Duration
	proc  memProc
}

// memRun starts the server, times its first answer and stops it; with
// loads, it runs the read and then the write load in between and reports
// the process after each.
func memRun(o *memOptions, config string, loads bool, stderr io.Writer) (memStart, []memState, error) {
	var st memStart
	srv, err := memStartServer(o, config, stderr)
	if err != nil {
		return st, nil, err
	}
	defer srv.kill()
	st.banner = srv.banner
	api := newMemAPI(srv.base, o.conns)
	defer api.hc.CloseIdleConnections()

	if st.answer, err = srv.firstAnswer(api, o); err != nil {
		return st, nil, err
	}
	if st.proc, err = memReadProc(srv.cmd.Process.Pid); err != nil {
		return st, nil, err
	}
	states := []memState{{name: "first answer", proc: st.proc}}
	if loads {
		phases := []struct {
			name string
			n    int
			call func(g int) error
		}{
			{fmt.Sprintf("%s reads", memCount(o.reads)), o.reads, func(g int) error { return api.get(o, g) }},
			{fmt.Sprintf("%s writes", memCount(o.writes)), o.writes, func(g int) error { return api.increase(o, g) }},
		}
		for _, ph := range phases {
			if ph.n == 0 {
				continue
			}
			fmt.Fprintf(stderr, "%s from %d connections...\n", ph.name, o.conns)
			start := time.Now()
			err := memParallel(ph.n, o.conns, func(int) error { return ph.call(rand.IntN(o.groups())) })
			if err != nil {
				return st, nil, fmt.Errorf("%s: %w", ph.name, err)
			}
			s := memState{name: ph.name, calls: ph.n, took: time.Since(start)}
			if s.proc, err = memReadProc(srv.cmd.Process.Pid); err != nil {
				return st, nil, err
			}
			states = append(states, s)
		}
	}
	api.hc.CloseIdleConnections()
	st.stop, err = srv.stop()
	return st, states, err
}

// memParallel runs job(i) for every i in [0, n) from workers goroutines and
// returns the first error, after which no job starts.
func memParallel(n, workers int, job func(i int) error) error {
	var (
		next     atomic.Int64
		failed   atomic.Bool
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := job(i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// memServer is a tally serve process that has printed its banner.
type memServer struct {
	cmd    *exec.Cmd
	base   string        // http://host:port
	start  time.Time     // just before exec
	banner time.Duration // from exec to the banner
	exited chan struct{} // closed once the process has exited
	log    *memTail      // the end of its stderr
}

var memBannerRE = regexp.MustCompile(`^tally \S+ serving (http://\S+) \(data in .*, \d+ app\(s\)\)$`)

func memStartServer(o *memOptions, config string, stderr io.Writer) (*memServer, error) {
	s := &memServer{exited: make(chan struct{}), log: new(memTail)}
	s.cmd = exec.Command(o.bin, "serve", "--config", config, "--data", o.data, "--listen", "127.0.0.1:0")
	s.cmd.Stderr = s.log
	if o.verbose {
		s.cmd.Stderr = io.MultiWriter(s.log, stderr)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	type banner struct {
		base string
		at   time.Duration
	}
	found := make(chan banner, 1)
	s.start = time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	// The banner is timed as it is read, so that this goroutine's wait to be
	// scheduled is all the error there is.
	go func() {
		sc := bufio.NewScanner(out)
		seen := false
		for sc.Scan() {
			if m := memBannerRE.FindStringSubmatch(sc.Text()); m != nil && !seen {
				seen = true
				found <- banner{m[1], time.Since(s.start)}
			}
		}
		s.cmd.Wait() // The outcome is read from ProcessState.
		close(s.exited)
	}()
	select {
	case b := <-found:
		s.base, s.banner = b.base, b.at
		return s, nil
	case <-s.exited:
		return nil, s.failure("exited before serving")
	case <-time.After(2 * time.Minute):
		s.kill()
		return nil, s.failure("printed no banner within 2 minutes")
	}
}

// firstAnswer calls get_group_counter until it answers OK and returns the
// time from exec to that answer.
func (s *memServer) firstAnswer(api *memAPI, o *memOptions) (time.Duration, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		err := api.get(o, rand.IntN(o.groups()))
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

// stop sends SIGTERM and checks that the server exits 0, returning how long
// it took.
func (s *memServer) stop() (time.Duration, error) {
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		s.kill()
		return 0, s.failure("did not exit within a minute of SIGTERM")
	}
	took := time.Since(start)
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		return took, s.failure(fmt.Sprintf("exited with code %d after SIGTERM", code))
	}
	return took, nil
}

// kill ends the process if it is still running and waits for it, so that
// the data directory is free for the next start.
func (s *memServer) kill() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Kill() // It may have exited meanwhile, which is as good.
		<-s.exited
	}
}

func (s *memServer) failure(what string) error {
	return fmt.Errorf("tally %s; its stderr ends:\n%s", what, s.log)
}

// memTail keeps the last 16 KiB written to it.
type memTail struct {
	mu sync.Mutex
	b  []byte
}

func (t *memTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if n := len(t.b) - 16<<10; n > 0 {
		t.b = append(t.b[:0], t.b[n:]...)
	}
	return len(p), nil
}

func (t *memTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// memAPI calls the server as the app's admin over keep-alive connections.
type memAPI struct {
	hc   *http.Client
	base string
	sig  string
}

func newMemAPI(base string, conns int) *memAPI {
	return &memAPI{
		hc: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxConnsPerHost:     conns,
				MaxIdleConnsPerHost: conns,
				DisableCompression:  true,
			},
		},
		base: base,
		sig:  usersig.Sign(memAppID, memSecret, memAdmin, 86400, time.Now()),
	}
}

// memAnswer is the part of an answer the benchmark reads.
type memAnswer struct {
	ErrorCode    int
	ErrorInfo    string
	GroupCounter []tally.Counter
}

// call posts body to command and returns the answer, or an error unless it
// is OK.
func (a *memAPI) call(command string, body []byte) (memAnswer, error) {
	var ans memAnswer
	u := fmt.Sprintf("%s/v4/group_open_http_svc/%s?sdkappid=%d&identifier=%s&usersig=%s&random=%d&contenttype=json",
		a.base, command, memAppID, memAdmin, url.QueryEscape(a.sig), rand.Uint32())
	resp, err := a.hc.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		return ans, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return ans, err
	}
	if resp.StatusCode != http.StatusOK {
		return ans, fmt.Errorf("%s: HTTP %s", command, resp.Status)
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return ans, fmt.Errorf("%s: %w in %q", command, err, data)
	}
	if ans.ErrorCode != 0 {
		return ans, fmt.Errorf("%s %s: error %d: %s", command, body, ans.ErrorCode, ans.ErrorInfo)
	}
	return ans, nil
}

// get reads every counter of group g and checks that it has them all.
func (a *memAPI) get(o *memOptions, g int) error {
	ans, err := a.call("get_group_counter", fmt.Appendf(nil, `{"GroupId":%q}`, memGroupID(g)))
	if err != nil {
		return err
	}
	if len(ans.GroupCounter) != o.keysIn(g) {
		return fmt.Errorf("group %s has %d counters, not %d", memGroupID(g), len(ans.GroupCounter), o.keysIn(g))
	}
	return nil
}

// increase adds 1 to one of group g's counters.
func (a *memAPI) increase(o *memOptions, g int) error {
	body := fmt.Appendf(nil, `{"GroupId":%q,"Mode":"Increase","GroupCounter":[{"Key":%q,"Value":1}]}`,
		memGroupID(g), memKeys[rand.IntN(o.keysIn(g))])
	_, err := a.call("update_group_counter", body)
	return err
}

// memProc is the kernel's account of a process's memory and reads.
type memProc struct {
	rss, anon, hwm int64 // VmRSS, RssAnon and VmHWM (peak RSS), in bytes
	rchar          int64 // bytes it has read with read(2) and the like
}

func memReadProc(pid int) (memProc, error) {
	var p memProc
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"VmRSS:", &p.rss}, {"RssAnon:", &p.anon}, {"VmHWM:", &p.hwm}} {
		kb, err := memProcField(status, f.name)
		if err != nil {
			return p, err
		}
		*f.v = kb << 10
	}
	io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return p, err
	}
	p.rchar, err = memProcField(io, "rchar:")
	return p, err
}

// memProcField returns the number that follows name at the start of a line
// of a /proc file.
func memProcField(text []byte, name string) (int64, error) {
	for line := range strings.Lines(string(text)) {
		if rest, ok := strings.CutPrefix(line, name); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, errors.New("no " + name + " in a /proc file")
}
