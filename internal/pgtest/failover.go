package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// What a failover test needs: the standby's address, a URL that names both
// servers, a primary that dies as its machine would, and a promotion.

// StandbyPort returns the standby's port, 0 without one.
func (c *Cluster) StandbyPort() int {
	if c.standby == nil {
		return 0
	}
	return c.standby.port
}

// FailoverURL returns the URL of database db naming the primary and then
// the standby, as a client that must follow a failover names them:
// target_session_attrs=read-write makes it skip a server that does not
// take writes, so that it uses the primary while there is one and the
// standby once promoted. connect_timeout bounds an attempt on a host that
// does not answer at all, which on loopback a dead server never is (its
// port refuses at once), but a dead machine would be.
func (c *Cluster) FailoverURL(db string) string {
	if c.standby == nil {
		panic("pgtest: FailoverURL needs a cluster with a standby")
	}
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		User, Password, c.primary.port, c.standby.port, db)
}

// KillPrimary kills the primary as its machine dying would: the postmaster
// and every process it started (backends, WAL sender, checkpointer) get
// SIGKILL, and it returns once they are all dead. Killing the postmaster
// alone would not do: each child is the leader of a session of its own
// (PostgreSQL calls setsid), so no process group holds them all, and a
// backend outliving its postmaster goes on answering its client until it
// notices. The postmaster is stopped first, so that it starts no child
// while its children are found and killed.
func (c *Cluster) KillPrimary() error { return c.primary.kill() }

// PromoteStandby promotes the standby to primary and returns once it
// accepts writes. It keeps synchronous_standby_names empty, so that from
// then on its commits wait for no other server.
func (c *Cluster) PromoteStandby() error {
	if c.standby == nil {
		return errors.New("pgtest: no standby to promote")
	}
	if err := c.run("pg_ctl", "promote", "-D", c.standby.data, "-w", "-t", "30"); err != nil {
		return err
	}
	// pg_ctl returns once the standby has left recovery; a session
	// confirms that it takes writes, as a client will see it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/postgres?sslmode=disable", User, Password, c.standby.port)
	for {
		var recovering bool
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering)
			conn.Close(ctx)
		}
		if err == nil && !recovering {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: the promoted standby does not take writes (in recovery %v, %v): %s", recovering, err, tail(c.standby.log))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// kill SIGKILLs the server's postmaster and all its descendants, and waits
// until each is dead.
func (s *server) kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("pgtest: server not running")
	}
	pm := s.cmd.Process.Pid
	if err := syscall.Kill(pm, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pgtest: stop the postmaster: %w", err)
	}
	pids, err := descendants(pm)
	if err != nil {
		syscall.Kill(pm, syscall.SIGKILL)
		<-s.done
		s.cmd = nil
		return err
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	syscall.Kill(pm, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
	// The children, no longer the test's, are reaped by init; a zombie is
	// as dead as a client can tell, its sockets closed.
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range pids {
		for !dead(p) {
			if time.Now().After(deadline) {
				return fmt.Errorf("pgtest: process %d of the killed server still runs", p)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// descendants returns the pids of every living descendant of pid, read
// from /proc.
func descendants(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parent(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	for next := []int{pid}; len(next) > 0; {
		p := next[0]
		next = append(next[1:], children[p]...)
		out = append(out, children[p]...)
	}
	return out, nil
}

// parent returns the parent pid of process p, false if it is gone.
func parent(p int) (int, bool) {
	f := stat(p)
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

// dead reports whether process p has exited: gone, or a zombie.
func dead(p int) bool {
	f := stat(p)
	return len(f) == 0 || f[0] == "Z" || f[0] == "X"
}

// stat returns the fields of /proc/p/stat that follow the command name,
// "state ppid ...", or none if p is gone. The name, in parentheses, may
// hold any character, so the fields begin after the last ')'.
func stat(p int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "stat"))
	i := strings.LastIndexByte(string(b), ')')
	if err != nil || i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}
