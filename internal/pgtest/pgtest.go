// Package pgtest starts throwaway PostgreSQL clusters for tests: a primary
// in a temporary directory on a free loopback port, and optionally a
// synchronous standby, so that a test sees commits wait for replication as
// they do in production. Every server runs with fsync on and
// synchronous_commit on.
//
// PostgreSQL refuses to run as root, so when the test runs as root every
// server program runs as the postgres user, which owns the directory.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// User and Password are the cluster's superuser, whom TCP clients must
// authenticate as with a password, so that tests can show which errors
// leave it out.
const (
	User     = "tally"
	Password = "pgtest-Secret-4f7e"
)

// ErrNoBinaries is returned by Start when no PostgreSQL server is installed;
// tests skip then. CI installs one (.ci/run), so there it never happens.
var ErrNoBinaries = errors.New("pgtest: no PostgreSQL binaries under /usr/lib/postgresql/*/bin; install the postgresql package")

// Options say what to start.
type Options struct {
	// Standby adds a streaming standby that the primary names in
	// synchronous_standby_names, so that every commit waits until the
	// standby has flushed it.
	Standby bool
}

// Cluster is a running primary, and standby if asked for.
type Cluster struct {
	bin     string
	dir     string
	cred    *syscall.Credential
	primary *server
	standby *server
	dbs     atomic.Int64
}

// server is one postgres process on its own data directory and port.
type server struct {
	c    *Cluster
	data string
	port int
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Bin returns the directory of the newest installed PostgreSQL's programs.
func Bin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", ErrNoBinaries
	}
	// Sort by major version number, not by string, so that 9 < 15.
	slices.SortFunc(found, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	return found[len(found)-1], nil
}

// New starts a cluster for one test and stops and removes it when the test
// ends. It skips the test when PostgreSQL is not installed.
func New(t testing.TB, o Options) *Cluster {
	t.Helper()
	c, err := Start(o)
	if errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Start starts a cluster; the caller must Close it. A TestMain uses it to
// share one cluster among all the tests of a binary.
func Start(o Options) (_ *Cluster, err error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, dir: dir}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root, and PostgreSQL refuses to; need the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}

	pwfile := filepath.Join(dir, "pwfile")
	if err := c.writeFile(pwfile, Password+"\n"); err != nil {
		return nil, err
	}
	c.primary = &server{c: c, data: filepath.Join(dir, "primary"), log: filepath.Join(dir, "primary.log")}
	if c.primary.port, err = freePort(); err != nil {
		return nil, err
	}
	// --no-sync skips only initdb's own fsyncs of the files it writes; the
	// server runs with fsync on. Local (socket) connections are trusted,
	// TCP ones must give the password, and replication from loopback
	// needs none, so that pg_basebackup and the standby need no secret.
	if err := c.run("initdb", "-D", c.primary.data, "-U", User, "--pwfile", pwfile, "-E", "UTF8", "--locale=C",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions"); err != nil {
		return nil, err
	}
	if err := c.appendFile(filepath.Join(c.primary.data, "pg_hba.conf"), "host replication all 127.0.0.1/32 trust\n"); err != nil {
		return nil, err
	}
	conf := []string{
		"listen_addresses = '127.0.0.1'",
		fmt.Sprintf("port = %d", c.primary.port),
		fmt.Sprintf("unix_socket_directories = '%s'", dir),
		"fsync = on",
		"synchronous_commit = on",
		"max_connections = 300",
		"shared_buffers = 32MB",
		"wal_level = replica",
		"max_wal_senders = 4",
		"log_min_messages = warning",
	}
	if o.Standby {
		conf = append(conf, "synchronous_standby_names = '*'")
	}
	if err := c.appendFile(filepath.Join(c.primary.data, "postgresql.conf"), strings.Join(conf, "\n")+"\n"); err != nil {
		return nil, err
	}
	if err := c.primary.start(); err != nil {
		return nil, err
	}
	if !o.Standby {
		return c, nil
	}

	c.standby = &server{c: c, data: filepath.Join(dir, "standby"), log: filepath.Join(dir, "standby.log")}
	if c.standby.port, err = freePort(); err != nil {
		return nil, err
	}
	// -R writes standby.signal and primary_conninfo; a fast checkpoint
	// keeps the copy from waiting for the next timed one.
	if err := c.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.primary.port), "-U", User,
		"-D", c.standby.data, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"); err != nil {
		return nil, err
	}
	// The copy carries the primary's postgresql.conf; later lines win.
	if err := c.appendFile(filepath.Join(c.standby.data, "postgresql.conf"),
		fmt.Sprintf("port = %d\nhot_standby = on\nsynchronous_standby_names = ''\n", c.standby.port)); err != nil {
		return nil, err
	}
	if err := c.standby.start(); err != nil {
		return nil, err
	}
	if err := c.waitSync(); err != nil {
		return nil, err
	}
	return c, nil
}

