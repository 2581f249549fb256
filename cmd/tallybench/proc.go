package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tallybench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// tallyBanner matches the line tally serve prints once it listens, on
// its embedded store or on PostgreSQL; its group is the address it
// serves. It is matched whole, so that a change to the line shows here
// rather than as a benchmark that waits for nothing.
var tallyBanner = regexp.MustCompile(`^tally \S+ serving http://(\S+) \((?:data in|PostgreSQL) .*, \d+ app\(s\)\)$`)

// startTally runs tally serve with config and data on a free port of the
// loopback; stderr and more are as for startProc and the command line.
func startTally(bin, config, data string, stderr io.Writer, more ...string) (*proc, error) {
	args := append([]string{"serve", "--config", config, "--data", data, "--listen", "127.0.0.1:0"}, more...)
	return startProc(bin, args, tallyBanner, stderr)
}

// proc is a server started as a child process that has printed its banner.
type proc struct {
	name   string // the binary's, for error messages
	cmd    *exec.Cmd
	addr   string        // host:port, from the banner
	start  time.Time     // just before exec
	banner time.Duration // from exec to the banner
	exited chan struct{} // closed once the process has exited
	log    *tailWriter   // the end of its stderr
}

// startProc runs bin with args and waits for it to print a line matching
// banner, whose first group is the address it serves. The end of its
// stderr is kept for error messages, since the process may fail long after
// it started; stderr, if not nil, gets all of it as well.
func startProc(bin string, args []string, banner *regexp.Regexp, stderr io.Writer) (*proc, error) {
	p := &proc{name: filepath.Base(bin), exited: make(chan struct{}), log: new(tailWriter)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p.log
	if stderr != nil {
		p.cmd.Stderr = io.MultiWriter(p.log, stderr)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	type found struct {
		addr string
		at   time.Duration
	}
	bannerc := make(chan found, 1)
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	// The banner is timed as it is read, so that this goroutine's wait to be
	// scheduled is all the error there is. The rest of stdout is drained, so
	// that the process never blocks on a full pipe; Wait must come after
	// the last read from it.
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := banner.FindStringSubmatch(sc.Text()); m != nil {
				bannerc <- found{m[1], time.Since(p.start)}
				break
			}
		}
		io.Copy(io.Discard, out)
		p.cmd.Wait() // The outcome is read from ProcessState.
		close(p.exited)
	}()
	// Two minutes, because a large store, such as the memory benchmark's,
	// takes a while to open before the banner.
	select {
	case b := <-bannerc:
		p.addr, p.banner = b.addr, b.at
		return p, nil
	case <-p.exited:
		return nil, p.failure("exited before serving")
	case <-time.After(2 * time.Minute):
		p.kill()
		return nil, p.failure("printed no banner within 2 minutes")
	}
}

// stop sends SIGTERM and checks that the process exits 0, returning how
// long it took.
func (p *proc) stop() (time.Duration, error) {
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		p.kill()
		return 0, p.failure("did not exit within a minute of SIGTERM")
	}
	took := time.Since(start)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		return took, p.failure(fmt.Sprintf("exited with code %d after SIGTERM", code))
	}
	return took, nil
}

// kill ends the process if it is still running and waits for it, so that
// whatever it held, such as its data directory, is free when kill returns.
func (p *proc) kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Kill() // It may have exited meanwhile, which is as good.
		<-p.exited
	}
}

// failure is an error that says what went wrong with the process and
// shows the end of its stderr, which usually says why.
func (p *proc) failure(what string) error {
	return fmt.Errorf("%s %s; its stderr ends:\n%s", p.name, what, p.log)
}

// tailWriter keeps the last 16 KiB written to it.
type tailWriter struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if n := len(t.b) - 16<<10; n > 0 {
		t.b = append(t.b[:0], t.b[n:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// cpuTime returns the CPU time, user and system, that the process has used.
func (p *proc) cpuTime() time.Duration {
	st, _ := readStat(p.cmd.Process.Pid) // Zero where there is no /proc.
	return st.own
}

// procStat is what /proc/PID/stat says of a process.
type procStat struct {
	comm string
	ppid int
	// own is the CPU time, user and system, that the process has used, and
	// reaped that of its children that have exited and been waited for.
	own, reaped time.Duration
}

// readStat reads /proc/PID/stat.
func readStat(pid int) (procStat, error) {
	var st procStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name, field 2, is in parentheses and may hold spaces
	// and parentheses itself; the fields after the last closing one are
	// plain. ppid is field 4; utime, stime, cutime and cstime are fields
	// 14 to 17, in clock ticks, which are 1/100 s on Linux.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, fmt.Errorf("/proc/%d/stat is not as expected", pid)
	}
	st.comm = string(b[open+1 : end])
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 15 {
		return st, fmt.Errorf("/proc/%d/stat is not as expected", pid)
	}
	var ticks [5]int64
	for i, field := range []int{1, 11, 12, 13, 14} {
		ticks[i], _ = strconv.ParseInt(f[field], 10, 64)
	}
	st.ppid = int(ticks[0])
	st.own = time.Duration(ticks[1]+ticks[2]) * 10 * time.Millisecond
	st.reaped = time.Duration(ticks[3]+ticks[4]) * 10 * time.Millisecond
	return st, nil
}

// procUsage is the kernel's account of a process's memory and reads.
type procUsage struct {
	rss, anon, hwm int64 // VmRSS, RssAnon and VmHWM (peak RSS), in bytes
	rchar          int64 // bytes it has read with read(2) and the like
}

func (p *proc) usage() (procUsage, error) {
	var u procUsage
	pid := p.cmd.Process.Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"VmRSS:", &u.rss}, {"RssAnon:", &u.anon}, {"VmHWM:", &u.hwm}} {
		kb, err := procField(status, f.name)
		if err != nil {
			return u, err
		}
		*f.v = kb << 10
	}
	reads, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return u, err
	}
	u.rchar, err = procField(reads, "rchar:")
	return u, err
}

// procField returns the number that follows name at the start of a line
// of a /proc file.
func procField(text []byte, name string) (int64, error) {
	for line := range strings.Lines(string(text)) {
		if rest, ok := strings.CutPrefix(line, name); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, errors.New("no " + name + " in a /proc file")
}
