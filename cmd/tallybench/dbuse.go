package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// dbUse is what a scenario's runs cost outside the Tally processes, summed
// over its rounds: the database's work, told by the database itself
// without pg_stat_statements, and the CPU of everything else on the
// machine.
type dbUse struct {
	wall time.Duration // the runs' length
	// txns counts the write transactions, by how far the database's next
	// transaction id moved: each transaction that locks a row takes an
	// id, and reads and this meter's queries take none.
	txns int64
	wal  int64 // bytes of WAL written
	// pgCPU is the CPU time of the PostgreSQL processes, primary and
	// standby, and benchCPU that of this process, the load generator.
	pgCPU, benchCPU time.Duration
	// busy and total are the machine's CPU time used and there to use,
	// all cores together.
	busy, total time.Duration
}

// dbMeter takes the snapshots that dbUse is the difference of.
type dbMeter struct {
	conn *pgx.Conn
	err  error // the first failure to measure, reported after the runs
}

type dbSnapshot struct {
	at              time.Time
	xid, lsn        int64
	pgCPU, benchCPU time.Duration
	busy, total     time.Duration
}

// measure fits alternate's measure: it adds what the run cost to the
// scenario's dbUse.
func (m *dbMeter) measure(sc *scenario) func() {
	before := m.snapshot()
	return func() {
		after := m.snapshot()
		u := &sc.db
		u.wall += after.at.Sub(before.at)
		u.txns += after.xid - before.xid
		u.wal += after.lsn - before.lsn
		u.pgCPU += after.pgCPU - before.pgCPU
		u.benchCPU += after.benchCPU - before.benchCPU
		u.busy += after.busy - before.busy
		u.total += after.total - before.total
	}
}

func (m *dbMeter) snapshot() dbSnapshot {
	s := dbSnapshot{at: time.Now(), pgCPU: postgresCPU()}
	self, _ := readStat(os.Getpid())
	s.benchCPU = self.own
	var err error
	if s.busy, s.total, err = machineCPU(); err != nil && m.err == nil {
		m.err = err
	}
	// pg_snapshot_xmax of the current snapshot is the next transaction id
	// to be given out, read without taking one.
	err = m.conn.QueryRow(context.Background(), `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
		(pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&s.xid, &s.lsn)
	if err != nil && m.err == nil {
		m.err = fmt.Errorf("reading the database's transaction id and WAL position: %w", err)
	}
	return s
}

// postgresCPU returns the CPU time of the PostgreSQL servers that this
// process started, as pgtest does, each as a child: each postmaster's
// own, that of the children it has reaped (the backends of connections
// that closed), and that of its children still running (the backends of
// open connections, the WAL sender and receiver, the standby's replay).
// It is zero where there is no /proc.
func postgresCPU() time.Duration {
	entries, _ := os.ReadDir("/proc")
	stats := map[int]procStat{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.comm == "postgres" {
			stats[pid] = st
		}
	}
	me := os.Getpid()
	var t time.Duration
	for _, st := range stats {
		switch {
		case st.ppid == me:
			t += st.own + st.reaped
		case stats[st.ppid].ppid == me:
			t += st.own
		}
	}
	return t
}

// machineCPU returns the CPU time that all cores have spent busy, and
// in all, from /proc/stat's first line. Busy is all but idle and iowait;
// steal, time the hypervisor gave to someone else, counts as busy, as it
// was not there to use.
func machineCPU() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal [guest guest_nice],
	// where guest time is already counted in user.
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("/proc/stat is not as expected")
	}
	var ticks int64
	for i, s := range f[1:9] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		total += time.Duration(n) * 10 * time.Millisecond
		if i != 3 && i != 4 {
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond, total, nil
}