// waitSync returns once the primary counts the standby as synchronous, so
// that a test's first commit does not pay for the standby's start.
func (c *Cluster) waitSync() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for {
		var n int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'").Scan(&n)
		if err != nil {
			return fmt.Errorf("pgtest: waiting for the standby: %w", err)
		}
		if n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: the standby did not become synchronous: %w; see %s", ctx.Err(), c.standby.log)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// URL returns the URL of database db on the primary, with the password.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", User, Password, c.primary.port, db)
}

// Port returns the primary's port.
func (c *Cluster) Port() int { return c.primary.port }

// CreateDB creates a fresh, empty database and returns its URL, so that
// tests sharing one cluster do not see each other's data.
func (c *Cluster) CreateDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t_%d", c.dbs.Add(1))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return c.URL(name)
}

// StopPrimary stops the primary at once, as a crash would, and returns
// when it has exited.
func (c *Cluster) StopPrimary() error { return c.primary.stop(syscall.SIGQUIT) }

// StartPrimary starts the primary again after StopPrimary, on the same port.
func (c *Cluster) StartPrimary() error { return c.primary.start() }

// Close stops the servers and removes the cluster's directory.
func (c *Cluster) Close() {
	for _, s := range []*server{c.standby, c.primary} {
		if s != nil {
			s.stop(syscall.SIGQUIT)
		}
	}
	os.RemoveAll(c.dir)
}

// start runs postgres in the foreground as a child, so that it dies with
// the test binary (Pdeathsig) rather than outliving a crashed test, and
// returns once it accepts connections.
func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("pgtest: server already running")
	}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := s.c.command("postgres", "-D", s.data)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("pgtest: postgres exited at start: %s", tail(s.log))
		default:
		}
		// The port opens only once the server is ready for clients, or
		// nearly: a connection before recovery ends is refused with a
		// message, and the caller's retry or pool copes.
		if ready(addr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres did not start in 30s: %s", tail(s.log))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ready reports whether the server at addr answers a startup as one ready
// for connections, by connecting as the trusted replication-free user.
func ready(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	host, port, _ := net.SplitHostPort(addr)
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s:%s/postgres?sslmode=disable&connect_timeout=1", User, Password, host, port))
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

// stop signals the server (SIGQUIT: immediate, like a crash; SIGINT: fast)
// and waits for it to exit.
func (s *server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	return nil
}

// command returns a command running a PostgreSQL program as the cluster's
// owner.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGPASSWORD="+Password)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// run runs a PostgreSQL program to completion.
func (c *Cluster) run(name string, args ...string) error {
	out, err := c.command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", name, err, out)
	}
	return nil
}

// writeFile creates a file that the cluster's owner can read.
func (c *Cluster) writeFile(name, s string) error {
	if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
		return err
	}
	if c.cred != nil {
		return os.Chown(name, int(c.cred.Uid), int(c.cred.Gid))
	}
	return nil
}

func (c *Cluster) appendFile(name, s string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// freePort returns a loopback port that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of a log file, for an error message.
func tail(name string) string {
	b, _ := os.ReadFile(name)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
