package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tallybench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// buildTally builds the server from the module this command belongs to,
// so that "go run ./cmd/tallybench" measures the code next to it.
func buildTally(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "tally")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/tallyserver/tally/cmd/tally").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build tally: %v\n%s", err, out)
	}
	return bin, nil
}

// proc is a server started as a child process.
type proc struct {
	cmd  *exec.Cmd
	addr string
}

// startProc runs bin with args and waits for it to print a line matching
// banner, whose first group is the address it serves. Its stderr goes to
// logPath, so that a failure can be read afterwards.
func startProc(bin string, args []string, banner *regexp.Regexp, logPath string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := banner.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-found:
		return &proc{cmd: cmd, addr: addr}, nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s printed no banner within 30s; see %s", bin, logPath)
	}
}

// stop asks the server to shut down gracefully and waits for it.
func (p *proc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	return p.cmd.Wait()
}

// cpuTime returns the CPU time, user and system, that the process has used.
func (p *proc) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, may hold spaces; the fields after its
	// closing parenthesis are plain. utime and stime are fields 14 and 15,
	// in clock ticks, which are 1/100 s on Linux.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// rss returns the process's resident set size in bytes.
func (p *proc) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`).FindAllSubmatch(b, 1) {
		fmt.Sscan(string(line[1]), &kb)
	}
	return kb << 10
}
